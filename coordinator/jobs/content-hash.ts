/**
 * What a job's input files hold: a sha256 of each file's bytes, read once as a stream. A job's
 * record keeps it beside the file's path, size and mtime; when the file at that path still has
 * that size and mtime, the stored hash stands for it and the file is not read again.
 *
 * sha256 because node's OpenSSL runs it on the CPU's SHA extensions where there are some:
 * ~1.5 GB/s on one quiet core here (blake2b512 ~0.8 GB/s), ~1 GB/s read from the page cache,
 * so a 1 GB input costs about a second, once. The hash is the file's sha256, as `sha256sum`
 * gives it. (Pieces hashed in parallel on libuv's pool were no faster on a busy 2-core machine.)
 */
import { createHash } from 'node:crypto';
import { open, stat } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { InputError } from '../../src/errors.js';

/** One input file as a job's record keeps it. */
export interface InputFacts {
  path: string;
  size: number;
  /** As stat gives it (records of an earlier shoal: rounded to the millisecond). */
  mtimeMs: number;
  /** sha256 of its bytes (hex); absent in records written before inputs were hashed. */
  sha256?: string;
}

/** Bytes read at a time: large reads keep the per-chunk overhead far below the hashing. */
const READ_CHUNK = 4 << 20;

function statError(path: string, err: unknown): InputError {
  const e = err as NodeJS.ErrnoException;
  return new InputError(`input ${path}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`);
}

/** The path, size and mtime of `path` (no hash). Throws InputError naming the file. */
export async function statFacts(path: string): Promise<InputFacts> {
  try {
    const st = await stat(path);
    return { path, size: st.size, mtimeMs: st.mtimeMs };
  } catch (err) {
    throw statError(path, err);
  }
}

/**
 * The facts of `path` with the sha256 of its bytes. A file that changes while it is read
 * (another size or mtime after than before) is refused: its hash would match no version of it.
 */
export async function hashFile(path: string): Promise<Required<InputFacts>> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    throw statError(path, err);
  }
  try {
    const before = await fh.stat();
    if (!before.isFile()) throw new InputError(`input ${path}: not a file`);
    const hash = createHash('sha256');
    await pipeline(fh.createReadStream({ highWaterMark: READ_CHUNK, autoClose: false, start: 0 }), hash);
    const after = await fh.stat();
    if (after.size !== before.size || after.mtimeMs !== before.mtimeMs) {
      throw new InputError(`input ${path} changed while it was being read (${before.size} → ${after.size} bytes): submit the job again once nothing writes to it`);
    }
    return { path, size: before.size, mtimeMs: before.mtimeMs, sha256: hash.digest('hex') };
  } catch (err) {
    if (err instanceof InputError) throw err;
    throw new InputError(`input ${path}: cannot read it: ${(err as Error).message}`);
  } finally {
    await fh.close();
  }
}

/** Whole files' hashes remembered elsewhere (the result cache's memos of inputs). */
export interface RememberedHashes {
  open(path: string): { sha256: string | undefined; keep(hex: string): void };
}

/**
 * The facts of each of `paths`, in order, each with its hash: taken from `known` (a record's
 * inputs) where it has the same path with the same size and mtime as now, else from
 * `remembered`, else read from the file (and given to `remembered`). Throws InputError naming
 * a missing or unreadable file.
 */
export async function inputFacts(paths: readonly string[], known: readonly InputFacts[] = [], remembered?: RememberedHashes): Promise<Array<Required<InputFacts>>> {
  const out: Array<Required<InputFacts>> = [];
  for (const path of paths) {
    const now = await statFacts(path);
    const k = known.find((x) => x.path === path && x.sha256 !== undefined && x.size === now.size && x.mtimeMs === now.mtimeMs);
    if (k) {
      out.push({ ...now, sha256: k.sha256! });
      continue;
    }
    const r = remembered?.open(path);
    if (r?.sha256 !== undefined) {
      out.push({ ...now, sha256: r.sha256 });
      continue;
    }
    const h = await hashFile(path);
    r?.keep(h.sha256);
    out.push(h);
  }
  return out;
}
