/**
 * Task inputs read from files by byte range: a job of any size holds its inputs' path in its
 * params and one record's range in each task, never the records themselves.
 *
 * Formats (`RecordFormat`), picked from the extension or given (`recordFormatOf`):
 *   txt    one string per line (without its newline or CR)
 *   jsonl  one JSON value per line
 *   csv    one object per row, keys from the header row, values strings (RFC 4180 quoting:
 *          a quoted field may hold commas, doubled quotes and newlines); tsv: the same, tabs
 *   smi    { smiles, name } per line (name null when absent); lines starting with # are comments
 * Blank lines are never records. Records are numbered from 0 in file order (csv/tsv: the data
 * rows after the header, as pandas numbers them). A UTF-8 byte order mark is skipped.
 *
 * The flow:
 *   CLI          `recordFile(option, path, format?)` → a `RecordFile` (path, format, size,
 *                mtime) for the job's params (`RecordFileSchema` checks it from the wire)
 *   coordinator  `indexRecords(file, format, { stamp })` streams the file once into a
 *                `RecordIndex` (a few bytes per record); `recordTasks(index, ...)` is the job's
 *                TaskList, one task per record, its ref a `RecordTaskRef` { s, e, line, i }
 *   worker       `recordReaderFor(recordFile)` → this thread's `RecordReader`; `read(ref)` is
 *                the record's value, or an InputError naming the file and line
 * A malformed record (bad JSON, a csv row with the wrong number of fields) is an error for that
 * record only. A file changed since the job was made is an error, never a wrong value.
 * csv/tsv headers are read by each reader from the file's first record (params stay small).
 */
export { RECORD_FORMATS, FORMAT_WORDS, recordFormatOf, type RecordFormat } from './format.js';
export { indexRecords, recordTasks, type RecordIndex, type RecordRef, type RecordTaskRef } from './record-index.js';
export { RecordReader, MAX_RECORD_BYTES, type SmilesRecord } from './reader.js';
export { RecordFileSchema, recordContent, recordFile, recordReaderFor, type RecordFile } from './source.js';
export { currentStamp, type FileStamp } from './stamp.js';
