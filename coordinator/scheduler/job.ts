/** A job as the scheduler holds it: its spec and options, its queue of tasks, and its figures. */
import type { JobInfo, JobSpec, TaskMsg } from '../../protocol/index.js';
import { JobQueue } from './job-queue.js';
import type { DoneLookup, JobOptions } from './options.js';
import type { Task, TransitionLog } from './task-state.js';
import { Throughput } from './throughput.js';

/**
 * A job's states in the scheduler. A stalled job is running (status shows it stalled). A job
 * fails when it cannot run at all (its code cannot be loaded: `failure` says why).
 */
export type JobPhase = 'running' | 'done' | 'cancelled' | 'failed';

/** The allowed moves: a running job ends done, cancelled or failed, and stays so. */
export const JOB_TRANSITIONS: Readonly<Record<JobPhase, readonly JobPhase[]>> = {
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
  /** Changed only by endJob, through JOB_TRANSITIONS. */
  state: JobPhase;
  /** Its tasks, their states' counts, and the dispatch order. */
  readonly queue: JobQueue;
  /** Tasks committed with an error row. */
  errors: number;
  /** Error rows among the records of committed tasks. */
  errorRecords: number;
  /** Why the job's output cannot be written now (dispatch waits); null while it can. */
  stalled: string | null;
  /** Why the job failed (set as it ends 'failed'); null otherwise. */
  failure: string | null;
  retried: number;
  speculated: number;
  readonly throughput: Throughput;
  readonly startedAt: number;
  endedAt: number | null;
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
    state: 'running',
    queue: new JobQueue(spec.job, log),
    errors: 0,
    errorRecords: opts.errorRecords ?? 0,
    stalled: null,
    failure: null,
    retried: 0,
    speculated: 0,
    throughput: new Throughput(),
    startedAt: now,
    endedAt: null,
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
