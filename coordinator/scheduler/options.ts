/** The scheduler's options, a job's options, and what the shell hands in: tasks and pulls. */
import type { TaskReport } from '../../protocol/index.js';

/** Scheduler options; every field has a default in DEFAULT_SCHEDULER_OPTIONS. */
export interface SchedulerOptions {
  /** An agent silent this long is lost and its tasks are requeued. Default 10,000 ms. */
  agentTimeoutMs: number;
  /** Attempts per task before it becomes an error row. Default 3. */
  maxAttempts: number;
  /** Target work per bundle, in ms of measured task time. Default 50. */
  dispatchMs: number;
  /** Most tasks in one bundle. Default 2048. */
  maxBundleTasks: number;
  /** Most encoded task bytes in one dispatch (kept under the bus's max_payload). Default 512 KiB. */
  maxDispatchBytes: number;
  /** Longest a pull may be parked when there is no work. Default 5,000 ms. */
  maxPullWaitMs: number;
  /** Run a second copy of a straggler when the queue is empty and slots are idle. Default true. */
  speculate: boolean;
  /** A task is a straggler when it has run this many times its expected duration. Default 3. */
  speculateFactor: number;
  /**
   * A splittable task is split while dispatching when it exceeds a fair share (1/slots) of its
   * job's queued work and is expected to run at least this many seconds (so each half runs a
   * second or more). 0 = never split. Default 2.
   */
  splitMinS: number;
  /**
   * A gap between two ticks longer than this means the coordinator itself was paused or
   * blocked: every agent's last sign of life moves on by the gap before anyone is judged
   * lost (they could not be heard meanwhile). Default 1,000 ms.
   */
  tickGapMs: number;
  /** A lost agent is forgotten (no longer listed) this long after it was lost; it may join again. Default 300,000 ms. */
  lostRetentionMs: number;
  /**
   * An agent that left (drained, then fell silent holding nothing) is forgotten this long after
   * it left; it may join again. Default 60,000 ms.
   */
  leftRetentionMs: number;
  /** Most agents known at once, lost ones and those that left included; a hello beyond that is refused. Default 100,000. */
  maxAgents: number;
  /** Most tasks agents may say they hold for jobs a restarted coordinator has not loaded yet. Default 1,000,000. */
  maxHeldEarly: number;
  /** Bundles one pull may take, per slot of the agent (its free slots plus prefetch). Default 3. */
  maxBundlesPerSlot: number;
}

export const DEFAULT_SCHEDULER_OPTIONS: SchedulerOptions = {
  agentTimeoutMs: 10_000,
  maxAttempts: 3,
  dispatchMs: 50,
  maxBundleTasks: 2048,
  maxDispatchBytes: 512 * 1024,
  maxPullWaitMs: 5_000,
  speculate: true,
  speculateFactor: 3,
  splitMinS: 2,
  tickGapMs: 1_000,
  lostRetentionMs: 300_000,
  leftRetentionMs: 60_000,
  maxAgents: 100_000,
  maxHeldEarly: 1_000_000,
  maxBundlesPerSlot: 3,
};

/** A task as a kind's expand gives it, plus its encoded size. */
export interface NewTask {
  id: string;
  cost: number;
  memory?: number;
  threads?: number;
  /** GPUs the task needs on its agent (default 0). */
  gpus?: number;
  bytes?: number;
  ref: unknown;
}

/**
 * A job's tasks by number (0..length-1), as the scheduler takes them: a task is built from its
 * number when it is first dispatched, so a waiting task costs no object. Ids are unique.
 */
export interface TaskSource {
  readonly length: number;
  /** Task number i, built anew on each call. */
  at(i: number): NewTask;
  /** Task number i's id and ref only, where that is cheaper than `at` (no encoded size worked out). */
  refAt?(i: number): Pick<NewTask, 'id' | 'ref'>;
  costAt(i: number): number;
  /** The number of the task with this id, or -1 (a split half, or no task of the job). */
  indexOf(id: string): number;
}

/** Tasks already committed in a resumed job's output: a Map of id → status, or the sink's compact set. */
export interface DoneLookup {
  readonly size: number;
  get(id: string): 'ok' | 'error' | undefined;
  has(id: string): boolean;
  keys(): Iterable<string>;
  /**
   * When the lookup is kept by the numbers of this job's tasks (the sink's set): the status of
   * task number i, and the ids it holds that are not task numbers (split halves, strangers).
   */
  statusAt?(i: number): 'ok' | 'error' | undefined;
  outsiders?(): Iterable<string>;
}

/** Tasks from an array (tests, benches): the id index is built here, as with a job's submit. */
export function sourceOf(tasks: readonly NewTask[]): TaskSource {
  const index = new Map<string, number>();
  for (let i = tasks.length - 1; i >= 0; i--) index.set(tasks[i]!.id, i);
  return {
    length: tasks.length,
    at: (i) => tasks[i]!,
    costAt: (i) => tasks[i]!.cost,
    indexOf: (id) => index.get(id) ?? -1,
  };
}

/** Granularity a job asks for: adaptive, or a fixed number of tasks per bundle. */
export type Granularity = 'auto' | number;

export interface JobOptions {
  granularity: Granularity;
  /** Second copies of stragglers for this job (default: the scheduler's option). */
  speculate?: boolean;
  /** Kinds only agents started with --allow-command may run. */
  needsCommand: boolean;
  /** Whether the kind is built in (any agent) or comes from handler modules (agents that list it). */
  builtin: boolean;
  /**
   * Splits a task that has not started into two (ids `<id>/0` and `<id>/1`) doing exactly its
   * work, or returns null; absent for kinds that cannot split. Deterministic (see submit).
   */
  split?: (t: NewTask) => [NewTask, NewTask] | null;
  /** The kind's rough seconds per cost unit, used until the job's first results are measured. */
  secondsPerCost?: number;
  /**
   * The job continues earlier work (a coordinator restart, or a job submitted again into its
   * output): tasks agents say they hold are adopted. A fresh job adopts nothing an agent
   * claims unless it was leased to that agent.
   */
  adoptHeld?: boolean;
  /** Error records already in the output (a resumed job), so status counts them too. */
  errorRecords?: number;
  /**
   * The job is a stage fed by this job's rows: more tasks come with `onGrow` as those rows
   * commit, and the job ends only once `onGrow` says the upstream ended and every task is done.
   */
  upstream?: string;
}

/** A task that arrives while its job runs (`onGrow`); with `upstreamError` it is not run: its error row is written at once. */
export interface LateTask extends NewTask {
  upstreamError?: { code: string; message: string };
}

export interface PullParams {
  epoch: number;
  seq: number;
  want: number;
  freeSlots: number;
  memory: number;
  /** GPUs free on the agent (absent: none). */
  freeGpus?: number;
  waitMs: number;
  reports: TaskReport[];
  /** Reports sent beside a parked pull (see the Pull message): no seq check, no new parking. */
  reportsOnly?: boolean;
}
