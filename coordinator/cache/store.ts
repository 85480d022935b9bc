/**
 * The result cache on disk: entries and values packed many to a file (pack-format.ts), fit for
 * a shared filesystem several coordinators write at once:
 *
 *   DIR/v2/packs/<ms>-<pid>-<random>.pack   entries (a task's rows without their values) and
 *                                           values (named by their sha256: stored once however
 *                                           many tasks of however many jobs have them)
 *   DIR/v2/runs/<file>                      hits and misses of one job's run (`cache stats`)
 *   DIR/v2/digests/<sha256>.dg              the digests of an input file's large ranges, for
 *                                           keys without reading it again (digest-memo.ts)
 *   DIR/v2/jobs/<job key>                   jobs so keyed stored tasks: a job whose key is not
 *                                           marked is not looked up (its keys are made as
 *                                           its tasks are stored, while it runs)
 *   DIR/v2/halves/<job key>                 jobs so keyed stored halves of split tasks: only
 *                                           their misses are looked up as halves
 *
 * Stored tasks are gathered in memory and packed (pack-writer.ts: 4,096 entries, 8 MB, 5 s after
 * the first, or the job's end). A pack is written whole under a temporary name and renamed into
 * place, then never changed: a reader sees a whole pack or none, and writers never share a file,
 * so nothing is ever locked. Nothing is fsynced: a pack is checked when read (its index against
 * a checksum, its data block by block against theirs), so one torn by a crash or cut short by a
 * full disk is a miss for what it lacks (reported once) and the next run stores those tasks
 * again in a new pack, which wins (the copy stored last does). A crash leaves at most a
 * temporary file (`<name>.pack.<digits>`) and loses the stores not yet packed; `shoal cache
 * prune` removes old temporary files and merges packs (prune.ts). Lookups load the packs'
 * indexes once per job admitted (pack-set.ts). The layout before packs (DIR/v1) is not read.
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeWhole } from '../../src/write-whole.js';
import type { CachedRow } from './pack-format.js';
import { PackSet } from './pack-set.js';
import { PACK_LIMITS, PackWriter, type PackLimits, type RowToStore } from './pack-writer.js';

export type { CachedRow } from './pack-format.js';
export type { RowToStore } from './pack-writer.js';

/** A cached task's rows, values read. */
export interface CacheHit {
  rows: Array<CachedRow & { value: string }>;
}

export type Lookup = { hit: CacheHit } | { miss: 'absent' | 'broken'; why?: string };

/** Where the cache's files are. */
export function cacheRoot(dir: string): string {
  return join(dir, 'v2');
}

/** Where the packs are. */
export function packsDir(dir: string): string {
  return join(cacheRoot(dir), 'packs');
}

/** Values kept in memory once read (characters), so tasks that share one read and check it once. */
const VALUES_KEPT_CHARS = 32 << 20;

export class CacheStore {
  readonly root: string;
  readonly packs: PackSet;
  private readonly writer: PackWriter;
  /** Values read in this process, newest last. */
  private readonly values = new Map<string, string>();
  private valueChars = 0;
  /** Values found broken here: written again by the next store of one, never borrowed. */
  private readonly badValues = new Set<string>();

  constructor(
    readonly dir: string,
    limits: PackLimits = PACK_LIMITS,
  ) {
    this.root = cacheRoot(dir);
    this.packs = new PackSet(packsDir(dir));
    this.writer = new PackWriter(this.packs, limits, this.badValues);
  }

  /**
   * Loads the packs written since the last refresh (by anyone); returns those that are not
   * whole (each a miss for all it holds). A directory that cannot be listed is one of them.
   */
  refresh(): Array<{ path: string; why: string }> {
    try {
      return this.packs.refresh();
    } catch (err) {
      return [{ path: this.packs.dir, why: (err as Error).message }];
    }
  }

  /** The task of `key` (its 32 bytes at `from`, or hex) in the packs loaded: its rows, or a miss (absent, or broken: why). Never throws. */
  lookup(key: Buffer | string, from = 0): Lookup {
    const k = typeof key === 'string' ? Buffer.from(key, 'hex') : key;
    const at = this.packs.entry(k, from);
    if (!at) return { miss: 'absent' };
    const path = this.packs.pack(at.pack)!.path;
    try {
      const rows = this.packs.entryRows(at.pack, at.rec);
      if (rows === 'gone') return { miss: 'absent' };
      if (typeof rows === 'string') return { miss: 'broken', why: `${path}: the entry of ${k.toString('hex', from, from + 32)} is ${rows === 'short' ? 'cut short' : 'garbled'}` };
      const out: CacheHit['rows'] = [];
      for (const r of rows) {
        const value = this.readValue(r.v, at.pack, r.n ?? -1);
        if (typeof value !== 'string') return value;
        out.push({ t: r.t, from: r.from, mid: r.mid, v: r.v, value });
      }
      return { hit: { rows: out } };
    } catch (err) {
      return { miss: 'broken', why: `${path}: ${(err as Error).message}` };
    }
  }

  /**
   * Value `v`: record `n` of the entry's pack `p` where the entry says it is there (its index is
   * checksummed), else wherever the values' table finds it. Its bytes are checked with their
   * block's hash (pack-format.ts), not hashed again here.
   */
  private readValue(v: string, p: number, n: number): string | Exclude<Lookup, { hit: CacheHit }> {
    const kept = this.values.get(v);
    if (kept !== undefined) return kept;
    let at: { pack: number; rec: number } | null = { pack: p, rec: n };
    if (n < 0) {
      const hash = Buffer.from(v, 'hex');
      at = hash.length === 32 ? this.packs.value(hash) : null;
    }
    const b = at ? this.packs.valueText(at.pack, at.rec) : undefined;
    if (b === undefined) return { miss: 'broken', why: `value ${v}: in no pack (a pack that held it is not whole, or was pruned)` };
    if (b === 'gone') return { miss: 'absent' };
    if (typeof b === 'string') {
      this.badValues.add(v);
      return { miss: 'broken', why: `${this.packs.pack(at!.pack)!.path}: value ${v} is ${b === 'short' ? 'cut short' : 'garbled'}` };
    }
    this.keep(v, b.text);
    return b.text;
  }

  private keep(v: string, text: string): void {
    if (text.length > VALUES_KEPT_CHARS / 64) return;
    this.values.set(v, text);
    this.valueChars += text.length;
    while (this.valueChars > VALUES_KEPT_CHARS) {
      const [h, t] = this.values.entries().next().value!;
      this.values.delete(h);
      this.valueChars -= t.length;
    }
  }

  /**
   * Stores a task's rows under `key` (32 bytes); resolves once its pack is written, rejects with
   * the filesystem's error. Stores into one pack share one promise.
   */
  store(key: Buffer, rows: readonly RowToStore[]): Promise<void> {
    return this.writer.put(key, rows);
  }

  /** Bytes stored and not yet written. */
  get backlogBytes(): number {
    return this.writer.backlogBytes;
  }

  /** Writes the stores gathered and waits for every pack on its way. */
  flush(): Promise<void> {
    return this.writer.flush();
  }

  /**
   * Whether tasks of jobs keyed `jobKey` (KeyMaker.jobKey) were ever stored (`jobs`), or stored as
   * halves of split tasks (`halves`). A job never stored has nothing to find: its tasks are not
   * looked up. A job stored as halves has a task whose whole misses looked up as its halves (their
   * keys read and hash its input a second time). A mark is written before a job's first pack and
   * again after each of its packs, so it is never older than the job's newest entry, and `cache
   * prune --older-than` removes the marks older than the entries it keeps. One missing (written by
   * an earlier version, lost to a crash before a pack it precedes, or pruned) costs misses, never
   * a wrong row; the next store marks it.
   */
  marked(what: 'jobs' | 'halves', jobKey: string): boolean {
    return existsSync(join(this.root, what, jobKey));
  }

  /** Marks jobs keyed `jobKey` as stored (`jobs`) or stored as halves (again: its time now). Throws the filesystem's error. */
  async mark(what: 'jobs' | 'halves', jobKey: string): Promise<void> {
    const dir = join(this.root, what);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, jobKey), '');
  }

  /** Records one job run's counts (for `shoal cache stats`). Throws the filesystem's error. */
  async recordRun(run: CacheRun): Promise<void> {
    const dir = join(this.root, 'runs');
    await mkdir(dir, { recursive: true });
    const name = `${String(run.at).padStart(15, '0')}-${run.job}-${process.pid}.json`;
    await writeWhole(join(dir, name), JSON.stringify(run) + '\n', { fsync: false });
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
