/**
 * A pool that runs bundles on the agent's own main thread: each bundle's tasks are awaited one
 * after the other (bundle-run.ts, as a worker thread runs them), and bundles run side by side
 * as far as the agent's core hands them out. A slot costs no thread, only what its task awaits:
 * with `spin --sleep`, a timer. It is for simulated agents (the fleet benchmark and test),
 * where hundreds of agents with thousands of slots share one machine; a task that computes
 * holds the whole event loop, and a task that ends its thread (`--crash-tasks`) ends the process.
 *
 * Built-in kinds only (handler modules are a worker thread's).
 */
import { getKind, threadInputs } from '../src/kinds/index.js';
import { toWireError } from '../src/errors.js';
import { abortBundle, runningIndex, setNoneBegun } from './flags.js';
import { bundleSignal, runBundleTasks } from './bundle-run.js';
import { toWorkerInput, type BundleEnd, type BundleInput } from './worker-types.js';
import type { BundlePool, PoolFactory } from './bundle-pool.js';

export class InlinePool implements BundlePool {
  /** A slot runs one bundle at a time: the next waits for the core, which starts it at once. */
  readonly depth = 1;
  /** Nothing is ever replaced: there are no threads. */
  readonly replaced = 0;
  private readonly paramsCache = new Map<string, unknown>();
  /** The abort of every bundle running now. */
  private readonly running = new Set<() => void>();
  /** Lane numbers (the rows' `worker`) free again, and the next new one. */
  private readonly freeLanes: number[] = [];
  private nextLane = 1;
  private closed = false;

  async run(input: BundleInput, signal: AbortSignal): Promise<BundleEnd> {
    if (signal.aborted || this.closed) return { kind: 'aborted' };
    setNoneBegun(input.flags);
    const ac = new AbortController();
    const abort = (): void => {
      abortBundle(input.flags);
      ac.abort();
    };
    signal.addEventListener('abort', abort, { once: true });
    this.running.add(abort);
    const lane = this.freeLanes.pop() ?? this.nextLane++;
    const aborted = new Promise<BundleEnd>((resolve) => ac.signal.addEventListener('abort', () => resolve({ kind: 'aborted' }), { once: true }));
    const ran = (async (): Promise<BundleEnd> => {
      try {
        const { group, failures } = await runBundleTasks(toWorkerInput(input), {
          kind: getKind(input.kind),
          paramsCache: this.paramsCache,
          inputs: threadInputs,
          worker: lane,
          signal: () => bundleSignal(input.flags, input.tasks.length, ac.signal),
        });
        return { kind: 'done', out: { group, failures, threadId: lane, tasksRun: 0 } };
      } catch (err) {
        // Only a fault of the runner itself gets here (a task's error is its row): blame the task running then.
        const e = toWireError(err);
        return { kind: 'died', error: { code: e.code, message: `the bundle runner failed: ${e.message}` }, runningIndex: runningIndex(input.flags) };
      }
    })();
    try {
      return await Promise.race([ran, aborted]);
    } finally {
      signal.removeEventListener('abort', abort);
      this.running.delete(abort);
      // An aborted bundle's task may still be unwinding: its lane is free once it has.
      void ran.finally(() => this.freeLanes.push(lane));
    }
  }

  /** Aborts every running bundle. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    for (const abort of [...this.running]) abort();
    this.running.clear();
  }
}

/** The factory for AgentOptions.pool: every agent gets a pool of its own. */
export const inlinePool: PoolFactory = () => new InlinePool();
