/**
 * The agent's bundles and slots: bundles wait in a queue until their threads are free, run on
 * the pool, and end. A bundle's state moves only through BUNDLE_MOVES. The slot counts are
 * kept here beside the queue and the running set, so they cannot drift from them.
 */
import type { HeldTask, JobInfo, TaskMsg } from '../../protocol/index.js';
import { newFlags } from '../flags.js';

/** Where a bundle stands. */
export type BundleState =
  /** Waiting for its slots. */
  | 'queued'
  /** Handed to the pool. */
  | 'running'
  /** Running, but its job was cancelled: nothing of it is reported or handed back. */
  | 'cancelled'
  /** The pool said how it ended. */
  | 'ended'
  /** Left the queue unstarted (aborted, or handed back by a drain). */
  | 'dropped';

export const BUNDLE_MOVES: Readonly<Record<BundleState, readonly BundleState[]>> = {
  queued: ['running', 'dropped'],
  running: ['cancelled', 'ended'],
  cancelled: ['ended'],
  ended: [],
  dropped: [],
};

/** A bundle as the agent holds it. */
export interface Bundle {
  /** Its number on this agent, for logs. */
  readonly n: number;
  readonly job: string;
  readonly info: JobInfo;
  /** Threads it runs on (at most the agent's slots). */
  readonly threads: number;
  tasks: TaskMsg[];
  /** Shared with the worker thread that runs it (flags.ts). */
  flags: Int32Array;
  state: BundleState;
}

export class IllegalBundleMoveError extends Error {
  readonly code = 'E_INTERNAL';
  constructor(b: Bundle, to: BundleState) {
    super(`illegal move of bundle ${b.n} (job ${b.job}, ${b.tasks.length} tasks): ${b.state} → ${to}`);
    this.name = 'IllegalBundleMoveError';
  }
}

function move(b: Bundle, to: BundleState): void {
  if (!BUNDLE_MOVES[b.state].includes(to)) throw new IllegalBundleMoveError(b, to);
  b.state = to;
}

export class BundleBook {
  private queue: Bundle[] = [];
  private readonly runningSet = new Set<Bundle>();
  /** Threads of the bundles in the pool (running, or held by a thread as its next; may exceed slots). */
  private busySlots = 0;
  /** Bundles of more than one thread in the pool. */
  private multiRunning = 0;
  private made = 0;

  /**
   * @param slots the agent's worker threads
   * @param depth bundles one pool thread holds at once (its running one and its next)
   */
  constructor(
    readonly slots: number,
    private readonly depth: number,
  ) {}

  /** Queues a bundle. */
  add(job: string, info: JobInfo, threads: number, tasks: TaskMsg[]): Bundle {
    const b: Bundle = { n: ++this.made, job, info, threads: Math.min(threads, this.slots), tasks, flags: newFlags(tasks.length), state: 'queued' };
    this.queue.push(b);
    return b;
  }

  /**
   * Moves queued bundles into the pool while slots are free and returns them. Single-thread
   * bundles go up to the pool's depth per slot (a thread holds its next bundle, see pool.ts);
   * a bundle of more threads waits for its slots, and nothing is added beside one.
   */
  start(): Bundle[] {
    const started: Bundle[] = [];
    while (this.queue.length > 0) {
      const b = this.queue[0]!;
      const pipelined = b.threads === 1 && this.multiRunning === 0;
      if (this.busySlots + b.threads > (pipelined ? this.slots * this.depth : this.slots)) break;
      if (b.threads > 1) this.multiRunning++;
      this.queue.shift();
      this.busySlots += b.threads;
      move(b, 'running');
      this.runningSet.add(b);
      started.push(b);
    }
    return started;
  }

  /** A bundle in the pool has ended. */
  ended(b: Bundle): void {
    move(b, 'ended');
    this.busySlots -= b.threads;
    if (b.threads > 1) this.multiRunning--;
    this.runningSet.delete(b);
  }

  /** Its job was cancelled while it ran. */
  cancel(b: Bundle): void {
    if (b.state === 'running') move(b, 'cancelled');
  }

  /**
   * Drops the queued bundles of `job` (only the tasks in `ids`, when given; a bundle left with
   * no task is dropped whole). Nothing of them is reported.
   */
  dropQueued(job: string, ids: ReadonlySet<string> | null): void {
    this.queue = this.queue.filter((b) => {
      if (b.job !== job) return true;
      if (ids) {
        b.tasks = b.tasks.filter((t) => !ids.has(t.id));
        if (b.tasks.length > 0) {
          b.flags = newFlags(b.tasks.length);
          return true;
        }
      }
      move(b, 'dropped');
      return false;
    });
  }

  /** Empties the queue and returns what it held. */
  takeQueue(): Bundle[] {
    const q = this.queue;
    this.queue = [];
    for (const b of q) move(b, 'dropped');
    return q;
  }

  get queued(): readonly Bundle[] {
    return this.queue;
  }

  get running(): ReadonlySet<Bundle> {
    return this.runningSet;
  }

  /** Bundles queued or in the pool. */
  get held(): number {
    return this.queue.length + this.runningSet.size;
  }

  /** Slots in use, at most the agent's slots. */
  get busy(): number {
    return Math.min(this.slots, this.busySlots);
  }

  get freeSlots(): number {
    return Math.max(0, this.slots - this.busySlots);
  }

  /** Asserts the book's invariants: states match where each bundle is, and the slot counts match the running set. */
  check(): void {
    let busy = 0;
    let multi = 0;
    for (const b of this.queue) if (b.state !== 'queued') throw new Error(`bundle ${b.n} is in the queue but ${b.state}`);
    for (const b of this.runningSet) {
      if (b.state !== 'running' && b.state !== 'cancelled') throw new Error(`bundle ${b.n} is in the pool but ${b.state}`);
      busy += b.threads;
      if (b.threads > 1) multi++;
    }
    if (busy !== this.busySlots || multi !== this.multiRunning) throw new Error(`slot counts drifted: ${this.busySlots} busy, ${this.multiRunning} multi; the pool holds ${busy}, ${multi}`);
  }

  /** Every task of a queued or running bundle. */
  heldTasks(): HeldTask[] {
    const out: HeldTask[] = [];
    for (const b of [...this.queue, ...this.runningSet]) for (const t of b.tasks) out.push([b.job, t.id, t.attempt]);
    return out;
  }
}
