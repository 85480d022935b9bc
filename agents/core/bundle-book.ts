/**
 * The agent's bundles, slots and GPUs: bundles wait in a queue until their threads (and GPUs)
 * are free, run on the pool, and end. A bundle's state moves only through BUNDLE_MOVES. The
 * slot counts and the GPUs held are kept here beside the queue and the running set, so they
 * cannot drift from them: a bundle takes its GPUs as it moves to running and gives them back
 * as it moves to ended, whatever ended it.
 */
import type { HeldTask, JobInfo, TaskMsg } from '../../protocol/index.js';
import { IllegalMoveError } from '../../src/errors.js';
import { newFlags } from '../flags.js';
import { GpuBook } from './gpu-book.js';

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
  /** GPUs it needs while it runs (0: none). */
  readonly needsGpus: number;
  /** The GPUs it holds: as many as it needs while running (or cancelled), none otherwise. */
  gpus: readonly number[];
  tasks: TaskMsg[];
  /** Shared with the worker thread that runs it (flags.ts). */
  flags: Int32Array;
  state: BundleState;
}

function move(b: Bundle, to: BundleState): void {
  if (!BUNDLE_MOVES[b.state].includes(to)) throw new IllegalMoveError(`bundle ${b.n} (job ${b.job}, ${b.tasks.length} tasks)`, b.state, to);
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
  private readonly gpuBook: GpuBook;
  /** Queued bundles the last start() left waiting for memory (they would fit the slots). */
  heldForMemory = 0;

  /**
   * @param slots the agent's worker threads
   * @param depth bundles one pool thread holds at once (its running one and its next)
   * @param gpus the indices of the agent's GPUs
   */
  constructor(
    readonly slots: number,
    private readonly depth: number,
    gpus: readonly number[] = [],
  ) {
    this.gpuBook = new GpuBook(gpus);
  }

  /** Queues a bundle. */
  add(job: string, info: JobInfo, threads: number, tasks: TaskMsg[], gpus = 0): Bundle {
    const b: Bundle = { n: ++this.made, job, info, threads: Math.min(threads, this.slots), needsGpus: gpus, gpus: [], tasks, flags: newFlags(tasks.length), state: 'queued' };
    this.queue.push(b);
    return b;
  }

  /**
   * Moves queued bundles into the pool while slots are free and returns them. Single-thread
   * bundles go up to the pool's depth per slot (a thread holds its next bundle, see pool.ts);
   * a bundle of more threads waits for its slots, and nothing is added beside one. A bundle
   * needing GPUs starts only on a thread of its own (it must not hold GPUs while it waits
   * behind another bundle) and when that many are free; while they are not, the bundles
   * behind it may start; so may those behind one that `admit` holds back (memory: see
   * memory-book.ts).
   */
  start(admit: (b: Bundle) => boolean = () => true): Bundle[] {
    const started: Bundle[] = [];
    this.heldForMemory = 0;
    for (let i = 0; i < this.queue.length; ) {
      const b = this.queue[i]!;
      if (b.needsGpus > this.gpuBook.freeCount) {
        i++;
        continue;
      }
      const pipelined = b.threads === 1 && b.needsGpus === 0 && this.multiRunning === 0;
      if (this.busySlots + b.threads > (pipelined ? this.slots * this.depth : this.slots)) break;
      if (!admit(b)) {
        this.heldForMemory++;
        i++;
        continue;
      }
      if (b.threads > 1) this.multiRunning++;
      this.queue.splice(i, 1);
      this.busySlots += b.threads;
      if (b.needsGpus > 0) b.gpus = this.gpuBook.take(b.needsGpus)!;
      move(b, 'running');
      this.runningSet.add(b);
      started.push(b);
    }
    return started;
  }

  /** A bundle in the pool has ended (done, failed, aborted, or its thread died): its slots and GPUs are free. */
  ended(b: Bundle): void {
    move(b, 'ended');
    this.busySlots -= b.threads;
    if (b.threads > 1) this.multiRunning--;
    this.gpuBook.give(b.gpus);
    b.gpus = [];
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

  /** The agent's GPUs. */
  get gpus(): number {
    return this.gpuBook.total;
  }

  /** GPUs held by running bundles. */
  get busyGpus(): number {
    return this.gpuBook.total - this.gpuBook.freeCount;
  }

  /** GPUs free for new bundles: those no bundle holds, less those the queued bundles wait for. */
  get freeGpus(): number {
    let waiting = 0;
    for (const b of this.queue) waiting += b.needsGpus;
    return Math.max(0, this.gpuBook.freeCount - waiting);
  }

  /**
   * Asserts the book's invariants: states match where each bundle is, the slot counts match the
   * running set, each running bundle holds the GPUs it needs and no GPU is held twice.
   */
  check(): void {
    let busy = 0;
    let multi = 0;
    for (const b of this.queue) {
      if (b.state !== 'queued') throw new Error(`bundle ${b.n} is in the queue but ${b.state}`);
      if (b.gpus.length > 0) throw new Error(`bundle ${b.n} is queued but holds GPUs ${b.gpus.join(',')}`);
    }
    this.gpuBook.check([...this.runningSet].map((b) => b.gpus));
    for (const b of this.runningSet) {
      if (b.state !== 'running' && b.state !== 'cancelled') throw new Error(`bundle ${b.n} is in the pool but ${b.state}`);
      if (b.gpus.length !== b.needsGpus) throw new Error(`bundle ${b.n} runs with ${b.gpus.length} GPUs; it needs ${b.needsGpus}`);
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
