/**
 * The agent's local worker-thread pool (piscina). One `run()` per bundle, never per task.
 *
 * It reports how a bundle ended: completed (results and failures), aborted (cancel, drain
 * deadline), or its thread died (crash, heap limit) with the index of the task that was
 * running, so only that task is charged an attempt.
 *
 * Each thread holds up to PIPELINE bundles: the one it runs and the next, which it starts
 * the moment the first ends (worker.ts runs them one after the other) instead of waiting
 * for the main thread to answer the first one's result with a new bundle (0.3-3 ms per bundle
 * when the main thread is busy; about 1 point of W2's utilization). Aborts therefore do not go
 * through piscina (which would kill a thread along with the bundle queued on it): the pool
 * kills the thread that runs an aborted bundle itself, and a bundle that never began on a
 * thread is handed back whole.
 */
import { MessageChannel } from 'node:worker_threads';
import { queueOptionsSymbol, type Piscina } from 'piscina';
import { getKind } from '../src/kinds/index.js';
import { InputStore } from './input-store.js';
import { abortBundle, bundleAborted, NONE_BEGUN, runningIndex, setNoneBegun } from './flags.js';
import { toWorkerInput, type BundleEnd, type BundleInput, type BundleOutput, type WorkerInput } from './worker-types.js';
import type { BundlePool, PoolOptions } from './bundle-pool.js';
import { BundleTimes, gpuKey } from './thread-choice.js';
import { startThreads, stopThreads, type PoolThreads } from './pool-threads.js';
import { takeEarlyThreads } from './early/index.js';

export type { BundleEnd, PoolOptions };

export class WorkerPool implements BundlePool {
  private readonly threads: PoolThreads;
  private readonly piscina: Piscina<WorkerInput, BundleOutput>;
  private recycling = new Set<number>();
  private closed = false;
  /** How long each job's bundles run: only short ones have another bundle wait behind them. */
  private readonly bundleTimes = new BundleTimes();
  /** Threads replaced so far (recycled or died), for logs and tests. */
  replaced = 0;
  /** Parsed inputs shared by the workers; null when sharing is off. */
  readonly inputs: InputStore | null;
  /** Bundles one thread holds at once (pool-threads.ts, PIPELINE). */
  readonly depth: number;
  /** Whether its threads are the ones started before the agent was built (early/). */
  readonly early: boolean;

  constructor(private readonly opts: PoolOptions) {
    const settings = { workers: opts.workers, recycleAfter: opts.recycleAfter, workerHeapMb: opts.workerHeapMb, handlers: opts.handlers };
    const early = takeEarlyThreads(settings);
    this.early = early !== null;
    this.threads = early ?? startThreads(settings);
    this.piscina = this.threads.piscina;
    this.depth = this.threads.depth;
    this.inputs = opts.inputCacheMb > 0 ? new InputStore(opts.inputCacheMb * 2 ** 20) : null;
  }

  get workers(): number {
    return this.opts.workers;
  }

  /**
   * Runs one bundle. `flags` is the bundle's shared array (see flags.ts); `signal` hard-aborts
   * it (the thread running it is killed; a bundle not begun yet is skipped by its thread).
   */
  async run(input: BundleInput, signal: AbortSignal): Promise<BundleEnd> {
    if (signal.aborted) return { kind: 'aborted' };
    setNoneBegun(input.flags);
    const thread = new Int32Array(new SharedArrayBuffer(4));
    input = { ...input, thread };
    // Kinds that share parsed inputs get a line to the store for the bundle's lifetime.
    const store = getKind(input.kind)?.sharesInputs ? this.inputs : null;
    const line = store ? new MessageChannel() : null;
    if (store && line) {
      store.attach(line.port1);
      input = { ...input, inputs: line.port2 };
    }
    let onAbort = (): void => undefined;
    const aborted = new Promise<BundleEnd>((resolve) => {
      onAbort = () => {
        abortBundle(input.flags);
        this.kill(thread);
        resolve({ kind: 'aborted' });
      };
    });
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      return await Promise.race([this.runOn(input, thread), aborted]);
    } finally {
      signal.removeEventListener('abort', onAbort);
      if (store && line) {
        store.detach(line.port1, true);
        line.port1.close();
      }
    }
  }

  private async runOn(input: BundleInput, thread: Int32Array): Promise<BundleEnd> {
    const n = input.tasks.length;
    try {
      const gpus = gpuKey(input.gpus);
      const task = { ...toWorkerInput(input), [queueOptionsSymbol]: { gpus, short: this.bundleTimes.short(input.job) } };
      const out = await this.piscina.run(task, input.inputs ? { transferList: [input.inputs] } : {});
      this.bundleTimes.ran(input.job, out.group.ms);
      if (this.opts.recycleAfter > 0 && out.tasksRun >= this.opts.recycleAfter) this.recycle(out.threadId);
      return { kind: 'done', out };
    } catch (err) {
      if (bundleAborted(input.flags)) return { kind: 'aborted' };
      // The thread died (or was killed) while this bundle was queued on it, or after it ended but
      // before its results came out: none of its tasks is to blame, and none is charged an attempt.
      const at = runningIndex(input.flags);
      if ((at === NONE_BEGUN && Atomics.load(thread, 0) === 0) || at === n) return { kind: 'requeue' };
      const e = err as Error & { code?: string };
      if (this.recycling.size > 0 && /terminat/i.test(e.message)) return { kind: 'requeue' };
      this.replaced++;
      const heap = e.code === 'ERR_WORKER_OUT_OF_MEMORY' || /memory limit|out of memory/i.test(e.message);
      return {
        kind: 'died',
        error: heap
          ? { code: 'E_WORKER', message: `worker thread exceeded its heap limit (${this.opts.workerHeapMb || 'default'} MB): ${e.message}` }
          : { code: 'E_WORKER', message: `worker thread died: ${e.message}` },
        runningIndex: runningIndex(input.flags),
      };
    }
  }

  /**
   * Kills the thread running a bundle, if one is. The thread marks the bundle's `thread` cell
   * with its id while it runs it and clears it when it ends; taking the cell (-1) first means
   * the thread, ending the bundle meanwhile, does not go on to its next one (worker.ts), so
   * only the aborted bundle's thread dies and the next bundle is handed back unstarted.
   */
  private kill(thread: Int32Array): void {
    const tid = Atomics.load(thread, 0);
    if (tid <= 0 || Atomics.compareExchange(thread, 0, tid, -1) !== tid) return;
    const w = this.piscina.threads.find((t) => t.threadId === tid);
    void w?.terminate();
  }

  ownsThread(threadId: number): boolean {
    return this.piscina.threads.some((t) => t.threadId === threadId);
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

  /** Stops every thread (running tasks are abandoned), once the threads started have loaded. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await stopThreads(this.threads, 10_000);
  }
}
