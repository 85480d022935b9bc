/**
 * The result cache on disk: content-addressed files, each written whole to a temporary name and
 * renamed into place (write-file-atomic), so that on a shared filesystem several coordinators
 * may write at once and a reader sees a whole file or none:
 *
 *   DIR/v1/e/ab/<key>     an entry: the task's rows without their values (JSON, one object)
 *   DIR/v1/v/ab/<sha256>  a value, named by the hash of its bytes: stored once however many
 *                         tasks (of however many jobs) have it
 *   DIR/v1/runs/<file>    hits and misses of one job's run, for `shoal cache stats`
 *
 * Nothing is ever locked and nothing is fsynced: a file is checked when it is read (an entry
 * names its key and parses whole, a value hashes to its name), so a file torn by a crash or cut
 * short by a full disk is a miss (reported once), and the next run's write replaces it. A crash
 * leaves at most a temporary file (`<name>.<digits>`), which `shoal cache prune` removes.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import writeFileAtomic from 'write-file-atomic';

/** One row of a cached task, as an entry holds it. */
export interface CachedRow {
  /** The row's task id after the task's own: '' for the task's row, '/0' for a half's. */
  t: string;
  /** The original row's `agent`, `host`, `worker`, `start`, `end` and `attempt` (JSON text). */
  from: string;
  /** What the row held between `end` and `value` (a kind's fields, `index` and `of`): JSON text, starting with ',' or empty. */
  mid: string;
  /** The value's hash (its file's name). */
  v: string;
}

/** A cached task's rows, values read. */
export interface CacheHit {
  rows: Array<CachedRow & { value: string }>;
}

export type Lookup = { hit: CacheHit } | { miss: 'absent' | 'broken'; why?: string };

/** Where the cache's files are. */
export function cacheRoot(dir: string): string {
  return join(dir, 'v1');
}

export function sha256(text: string | Buffer): string {
  return createHash('sha256').update(text).digest('hex');
}

const HEX64 = /^[0-9a-f]{64}$/;

/**
 * Entries and values are read synchronously: a small file read that way costs the event loop a
 * fraction of fs/promises' road (an open, an fstat, a read and a close, each a promise through
 * the thread pool), which was most of a lookup (W1 fully cached: 250-320 ms, now 120-135). The
 * caller reads a bounded batch at a time and yields between batches (CachedJob.prefill).
 */
const readFile = async (path: string, enc: 'utf8'): Promise<string> => readFileSync(path, enc);

/** Values kept in memory once read or written (characters), so tasks that share one read it once. */
const VALUES_KEPT_CHARS = 32 << 20;

export class CacheStore {
  readonly root: string;
  private readonly made = new Set<string>();
  /** Values read or written in this process, newest last. */
  private readonly values = new Map<string, string>();
  private valueChars = 0;
  /** Values found broken here: rewritten by the next store of one. */
  private readonly badValues = new Set<string>();

  constructor(readonly dir: string) {
    this.root = cacheRoot(dir);
  }

  entryPath(key: string): string {
    return join(this.root, 'e', key.slice(0, 2), key.slice(2));
  }

  valuePath(hash: string): string {
    return join(this.root, 'v', hash.slice(0, 2), hash.slice(2));
  }

  /** The task of `key`: its rows, or a miss (absent, or broken: why). Never throws. */
  async lookup(key: string): Promise<Lookup> {
    let text: string;
    try {
      text = await readFile(this.entryPath(key), 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return { miss: 'absent' };
      return { miss: 'broken', why: `${this.entryPath(key)}: ${(err as Error).message}` };
    }
    const rows = parseEntry(text, key);
    if (rows === null) return { miss: 'broken', why: `${this.entryPath(key)}: not a whole entry (cut short or written by something else)` };
    const out: CacheHit['rows'] = [];
    for (const r of rows) {
      const value = await this.readValue(r.v);
      if (value === null) return { miss: 'broken', why: `${this.valuePath(r.v)}: missing or not the value its name says` };
      out.push({ ...r, value });
    }
    return { hit: { rows: out } };
  }

  private async readValue(hash: string): Promise<string | null> {
    const kept = this.values.get(hash);
    if (kept !== undefined) return kept;
    let text: string;
    try {
      text = await readFile(this.valuePath(hash), 'utf8');
    } catch {
      this.badValues.add(hash);
      return null;
    }
    if (sha256(text) !== hash) {
      this.badValues.add(hash);
      return null;
    }
    this.keep(hash, text);
    return text;
  }

  private keep(hash: string, text: string): void {
    if (text.length > VALUES_KEPT_CHARS / 64) return;
    this.values.set(hash, text);
    this.valueChars += text.length;
    while (this.valueChars > VALUES_KEPT_CHARS) {
      const [h, t] = this.values.entries().next().value!;
      this.values.delete(h);
      this.valueChars -= t.length;
    }
  }

  /** Stores a task's rows under `key` (values first: an entry never names a value not there). Throws the filesystem's error. */
  async store(key: string, rows: ReadonlyArray<Omit<CachedRow, 'v'> & { value: string }>): Promise<void> {
    const entry: CachedRow[] = [];
    for (const r of rows) {
      const v = sha256(r.value);
      if (this.badValues.has(v) || (!this.values.has(v) && !(await exists(this.valuePath(v))))) {
        await this.write(this.valuePath(v), r.value);
        this.badValues.delete(v);
        this.keep(v, r.value);
      }
      entry.push({ t: r.t, from: r.from, mid: r.mid, v });
    }
    await this.write(this.entryPath(key), JSON.stringify({ k: key, rows: entry }));
  }

  /** Writes a file whole under a temporary name and renames it into place. */
  private async write(path: string, text: string): Promise<void> {
    const dir = path.slice(0, path.lastIndexOf('/'));
    if (!this.made.has(dir)) {
      await mkdir(dir, { recursive: true });
      this.made.add(dir);
    }
    // No fsync: a file cut short by a crash fails its check when read, and is a miss.
    await writeFileAtomic(path, text, { fsync: false });
  }

  /** Records one job run's counts (for `shoal cache stats`). Throws the filesystem's error. */
  async recordRun(run: CacheRun): Promise<void> {
    const dir = join(this.root, 'runs');
    await mkdir(dir, { recursive: true });
    const name = `${String(run.at).padStart(15, '0')}-${run.job}-${process.pid}.json`;
    await writeFileAtomic(join(dir, name), JSON.stringify(run) + '\n', { fsync: false });
  }
}

/** One job run's use of the cache. */
export interface CacheRun {
  /** The cache's directory. */
  dir: string;
  job: string;
  kind: string;
  /** When the job ended (epoch ms). */
  at: number;
  hits: number;
  misses: number;
  /** Entries found broken (each a miss too). */
  broken: number;
  stored: number;
  /** Entries not stored: the cache could not be written, or writes were too far behind. */
  unstored: number;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** An entry's rows, or null when the text is not a whole entry of `key`. */
function parseEntry(text: string, key: string): CachedRow[] | null {
  let e: unknown;
  try {
    e = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof e !== 'object' || e === null) return null;
  const { k, rows } = e as { k?: unknown; rows?: unknown };
  if (k !== key || !Array.isArray(rows) || rows.length === 0) return null;
  for (const r of rows as unknown[]) {
    if (typeof r !== 'object' || r === null) return null;
    const { t, from, mid, v } = r as Record<string, unknown>;
    if (typeof t !== 'string' || typeof from !== 'string' || typeof mid !== 'string' || typeof v !== 'string' || !HEX64.test(v)) return null;
  }
  return rows as CachedRow[];
}
