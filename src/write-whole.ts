/**
 * A file written whole or not at all: the data goes to a temporary name beside it (`<path>.<pid
 * digits><random digits>`), is written until every byte is (a full disk is an error, never a
 * short file), synced when asked, and renamed into place. A reader sees the old file or the
 * whole new one; a crash leaves at most the temporary file. write-file-atomic, used before,
 * issues one write() and takes a short count as done, so on a disk that filled up mid-write it
 * renamed a cut file into place without an error.
 */
import { randomInt } from 'node:crypto';
import { open, rename, unlink, type FileHandle } from 'node:fs/promises';

export async function writeWhole(path: string, data: string | Uint8Array, o: { fsync: boolean }): Promise<void> {
  const tmp = `${path}.${process.pid}${randomInt(1e9)}`;
  let fh: FileHandle | null = null;
  try {
    fh = await open(tmp, 'wx');
    // FileHandle.writeFile writes on until all is written.
    await fh.writeFile(data);
    if (o.fsync) await fh.sync();
    await fh.close();
    fh = null;
    await rename(tmp, path);
  } catch (err) {
    await fh?.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}
