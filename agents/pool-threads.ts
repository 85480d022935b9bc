/**
 * The piscina under an agent's WorkerPool: what its worker threads are started with, the load
 * balancer that asks ThreadChoice where each bundle goes, and the count of threads that have
 * loaded their modules. The pool builds it, or takes the one `shoal run` started before it
 * built the agent (early/).
 */
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { Piscina, queueOptionsSymbol } from 'piscina';
import { ThreadChoice } from './thread-choice.js';
import type { PoolOptions } from './bundle-pool.js';
import type { BundleOutput, PoolWorkerData, WorkerInput } from './worker-types.js';

/**
 * Young-generation size of each worker thread's heap. V8's default lets every thread's young
 * generation grow to tens of MB under the allocation rate of parsing, which is most of what a
 * worker costs; at 8 MB, 8 workers on the 1 GB bench SDFs peak 20-25% lower with no measurable
 * slow-down (BENCHMARKS.md, memory).
 */
const WORKER_YOUNG_GENERATION_MB = 8;

/** Bundles each worker thread holds at once (running + next); 1 while recycling threads. */
const PIPELINE = 2;

/** The worker entry sits beside this file, in dist/agents as in the bundle (build/bundle.mjs). */
const WORKER_FILE = join(dirname(fileURLToPath(import.meta.url)), 'worker.js');

/** What a pool's threads are started with: its options less what stays on the agent's side. */
export type ThreadSettings = Pick<PoolOptions, 'workers' | 'recycleAfter' | 'workerHeapMb' | 'handlers'>;

export interface PoolThreads {
  readonly settings: ThreadSettings;
  readonly piscina: Piscina<WorkerInput, BundleOutput>;
  /** Which thread each bundle goes to (a GPU bundle to the thread that last had its GPUs). */
  readonly choice: ThreadChoice;
  /** Cell 0: threads whose module graph has loaded (each thread adds one when it has). */
  readonly loaded: Int32Array;
  /** Bundles one thread holds at once (see PIPELINE). */
  readonly depth: number;
}

/** Starts a pool's piscina; its first thread boots at once. */
export function startThreads(settings: ThreadSettings): PoolThreads {
  // A recycled thread is terminated after a bundle: it must not hold the next one then.
  const depth = settings.recycleAfter > 0 ? 1 : PIPELINE;
  const choice = new ThreadChoice(depth);
  const loaded = new Int32Array(new SharedArrayBuffer(4));
  const { workers } = settings;
  // Threads start on demand (a one-task job loads one) and then stay (no idle timeout). Until
  // every thread has started, a bundle goes to an idle thread or to a new one, never second
  // in line on a busy thread, so bundles spread over threads as they would on a full pool
  // (thread-choice.ts; a bundle's GPUs ride on its task under piscina's queue-options key,
  // which stays on this side: a symbol-keyed field is not copied to the thread).
  const piscina: Piscina<WorkerInput, BundleOutput> = new Piscina<WorkerInput, BundleOutput>({
    filename: WORKER_FILE,
    minThreads: 1,
    maxThreads: workers,
    idleTimeout: Infinity,
    loadBalancer: (task, threads) => {
      const o = task[queueOptionsSymbol] as { gpus?: string | null; short?: boolean } | null;
      return choice.choose(o?.gpus ?? null, threads, piscina.threads.length < workers, o?.short === true);
    },
    concurrentTasksPerWorker: depth,
    maxQueue: Math.max(4, workers * 4),
    atomics: 'async',
    workerData: { handlers: settings.handlers, loaded } satisfies PoolWorkerData,
    resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB, ...(settings.workerHeapMb > 0 ? { maxOldGenerationSizeMb: settings.workerHeapMb } : {}) },
  });
  // A dying thread emits 'error' on the pool as well as rejecting its task; the task path handles it.
  piscina.on('error', () => undefined);
  piscina.on('workerDestroy', (w: { id: number }) => choice.forget(w.id));
  return { settings, piscina, choice, loaded, depth };
}

/** Whether threads started with `a` are the ones a pool with `b` would start. */
export function sameThreads(a: ThreadSettings, b: ThreadSettings): boolean {
  return a.workers === b.workers && a.recycleAfter === b.recycleAfter && a.workerHeapMb === b.workerHeapMb && a.handlers.length === b.handlers.length && a.handlers.every((h, i) => h === b.handlers[i]);
}

/**
 * Stops every thread (running tasks are abandoned), once the threads started so far have
 * loaded their modules (waiting at most `ms`): Node 20 aborts the whole process when a thread
 * is terminated while its ES module graph is being instantiated, which an agent drained or
 * stopped within a second of starting would otherwise do.
 */
export async function stopThreads(t: PoolThreads, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  const pending = (): boolean => {
    const loaded = Atomics.load(t.loaded, 0);
    return loaded < t.settings.workers && loaded < t.piscina.threads.length;
  };
  while (pending() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  await t.piscina.destroy();
}
