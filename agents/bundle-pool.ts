/**
 * What the agent needs of the pool that runs its bundles, so that it can run on worker threads
 * (pool.ts, the default) or on its own main thread (inline-pool.ts, for simulated agents).
 */
import type { BundleEnd, BundleInput } from './worker-types.js';

export interface PoolOptions {
  /** Worker threads (slots). */
  workers: number;
  /** Replace a worker thread after it ran this many tasks (0 = never). */
  recycleAfter: number;
  /** Heap limit per worker thread in MB (0 = Node's default). */
  workerHeapMb: number;
  /** Handler modules (absolute paths) each worker loads. */
  handlers: string[];
  /**
   * MB of parsed inputs the agent keeps for its workers to share (0 = no sharing: each worker
   * parses and caches its own).
   */
  inputCacheMb: number;
}

/** A pool of slots that runs bundles; the agent's core decides how many it hands it at once. */
export interface BundlePool {
  /** Bundles one slot holds at once: 1, or 2 where a slot holds its next bundle while it runs one. */
  readonly depth: number;
  /** Threads replaced so far (recycled or died), for status and tests. */
  readonly replaced: number;
  /**
   * Runs one bundle; `input.flags` is shared with the agent's core (flags.ts). `signal` aborts
   * the whole bundle: the promise then resolves with `aborted` at once.
   */
  run(input: BundleInput, signal: AbortSignal): Promise<BundleEnd>;
  /** Stops every slot (running tasks are abandoned). Idempotent. */
  close(): Promise<void>;
  /**
   * Whether worker thread `threadId` is one of this pool's (the agent then measures the
   * interpreters it starts: interpreters.ts). Absent: the pool has no threads of its own.
   */
  ownsThread?(threadId: number): boolean;
}

/** Builds an agent's pool from its options (AgentOptions.pool). */
export type PoolFactory = (o: PoolOptions) => BundlePool;
