/** The sink: the single JSONL writer, its journal and row rendering. */
export { Sink, DEFAULT_SINK_OPTIONS, COORDINATOR_SENDER, type SinkOptions, type SinkHost, type OpenRequest, type WriteResult } from './sink.js';
export { JobWriter, StalledError, nodeOutputFs, type OutputFs, type OutputFile } from './writer.js';
export { checkTaskRows, type RowExpectation } from './check.js';
export {
  scanJournal,
  scanOutput,
  readRows,
  readRowBatches,
  formatProblems,
  problemPhrases,
  hasProblems,
  MAX_LINE_NUMBERS,
  type JournalScan,
  type LineProblem,
  type OutputProblems,
  type ScanOptions,
  type Segment,
  type SegmentVerdict,
} from './journal.js';
export { verifyOutput, resolveJob, type VerifyReport, type OutputCheckOptions, type JobSource } from './verify.js';
export { repairOutput, type RepairReport } from './repair.js';
export { summaryPathFor, jobFilePathFor, defaultOutPath } from './paths.js';
export { ResultSender } from './client.js';
export { TaskStatusSet, type TaskNumbers } from './task-set.js';
