/**
 * The text of one record for an error row's `input` (what the failed task was given), read by
 * its byte range when the row is made. Error rows are rare, so the file is opened for each one
 * and ok rows never pay for it. Only as many bytes as the kept characters can take are read.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import type { RecordRef } from './record-index.js';
import type { RecordFile } from './source.js';

/**
 * The first `chars` UTF-16 units of the record at `ref` and whether it has more, or null when
 * the file cannot be read or is no longer the one the job was made from (its size or mtime).
 */
export function recordExcerpt(src: Pick<RecordFile, 'file' | 'size' | 'mtimeMs'>, ref: RecordRef, chars: number): { text: string; more: boolean } | null {
  // A UTF-8 byte sequence of n bytes never holds more than n UTF-16 units, nor fewer than n/3.
  const want = Math.min(ref.e - ref.s, 3 * chars + 3);
  if (!(want >= 0) || !(ref.s >= 0)) return null;
  let fd: number;
  try {
    fd = openSync(src.file, 'r');
  } catch {
    return null;
  }
  try {
    const st = fstatSync(fd);
    if (st.size !== src.size || st.mtimeMs !== src.mtimeMs || ref.e > st.size) return null;
    const buf = Buffer.allocUnsafe(want);
    let got = 0;
    while (got < want) {
      const n = readSync(fd, buf, got, want - got, ref.s + got);
      if (n === 0) break;
      got += n;
    }
    const text = buf.toString('utf8', 0, got);
    return { text, more: got < ref.e - ref.s || text.length > chars };
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}
