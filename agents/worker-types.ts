/** What crosses between the agent and its piscina worker threads. */
import type { MessagePort } from 'node:worker_threads';
import type { ResultGroup, TaskMsg } from '../protocol/index.js';

export type { TaskMsg, ResultGroup };

export interface WireErrorShape {
  code: string;
  message: string;
}

export interface BundleInput {
  job: string;
  kind: string;
  params: unknown;
  threads: number;
  /** The GPUs the bundle holds (node indices); each of its tasks gets them as `ctx.gpus`. Absent: none. */
  gpus?: readonly number[];
  tasks: TaskMsg[];
  agent: string;
  host: string;
  /** Shared with the agent: see flags.ts for the layout (newFlags). Length tasks.length + 2. */
  flags: Int32Array;
  /** The bundle's line to the agent's input store (kinds that share parsed inputs; see input-store.ts). */
  inputs?: MessagePort;
  /**
   * Set by the pool: the id of the thread running the bundle while it runs (0 before and
   * after; -1 = the pool is killing that thread). See WorkerPool.kill.
   */
  thread?: Int32Array;
}

/**
 * What the pool posts to a worker thread: a BundleInput with its tasks in columns (a
 * structured clone of four arrays costs less than half that of as many small objects, on
 * the agent's main thread, which every task passes through).
 */
export interface WorkerInput extends Omit<BundleInput, 'tasks'> {
  ids: string[];
  attempts: number[];
  finals: boolean[];
  refs: unknown[];
}

/** Puts a bundle's tasks in columns for the worker thread. */
export function toWorkerInput(input: BundleInput): WorkerInput {
  const { tasks, ...rest } = input;
  const n = tasks.length;
  const ids = new Array<string>(n);
  const attempts = new Array<number>(n);
  const finals = new Array<boolean>(n);
  const refs = new Array<unknown>(n);
  for (let i = 0; i < n; i++) {
    const t = tasks[i]!;
    ids[i] = t.id;
    attempts[i] = t.attempt;
    finals[i] = t.final;
    refs[i] = t.ref;
  }
  return { ...rest, ids, attempts, finals, refs };
}

/** A retryable failure on a non-final attempt: the coordinator retries it elsewhere. */
export interface TaskFailure {
  id: string;
  attempt: number;
  error: WireErrorShape;
}

export interface BundleOutput {
  /** Results of the tasks that ran to an end (ok or final error), rows rendered. */
  group: ResultGroup;
  failures: TaskFailure[];
  threadId: number;
  /** Tasks this worker thread has run since it started (for --recycle-after). */
  tasksRun: number;
}

/** How a bundle ended on the pool. */
export type BundleEnd =
  | { kind: 'done'; out: BundleOutput }
  | { kind: 'aborted' }
  /** The thread was replaced under it (recycling): run the tasks again, no attempt charged. */
  | { kind: 'requeue' }
  /** Its thread died (crash, heap limit) while task `runningIndex` ran: only that task is charged. */
  | { kind: 'died'; error: { code: string; message: string }; runningIndex: number };

/** What every worker thread of a pool is started with. */
export interface PoolWorkerData {
  /** Handler modules (paths from the agent's command line). */
  handlers: string[];
  /** Cell 0 counts the threads whose module graph has loaded (see WorkerPool.close). */
  loaded: Int32Array;
}
