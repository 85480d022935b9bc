/**
 * A file's size and modification time when a job was made. The coordinator's index and every
 * worker's reader compare the file with it, so that a file changed after submit gives a clear
 * error rather than the bytes of other records.
 */
import { statSync, type Stats } from 'node:fs';
import { InputError } from '../../errors.js';

export interface FileStamp {
  size: number;
  mtimeMs: number;
}

export function stampOf(st: Pick<Stats, 'size' | 'mtimeMs'>): FileStamp {
  return { size: st.size, mtimeMs: st.mtimeMs };
}

/** The stamp of `file` as it is now. Throws InputError naming the file. */
export function currentStamp(file: string): FileStamp {
  try {
    return stampOf(statSync(file));
  } catch (err) {
    throw new InputError(`${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
}

/** How the file changed ('it shrank from 10 to 4 bytes'), or null when it did not. */
export function stampChange(was: FileStamp, now: FileStamp): string | null {
  if (was.size === now.size && was.mtimeMs === now.mtimeMs) return null;
  return was.size === now.size ? 'it was modified' : now.size < was.size ? `it shrank from ${was.size} to ${now.size} bytes` : `it grew from ${was.size} to ${now.size} bytes`;
}

/** The error for a file that is not what the job was made from, or null when it is. */
export function stampError(file: string, was: FileStamp, now: FileStamp): InputError | null {
  const how = stampChange(was, now);
  if (how === null) return null;
  return new InputError(`${file} changed since the job was submitted (${how}); submit the job again (with another --job or --out) to run the new file`);
}
