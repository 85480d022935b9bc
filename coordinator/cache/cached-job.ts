/**
 * One job's use of the result cache: before the job is scheduled, every task not in its output
 * yet is looked up (its key from its input's bytes) and a hit's rows are written through the
 * sink like the coordinator's own rows; after, each ok task the sink commits is stored. A job
 * keyed as none stored before is not looked up: its keys are made as its tasks are stored. A split
 * task's halves are stored as halves, and once both are, as their whole; a whole that misses is
 * looked up as halves. Cache I/O never fails a job: a broken entry is a miss (logged once), a
 * cache that cannot be written stops being written to (logged once).
 */
import { setImmediate } from 'node:timers/promises';
import type { Logger } from '../../src/log.js';
import type { NewTask, TaskSource, JobOptions } from '../scheduler/index.js';
import type { KeyMaker } from './key.js';
import type { CacheRun, CacheStore, CachedRow, Lookup } from './store.js';
import { fileNow } from './digest-memo.js';
import { RangeHashNotReady } from './range-digest.js';
import { cutTasks, hitHead, hitRow, HitsGathered, type CutRow, type HitHead, type HitRows, type OwnRows } from './rows.js';

/** Lookups run this long (ms) at most before the event loop is let in. */
const SLICE_MS = 50;
/** Hits' row text handed to the sink at once (characters). */
const HIT_GROUP_CHARS = 4 << 20;
/**
 * Bytes stored and not yet written at most (a pack holds 8 MB at most); past it stores are left
 * out (counted and said), never queued without bound. Tens of thousands of small rows, or several
 * packs of large ones: reached only where the cache's filesystem is far slower than the job.
 */
const MAX_BACKLOG_BYTES = 64 << 20;

type StoredRow = CutRow['row'] & { t: string };

export interface CachedJobDeps {
  job: string;
  kind: string;
  store: CacheStore;
  keys: KeyMaker;
  tasks: TaskSource;
  split: JobOptions['split'];
  /** Store ok rows (false: `--no-cache-write`). */
  write: boolean;
  /** The job's input files (its fingerprint's): a task is stored only while each is what it was when the job was admitted. */
  inputs: readonly string[];
  /** Who writes a hit's rows (the coordinator's sender name) and its host. */
  agent: string;
  host: string;
  log: Logger;
}

export class CachedJob {
  hits = 0;
  misses = 0;
  broken = 0;
  stored = 0;
  unstored = 0;
  /** Ms of the coordinator's thread its stores took (keys made, rows cut and packed), counted by its caller. */
  storeMs = 0;
  /**
   * Whether the job's tasks were looked up: a job whose key never stored a task has nothing to
   * find, so its tasks are misses without a key, and each ok task's key is made as it is stored
   * (while the job runs, not before its first task).
   */
  lookedUp = true;
  /** Keys by task number (32 bytes each), for storing what commits; `known[i]`: 0 not made yet, 1 made, 2 never cached (or unreadable). */
  private readonly keyBytes: Buffer;
  private readonly known: Uint8Array;
  /** Halves committed while the other is not: the parent's id → its halves' rows. */
  private readonly halves = new Map<string, [StoredRow[] | null, StoredRow[] | null]>();
  private pending = 0;
  /** Stores not yet written, by the promise of the pack they are in. */
  private readonly inPack = new Map<Promise<void>, number>();
  private readonly idle: Array<() => void> = [];
  private writeFailed = false;
  private readonly head: HitHead;
  /** Whether jobs keyed as this one ever stored halves (else a miss is not looked up as halves). */
  private halvesStored = false;
  private halvesMarked = false;
  private refreshed = false;
  /** The job's key marked as stored (the first store starts it). */
  private jobMarked: Promise<void> | null = null;
  /** The inputs as they were when the job was admitted (fileNow). */
  private readonly inputsAt: Array<[string, string | null]>;
  /** An input that changed since (tasks are then no longer stored), once seen. */
  private inputChanged: string | null = null;
  /** Whether prefill's loop runs (a key that wants the range hasher still loading waits for it there). */
  private lookingUp = false;
  /** What one commit stores, held until the inputs are checked. */
  private batch: Array<[Buffer, StoredRow[]]> = [];
  /** The digests' saves, one after another. */
  private digestsSaved: Promise<void> = Promise.resolve();

  constructor(private readonly d: CachedJobDeps) {
    this.keyBytes = Buffer.alloc(32 * d.tasks.length);
    this.known = new Uint8Array(d.tasks.length);
    this.head = hitHead(d.job, d.kind, d.agent, d.host);
    this.inputsAt = d.inputs.map((p) => [p, fileNow(p)]);
  }

  /**
   * Looks up every task not `done` (the ids its output holds), giving the rows of hits to
   * `write` a batch at a time (it resolves once they are durable). A task whose input cannot be
   * read is a miss.
   */
  async prefill(done: Pick<ReadonlySet<string>, 'has' | 'size'>, write: (rows: OwnRows) => Promise<void>, hasher: Promise<void> | null = null): Promise<void> {
    const n = this.d.tasks.length;
    this.lookedUp = this.d.store.marked('jobs', this.d.keys.jobKey);
    if (this.lookedUp) {
      this.refresh();
      this.halvesStored = this.d.split !== undefined && this.d.store.marked('halves', this.d.keys.jobKey);
    } else if (done.size === 0) {
      // Nothing to find and nothing written yet (a new output): every task a miss, none visited.
      this.misses = n;
      return;
    }
    // Hits go to the sink in large groups, each written while the next ones are looked up: one
    // durable write (an fsync) per group, not per lookup batch.
    const writes: Promise<void>[] = [];
    let hits = new HitsGathered(this.d.job);
    const flush = (): void => {
      const w = write(hits.build());
      w.catch(() => undefined); // seen by the Promise.all below
      writes.push(w);
      hits = new HitsGathered(this.d.job);
    };
    let slice = performance.now();
    this.lookingUp = true;
    for (let i = 0; i < n; i++) {
      const t = this.d.tasks.refAt?.(i) ?? this.d.tasks.at(i);
      if (!done.has(t.id)) {
        if (this.lookedUp) {
          let found = hasher === null ? this.lookupTask(i, t) : this.lookupOrWait(i, t);
          if (found === null) {
            await hasher;
            found = this.lookupTask(i, t);
          }
          for (const r of found) hits.add(r);
        } else this.misses++;
        if (hits.chars >= HIT_GROUP_CHARS) flush();
      }
      // Keys and lookups are synchronous (key.ts, store.ts): let heartbeats, pulls and status in
      // between slices. The clock is read every 64 tasks.
      if ((i & 63) === 63 && performance.now() - slice >= SLICE_MS) {
        await setImmediate();
        slice = performance.now();
      }
    }
    this.lookingUp = false;
    if (hits.size > 0) flush();
    this.saveDigests();
    await Promise.all(writes);
  }

  /** lookupTask, or null where it wants the range hasher still loading (then the task is looked up again once it is). */
  private lookupOrWait(i: number, t: Pick<NewTask, 'id' | 'ref'>): HitRows[] | null {
    try {
      return this.lookupTask(i, t);
    } catch (err) {
      if (err instanceof RangeHashNotReady) return null;
      throw err;
    }
  }

  /** Task i looked up whole, then (a miss of a kind that splits) as halves. */
  private lookupTask(i: number, t: Pick<NewTask, 'id' | 'ref'>): HitRows[] {
    this.known[i] = this.keyInto(t, this.keyBytes, 32 * i) ? 1 : 2;
    if (this.known[i] === 2) return [];
    const whole = this.lookup(this.keyBytes, 32 * i);
    if (whole) {
      this.hits++;
      return [this.rowsOf(t.id, whole)];
    }
    const halves = this.halvesStored ? (this.d.split?.(this.d.tasks.at(i)) ?? null) : null;
    const out: HitRows[] = [];
    if (halves) {
      for (const h of halves) {
        const hk = this.keyOf(h);
        const hit = hk === null ? null : this.lookup(hk);
        if (hit) out.push(this.rowsOf(h.id, hit));
      }
    }
    if (out.length > 0) this.hits++;
    else this.misses++;
    return out;
  }

  private lookup(key: Buffer, at = 0): Array<CachedRow & { value: string }> | null {
    const r: Lookup = this.d.store.lookup(key, at);
    if ('hit' in r) return r.hit.rows;
    if (r.miss === 'broken') {
      this.broken++;
      this.reportBroken(r.why);
    }
    return null;
  }

  /**
   * Loads the packs written since the last load: for lookups, and for stores, whose values are
   * not written again where a pack loaded holds them (a job not looked up loads them at its
   * first store, while it runs).
   */
  private refresh(): void {
    if (this.refreshed) return;
    this.refreshed = true;
    for (const b of this.d.store.refresh()) this.reportBroken(b.why);
  }

  /** A broken entry or pack: said once per job. */
  private reportBroken(why: string | undefined): void {
    this.onceWarn('broken', { why }, 'a broken cache entry counts as a miss (the task runs, and its entry is written again); further ones are not logged');
  }

  private rowsOf(id: string, rows: Array<CachedRow & { value: string }>): HitRows {
    const now = Date.now();
    let text = '';
    for (const r of rows) text += hitRow(this.head, id, now, r);
    return { id, text, rows: rows.length };
  }

  /** A task's key (null: never cached, or its input cannot be read: logged once). */
  private keyOf(t: Pick<NewTask, 'id' | 'ref'>): Buffer | null {
    const out = Buffer.allocUnsafe(32);
    return this.keyInto(t, out, 0) ? out : null;
  }

  /** Writes a task's key at `at` of `out`; false as keyOf's null. */
  private keyInto(t: Pick<NewTask, 'id' | 'ref'>, out: Buffer, at: number): boolean {
    try {
      return this.d.keys.keyInto(t.ref, out, at);
    } catch (err) {
      if (err instanceof RangeHashNotReady && this.lookingUp) throw err; // lookups wait for it (stores come after it)
      this.onceWarn('key', { task: t.id, err: (err as Error).message }, 'a task\'s input could not be read for its cache key: it runs uncached');
      return false;
    }
  }

  private readonly warned = new Set<string>();
  private onceWarn(what: string, fields: Record<string, unknown>, msg: string): void {
    if (this.warned.has(what)) return;
    this.warned.add(what);
    this.d.log.warn({ job: this.d.job, cache: this.d.store.dir, ...fields }, msg);
  }

  /**
   * Writes the digests of large inputs the keys took (digest-memo.ts). A failure only costs a
   * later run a read, and a cache that cannot be written is said by its packs' write: debug only.
   */
  private saveDigests(): void {
    if (!this.d.write || this.writeFailed) return;
    this.digestsSaved = this.digestsSaved
      .then(() => this.d.keys.saveDigests())
      .catch((err: Error) => this.d.log.debug({ job: this.d.job, cache: this.d.store.dir, err: err.message }, 'cannot write the digests of the inputs to the cache: a later run reads them again'));
  }

  /** Rows the sink made durable (an agent's group): each ok task's rows are stored. */
  committed(status: string, ids: readonly string[], text: string): void {
    if (!this.d.write || this.writeFailed) return;
    if (this.inputChanged !== null) {
      for (let i = 0; i < ids.length; i++) if (status.charCodeAt(i) !== 101 /* e */) this.unstored++;
      return;
    }
    const tasks = cutTasks(text);
    for (let i = 0; i < ids.length; i++) {
      if (status.charCodeAt(i) === 101 /* e */) continue;
      const id = ids[i]!;
      const rows = tasks.get(id);
      if (!rows) continue;
      if (id.includes('/')) this.storeHalf(id, rows);
      else this.storeTask(id, rows);
    }
    const batch = this.batch;
    this.batch = [];
    // Checked after the keys are read: an input that is what it was when the job was admitted
    // was so when its tasks read it and when their keys did, so each key names the bytes its
    // value was made from. One that changed (the change time never goes back) stores nothing more.
    if (batch.length > 0 && this.inputsChanged()) {
      this.unstored += batch.length;
      this.onceWarn('input', { input: this.inputChanged }, `input ${this.inputChanged} changed while the job ran: the job's tasks are no longer stored in the cache (a key might not name the bytes a task read); their rows are written as ever`);
      return;
    }
    for (const [key, rows] of batch) this.write(key, rows);
  }

  /** Whether an input is not what it was when the job was admitted (said by inputChanged). */
  private inputsChanged(): boolean {
    for (const [path, was] of this.inputsAt) {
      if (fileNow(path) === was) continue;
      this.inputChanged = path;
      return true;
    }
    return false;
  }

  private storeTask(id: string, rows: StoredRow[]): void {
    const i = this.d.tasks.indexOf(id);
    if (i < 0) return;
    if (this.known[i] === 0) this.known[i] = this.keyInto(this.d.tasks.refAt?.(i) ?? this.d.tasks.at(i), this.keyBytes, 32 * i) ? 1 : 2;
    if (this.known[i] !== 1) return;
    this.batch.push([this.keyBytes.subarray(32 * i, 32 * i + 32), rows]);
  }

  /** A half (`p/k`): stored as itself, and its whole once both halves are here. */
  private storeHalf(id: string, rows: StoredRow[]): void {
    if (!this.halvesMarked) {
      this.halvesMarked = true;
      this.d.store.mark('halves', this.d.keys.jobKey).catch(() => undefined); // unmarked: later runs miss these halves, no more
    }
    const t = this.taskOf(id);
    const key = t ? this.keyOf(t) : null;
    if (key) this.batch.push([key, rows]);
    const cut = id.lastIndexOf('/');
    const parent = id.slice(0, cut);
    const k = id.slice(cut + 1) === '0' ? 0 : 1;
    const pair = this.halves.get(parent) ?? [null, null];
    pair[k] = rows;
    if (pair[0] === null || pair[1] === null) {
      this.halves.set(parent, pair);
      return;
    }
    this.halves.delete(parent);
    const whole = [...pair[0].map((r) => ({ ...r, t: '/0' + r.t })), ...pair[1].map((r) => ({ ...r, t: '/1' + r.t }))];
    if (parent.includes('/')) this.storeHalf(parent, whole);
    else this.storeTask(parent, whole);
  }

  /** The task of a half's id (`x/0/1`): its root split half by half. */
  private taskOf(id: string): NewTask | null {
    const parts = id.split('/');
    const i = this.d.tasks.indexOf(parts[0]!);
    if (i < 0 || !this.d.split) return null;
    let t: NewTask = this.d.tasks.at(i);
    for (const k of parts.slice(1)) {
      const h = this.d.split(t);
      if (!h) return null;
      t = h[k === '0' ? 0 : 1];
    }
    return t;
  }

  private write(key: Buffer, rows: StoredRow[]): void {
    if (this.writeFailed || this.d.store.backlogBytes >= MAX_BACKLOG_BYTES) {
      this.unstored++;
      if (!this.writeFailed) this.onceWarn('backlog', { backlogBytes: this.d.store.backlogBytes }, 'the cache is written slower than tasks end: some ok rows are not stored (a later run computes them again)');
      return;
    }
    this.refresh();
    // Marked before the pack is written: a pack seen before its job's mark costs misses only.
    this.jobMarked ??= this.d.store.mark('jobs', this.d.keys.jobKey).catch(() => undefined); // the pack's own write says a cache that cannot be written
    this.pending++;
    const pack = this.d.store.store(key, rows);
    const n = this.inPack.get(pack);
    if (n !== undefined) {
      this.inPack.set(pack, n + 1);
      return;
    }
    // One reaction per pack, not per store: a pack holds thousands.
    this.inPack.set(pack, 1);
    const settled = (written: boolean): void => {
      const k = this.inPack.get(pack)!;
      this.inPack.delete(pack);
      this.pending -= k;
      if (written) this.stored += k;
      else this.unstored += k;
      if (this.pending === 0) for (const f of this.idle.splice(0)) f();
    };
    pack.then(
      () => {
        settled(true);
        // The digests its keys took, with it: a coordinator stopped or killed before the job's
        // end keeps them for the next run's keys (a job of many packs runs for a while).
        this.saveDigests();
        // Its marks written again: none is older than the job's newest entry (prune.ts).
        for (const what of this.halvesMarked ? (['jobs', 'halves'] as const) : (['jobs'] as const)) this.d.store.mark(what, this.d.keys.jobKey).catch(() => undefined);
      },
      (err: Error) => {
        settled(false);
        // Stores already on their way fail too: said once.
        if (this.writeFailed) return;
        this.writeFailed = true;
        this.d.log.warn({ job: this.d.job, cache: this.d.store.dir, err: err.message }, 'cannot write to the cache: this job stores nothing more in it (free space, check its permissions, or run with --no-cache-write); the job goes on');
      },
    );
  }

  /** Waits for the stores on their way; returns the run's counts (and records them in the cache when it can be written). */
  async finish(): Promise<CacheRun> {
    await this.d.store.flush();
    if (this.pending > 0) await new Promise<void>((r) => this.idle.push(r));
    await this.jobMarked;
    this.saveDigests();
    await this.digestsSaved;
    this.d.keys.close();
    this.halves.clear();
    const run: CacheRun = { dir: this.d.store.dir, job: this.d.job, kind: this.d.kind, at: Date.now(), hits: this.hits, misses: this.misses, broken: this.broken, stored: this.stored, unstored: this.unstored };
    if (this.d.write && !this.writeFailed) await this.d.store.recordRun(run).catch(() => undefined);
    return run;
  }
}
