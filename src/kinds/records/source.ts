/**
 * A file of records as a job's params name it: path, format and stamp, a few dozen bytes
 * whatever the file's size. The CLI makes it (`recordFile`), the coordinator indexes it, and
 * each worker thread reads it through one cached reader (`recordReaderFor`).
 */
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { InputError } from '../../errors.js';
import { AbsolutePath } from '../options.js';
import { RECORD_FORMATS, recordFormatOf, type RecordFormat } from './format.js';
import { RecordReader } from './reader.js';
import { stampOf } from './stamp.js';
import type { RecordRef } from './record-index.js';
import type { TaskContent } from '../types.js';

/** The params field naming a file of records. */
export const RecordFileSchema = Type.Object({
  /** Absolute. */
  file: AbsolutePath,
  format: Type.Union(RECORD_FORMATS.map((f) => Type.Literal(f))),
  /** The file's size and mtime when the job was made. */
  size: Type.Integer({ minimum: 0 }),
  mtimeMs: Type.Number(),
});
export type RecordFile = Static<typeof RecordFileSchema>;

/**
 * The params field for the file `path` given to `option` (made absolute), its format `given`
 * (the value of a --format option) or from its extension. Throws InputError for a missing file
 * and UsageError for an unknown format, naming the option and the file.
 */
export function recordFile(option: string, path: string, given?: string, formatOption = '--format'): RecordFile {
  const file = resolve(path);
  let st;
  try {
    st = statSync(file);
  } catch (err) {
    throw new InputError(`${option} ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
  if (!st.isFile()) throw new InputError(`${option} ${file}: not a file`);
  const format: RecordFormat = recordFormatOf(file, given, formatOption);
  return { file, format, ...stampOf(st) };
}

/** Readers this thread opened, most recently used last. */
const readers = new Map<string, Promise<RecordReader>>();
/** Files a thread keeps open at once. */
const KEEP_OPEN = 4;

/**
 * This thread's reader of `src` (opened on first use, kept open for the next tasks of the file;
 * the least recently used is closed past a few files). Throws InputError.
 */
export async function recordReaderFor(src: RecordFile): Promise<RecordReader> {
  const key = `${src.format}|${src.size}|${src.mtimeMs}|${src.file}`;
  let r = readers.get(key);
  if (r) readers.delete(key);
  else r = RecordReader.open(src.file, src.format, { stamp: { size: src.size, mtimeMs: src.mtimeMs } });
  readers.set(key, r);
  // A file that failed to open is tried again by the next task.
  r.catch(() => readers.get(key) === r && readers.delete(key));
  while (readers.size > KEEP_OPEN) {
    const [oldest, p] = readers.entries().next().value!;
    readers.delete(oldest);
    p.then((x) => x.close(), () => undefined);
  }
  return r;
}

/**
 * A record's cache content: its bytes, and for csv/tsv the header line too (it names the
 * record's fields). Its number and line do not count: a record moved in its file still hits.
 */
export function recordContent(src: RecordFile, ref: RecordRef): TaskContent {
  return { ranges: [[src.file, ref.s, ref.e]], ...(src.format === 'csv' || src.format === 'tsv' ? { firstLineOf: src.file } : {}) };
}
