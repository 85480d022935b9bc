/**
 * The result cache (`--cache DIR`): tasks keyed by what makes their value (key.ts; the digests
 * of large inputs remembered across runs, digest-memo.ts), their rows
 * and values packed many to a file (store.ts: pack-format.ts the bytes, pack-set.ts the reading,
 * pack-writer.ts the gathering into packs), looked up before a job is scheduled and stored as
 * the sink commits them (cached-job.ts); `cache stats` and `cache prune` (manage.ts, prune.ts).
 */
import type { CommitGroup, JobCache } from '../../protocol/index.js';
import type { Kind } from '../../src/kinds/index.js';
import type { Logger } from '../../src/log.js';
import type { JobOptions, TaskSource } from '../scheduler/index.js';
import { CachedJob } from './cached-job.js';
import type { OwnRows } from './rows.js';
import { DigestMemo, type DigestMemoOptions } from './digest-memo.js';
import { KeyMaker } from './key.js';
import { loadRangeHash } from './range-digest.js';
import { CacheStore, type CacheRun } from './store.js';

export { CacheStore, cacheRoot, packsDir, type CacheRun } from './store.js';
export { decodePack } from './pack-format.js';
export { KeyMaker, stableJson, KEY_SCHEME } from './key.js';
export { cutRow, hitRow, hitHead } from './rows.js';
export type { HitRows, OwnRows } from './rows.js';
export { cacheStats, type CacheStats } from './manage.js';
export { WholeFileDigests } from './digest-memo.js';
export { pruneCache, type PruneReport } from './prune.js';

/** A job about to be scheduled, as the cache needs it. */
export interface CacheAdmit {
  job: string;
  kindName: string;
  kind: Kind<unknown> | null;
  params: unknown;
  cache: JobCache;
  tasks: TaskSource;
  split: JobOptions['split'];
  fileHash(path: string): string;
  /** The job's input files (its fingerprint's). */
  inputs: readonly string[];
}

/** The coordinator's jobs that use a cache, by name. */
export class ResultCache {
  private readonly stores = new Map<string, CacheStore>();
  private readonly jobs = new Map<string, CachedJob>();
  private readonly ended = new Map<string, { hits: number; misses: number }>();

  constructor(
    private readonly log: Logger,
    private readonly who: { agent: string; host: string },
    /** How the digests of inputs are remembered (tests move the clock). */
    private readonly memo: DigestMemoOptions = {},
    /** Loads the hasher of input ranges (tests give one that fails). */
    private readonly loadHash: () => Promise<void> = loadRangeHash,
  ) {}

  /**
   * Looks up the job's tasks not yet `done` and writes the hits with `write`; from now on its
   * committed ok rows are stored. Does nothing for kinds that are never cached (said once).
   */
  async admit(a: CacheAdmit, done: Pick<ReadonlySet<string>, 'has' | 'size'>, write: (rows: OwnRows) => Promise<void>): Promise<void> {
    this.jobs.delete(a.job);
    this.ended.delete(a.job);
    const digests = new DigestMemo(a.cache.dir, this.memo);
    const keys = a.kind ? KeyMaker.of({ kindName: a.kindName, kind: a.kind, params: a.params, ...(a.cache.key !== undefined ? { cacheKey: a.cache.key } : {}), fileHash: a.fileHash, digests }) : null;
    if (keys === null) {
      this.log.info({ job: a.job, kind: a.kindName }, `--cache: tasks of kind ${a.kindName} are not cached; the job runs uncached`);
      return;
    }
    const t0 = performance.now();
    // A job that reads inputs may key runs of their bytes by digest (range-digest.ts): the hasher
    // is compiled (once per process) while its lookups go on, which wait for it only where a run
    // is not in the memos; the job is scheduled, and stores, once it is.
    let loadFailed: Error | null = null;
    const hasher = a.inputs.length > 0 ? this.loadHash().catch((err: Error) => void (loadFailed = err)) : null;
    let store = this.stores.get(a.cache.dir);
    if (!store) this.stores.set(a.cache.dir, (store = new CacheStore(a.cache.dir)));
    const cj = new CachedJob({ job: a.job, kind: a.kindName, store, keys, tasks: a.tasks, split: a.split, inputs: a.inputs, write: a.cache.readOnly !== true, agent: this.who.agent, host: this.who.host, log: this.log });
    this.jobs.set(a.job, cj);
    try {
      await cj.prefill(done, write, hasher);
    } catch (err) {
      if (loadFailed === null) throw err; // the hits' write failed: the caller says so
    }
    await hasher;
    if (loadFailed !== null) {
      // Only a broken install: the hits written stay; nothing more is looked up or stored.
      this.jobs.delete(a.job);
      this.log.warn({ job: a.job, err: (loadFailed as Error).message }, '--cache: the hasher of input ranges cannot be loaded; the job runs uncached');
      return;
    }
    this.log.info({ job: a.job, cache: a.cache.dir, hits: cj.hits, misses: cj.misses, ms: +(performance.now() - t0).toFixed(1), ...(cj.lookedUp ? {} : { lookedUp: false, why: 'the cache holds no task of this job\'s key (kind, version, params): its keys are made as its tasks are stored' }), ...(digests.served ? { digestsReused: digests.served } : {}), ...(cj.broken ? { broken: cj.broken } : {}) }, 'cache looked up');
  }

  /** Rows the sink made durable: the ok tasks of agents' groups are stored. */
  committed(groups: readonly CommitGroup[], texts: readonly string[], coordinator: string): void {
    if (this.jobs.size === 0) return;
    for (let i = 0; i < groups.length; i++) {
      const g = groups[i]!;
      if (g.from === coordinator) continue;
      const j = this.jobs.get(g.job);
      if (!j) continue;
      const t0 = performance.now();
      j.committed(g.status, g.ids, texts[i]!);
      j.storeMs += performance.now() - t0;
    }
  }

  /** Hits and misses of a job (while it runs and after it ended), or undefined when it uses no cache. */
  counts(job: string): { hits: number; misses: number } | undefined {
    const j = this.jobs.get(job) ?? this.ended.get(job);
    return j ? { hits: j.hits, misses: j.misses } : undefined;
  }

  /** Writes what the caches gathered and not packed yet (the coordinator stops). */
  async close(): Promise<void> {
    await Promise.allSettled([...this.stores.values()].map((s) => s.flush()));
  }

  /** The job has ended: its stores are waited for and its counts recorded. */
  async finish(job: string): Promise<CacheRun | undefined> {
    const j = this.jobs.get(job);
    if (!j) return undefined;
    this.jobs.delete(job);
    this.ended.set(job, j);
    const run = await j.finish();
    this.log.info({ job, hits: run.hits, misses: run.misses, stored: run.stored, storeMs: +j.storeMs.toFixed(1), ...(run.broken ? { broken: run.broken } : {}), ...(run.unstored ? { unstored: run.unstored } : {}) }, 'cache use');
    return run;
  }
}
