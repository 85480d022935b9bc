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
  tasks: TaskMsg[];
  agent: string;
  host: string;
  /** Shared with the agent: see worker.ts for the layout. Length tasks.length + 2. */
  flags: Int32Array;
  /** The bundle's line to the agent's input store (kinds that share parsed inputs; see input-store.ts). */
  inputs?: MessagePort;
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
