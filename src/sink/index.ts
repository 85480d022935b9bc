/** The sink: the single JSONL writer, its journal and row rendering. */
export { Sink, DEFAULT_SINK_OPTIONS, type SinkOptions } from './sink.js';
export { JobWriter } from './writer.js';
export { scanJournal, readRows, type JournalScan } from './journal.js';
export { okRow, errorRow, toJson, type RowHead } from './rows.js';
export { summaryPathFor, jobFilePathFor, defaultOutPath } from './paths.js';
export { ResultSender } from './client.js';
