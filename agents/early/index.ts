/**
 * The first worker thread of a local agent, started before the agent is built. Node takes about
 * 100 ms to start a thread, before the thread loads any of shoal; `shoal run` starts it from
 * its first lines, so that this boot overlaps the main thread's loading of the coordinator,
 * the sink and the kinds (on two cores) instead of following it. The agent's WorkerPool takes
 * these threads when it is built with the same thread settings, and stops them otherwise.
 *
 * Light on purpose (the probe's `os` calls and piscina): it is loaded before the rest of shoal.
 */
import { slurmFacts, usableCpus } from '../probe.js';
import { sameThreads, startThreads, stopThreads, type PoolThreads, type ThreadSettings } from '../pool-threads.js';

let early: PoolThreads | null = null;

/**
 * Starts the threads of a pool of `workers` threads (absent: one per usable CPU, no more than
 * Slurm allocated), without handler modules, recycling or a heap limit: what `run` builds
 * unless its options say otherwise. Nothing is started for more workers than usable CPUs
 * (whether to run them is the agent's options' call), nor twice.
 */
export function startEarlyThreads(workers?: number): void {
  if (early) return;
  const cpus = slurmFacts()?.cpusOnNode;
  const usable = Math.max(1, Math.min(usableCpus(), cpus ?? Infinity));
  if (workers !== undefined && (workers < 1 || workers > usable)) return;
  early = startThreads({ workers: workers ?? usable, recycleAfter: 0, workerHeapMb: 0, handlers: [] });
}

/**
 * The threads started early, for a pool with `settings`; null when none were, or when they
 * were started otherwise (the agent counted its workers differently, e.g. for its GPUs): those
 * are stopped, once loaded, while the pool starts its own.
 */
export function takeEarlyThreads(settings: ThreadSettings): PoolThreads | null {
  const t = early;
  early = null;
  if (t === null || sameThreads(t.settings, settings)) return t;
  void stopThreads(t, 10_000);
  return null;
}
