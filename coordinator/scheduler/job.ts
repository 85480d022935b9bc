/** A job as the scheduler holds it: its spec and options, its queue of tasks, and its figures. */
import type { JobInfo, JobSpec, TaskMsg } from '../../protocol/index.js';
import { JobQueue } from './job-queue.js';
import type { DoneLookup, JobOptions } from './options.js';
import type { Task, TransitionLog } from './task-state.js';
import { Throughput } from './throughput.js';

/**
 * A job's states in the scheduler. A waiting job dispatches nothing until the jobs it was
 * submitted after (`--after`) have ended. A stalled job is running (status shows it stalled).
 * A job fails when it cannot run at all (its code cannot be loaded: `failure` says why).
 */
export type JobPhase = 'waiting' | 'running' | 'done' | 'cancelled' | 'failed';

/**
 * The allowed moves: a waiting job runs once its upstream jobs have ended (or is cancelled,
 * when one of them ended badly under --after-ok); a running job ends done, cancelled or
 * failed, and stays so.
 */
export const JOB_TRANSITIONS: Readonly<Record<JobPhase, readonly JobPhase[]>> = {
  waiting: ['running', 'cancelled', 'failed'],
  running: ['done', 'cancelled', 'failed'],
  done: [],
  cancelled: [],
  failed: [],
};

export interface Job {
  readonly spec: JobSpec;
  readonly name: string;
  readonly opts: JobOptions;
  readonly maxAttempts: number;
  /** Changed only through JOB_TRANSITIONS (lifecycle's moveJob). */
  state: JobPhase;
  /** Higher first for free slots; equal ones share them (changed by `shoal priority`). */
  priority: number;
  /** The upstream jobs (`--after`) that have not ended yet; empty once it runs. */
  readonly waitingFor: Set<string>;
  /** Its tasks, their states' counts, and the dispatch order. */
  readonly queue: JobQueue;
  /** Tasks committed with an error row. */
  errors: number;
  /** Error rows among the records of committed tasks. */
  errorRecords: number;
  /** Why the job's output cannot be written now (dispatch waits); null while it can. */
  stalled: string | null;
  /** Why the job failed (set as it ends 'failed') or was cancelled by an upstream job's end; null otherwise. */
  failure: string | null;
  retried: number;
  speculated: number;
  readonly throughput: Throughput;
  readonly startedAt: number;
  /** When it began to run: at submission, or when its upstream jobs ended (--after); null while waiting. */
  ranFrom: number | null;
  endedAt: number | null;
  /** Tasks found committed in the output, not run in this life (a resumed job, a stage's rows done before). */
  doneEarlier: number;
  readonly notes: Set<string>;
  readonly info: JobInfo;
  /** [time, committed] samples for the recent rate. */
  readonly samples: Array<[number, number]>;
  /** The job whose committed rows become this job's tasks as they commit (null: all known at submit). */
  readonly upstream: string | null;
  /** More tasks may still come (the upstream job has not ended): the job cannot end before. */
  fed: boolean;
  /** Tasks committed in the output before this run, looked up for tasks that come later (a fed job). */
  doneBefore: DoneLookup | null;
}

/** A running job with no tasks yet. */
export function newJob(spec: JobSpec, opts: JobOptions, maxAttempts: number, log: TransitionLog, now: number): Job {
  return {
    spec,
    name: spec.job,
    opts,
    maxAttempts: spec.maxAttempts ?? maxAttempts,
    state: spec.after?.length ? 'waiting' : 'running',
    priority: spec.priority ?? 0,
    waitingFor: new Set(),
    queue: new JobQueue(spec.job, log),
    errors: 0,
    errorRecords: opts.errorRecords ?? 0,
    stalled: null,
    failure: null,
    retried: 0,
    speculated: 0,
    throughput: new Throughput(),
    startedAt: now,
    ranFrom: spec.after?.length ? null : now,
    endedAt: null,
    doneEarlier: 0,
    notes: new Set(opts.upstream !== undefined ? [`tasks come from the rows of job '${opts.upstream}' as they commit`] : []),
    info: { job: spec.job, kind: spec.kind, params: spec.params },
    samples: [[now, 0]],
    upstream: opts.upstream ?? null,
    fed: opts.upstream !== undefined,
    doneBefore: null,
  };
}

/** Measured seconds per cost unit of the job's tasks, else its kind's estimate, else null. */
export function secondsPerCost(job: Job): number | null {
  return job.throughput.secondsPerCost() ?? job.opts.secondsPerCost ?? null;
}

/** A task as an agent receives it; its last allowed attempt is marked final. */
export function taskMsg(t: Task, job: Job): TaskMsg {
  return { id: t.id, attempt: t.attempt, cost: t.cost, final: t.attempt >= job.maxAttempts, ref: t.ref };
}
