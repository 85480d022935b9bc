/**
 * The agent's local worker-thread pool (piscina). One `run()` per bundle, never per task.
 *
 * It reports how a bundle ended: completed (results and failures), aborted (cancel, drain
 * deadline), or its thread died (crash, heap limit) with the index of the task that was
 * running, so only that task is charged an attempt.
 */
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { MessageChannel } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { getKind } from '../src/kinds/index.js';
import { InputStore } from './input-store.js';
import type { BundleInput, BundleOutput } from './worker-types.js';

export interface PoolOptions {
  /** Worker threads. */
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

export type BundleEnd =
  | { kind: 'done'; out: BundleOutput }
  | { kind: 'aborted' }
  /** The thread was replaced under it (recycling): run the tasks again, no attempt charged. */
  | { kind: 'requeue' }
  | { kind: 'died'; error: { code: string; message: string }; runningIndex: number };

/**
 * Young-generation size of each worker thread's heap. V8's default lets every thread's young
 * generation grow to tens of MB under the allocation rate of parsing, which is most of what a
 * worker costs; at 8 MB, 8 workers on the 1 GB bench SDFs peak 20-25% lower with no measurable
 * slow-down (BENCHMARKS.md, memory).
 */
const WORKER_YOUNG_GENERATION_MB = 8;

const WORKER_FILE = join(dirname(fileURLToPath(import.meta.url)), 'worker.js');

export class WorkerPool {
  private readonly piscina: Piscina<BundleInput, BundleOutput>;
  private recycling = new Set<number>();
  private closed = false;
  /** Threads replaced so far (recycled or died), for logs and tests. */
  replaced = 0;
  /** Parsed inputs shared by the workers; null when sharing is off. */
  readonly inputs: InputStore | null;

  constructor(private readonly opts: PoolOptions) {
    this.piscina = new Piscina<BundleInput, BundleOutput>({
      filename: WORKER_FILE,
      minThreads: opts.workers,
      maxThreads: opts.workers,
      idleTimeout: 60_000,
      concurrentTasksPerWorker: 1,
      maxQueue: Math.max(4, opts.workers * 4),
      atomics: 'async',
      workerData: { handlers: opts.handlers },
      resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB, ...(opts.workerHeapMb > 0 ? { maxOldGenerationSizeMb: opts.workerHeapMb } : {}) },
    });
    // A dying thread emits 'error' on the pool as well as rejecting its task; the task path handles it.
    this.piscina.on('error', () => undefined);
    this.inputs = opts.inputCacheMb > 0 ? new InputStore(opts.inputCacheMb * 2 ** 20) : null;
  }

  get workers(): number {
    return this.opts.workers;
  }

  /** Runs one bundle. `flags` is the bundle's shared array (see worker.ts); `signal` hard-aborts it. */
  async run(input: BundleInput, signal: AbortSignal): Promise<BundleEnd> {
    const n = input.tasks.length;
    Atomics.store(input.flags, n, -1);
    // Kinds that share parsed inputs get a line to the store for the bundle's lifetime.
    const store = getKind(input.kind)?.sharesInputs ? this.inputs : null;
    const line = store ? new MessageChannel() : null;
    if (store && line) {
      store.attach(line.port1);
      input = { ...input, inputs: line.port2 };
    }
    try {
      const out = await this.piscina.run(input, line ? { signal, transferList: [line.port2] } : { signal });
      if (this.opts.recycleAfter > 0 && out.tasksRun >= this.opts.recycleAfter) this.recycle(out.threadId);
      return { kind: 'done', out };
    } catch (err) {
      if (signal.aborted || Atomics.load(input.flags, n + 1) !== 0) return { kind: 'aborted' };
      const e = err as Error & { code?: string };
      if (this.recycling.size > 0 && /terminat/i.test(e.message)) return { kind: 'requeue' };
      this.replaced++;
      const heap = e.code === 'ERR_WORKER_OUT_OF_MEMORY' || /memory limit|out of memory/i.test(e.message);
      return {
        kind: 'died',
        error: heap
          ? { code: 'E_WORKER', message: `worker thread exceeded its heap limit (${this.opts.workerHeapMb || 'default'} MB): ${e.message}` }
          : { code: 'E_WORKER', message: `worker thread died: ${e.message}` },
        runningIndex: Atomics.load(input.flags, n),
      };
    } finally {
      if (store && line) {
        store.detach(line.port1, true);
        line.port1.close();
      }
    }
  }

  /** Replaces a worker thread that has run its quota of tasks. */
  private recycle(threadId: number): void {
    if (this.recycling.has(threadId)) return;
    const w = this.piscina.threads.find((t) => t.threadId === threadId);
    if (!w) return;
    this.recycling.add(threadId);
    this.replaced++;
    void w.terminate().finally(() => this.recycling.delete(threadId));
  }

  /** Stops every thread (running tasks are abandoned). Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.piscina.destroy();
  }
}
