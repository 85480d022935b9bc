/** What `shoal status` shows: each job's figures and rate (recent while it runs, its average once ended), and each agent. */
import type { AgentStatus, InterpreterMemory, JobStatus } from '../../protocol/index.js';
import { gpuCount } from './agents.js';
import type { Job } from './job.js';
import { unrunnable } from './runnable.js';
import type { State } from './state.js';

/** Samples kept per job for the recent rate (one a second at most). */
const MAX_SAMPLES = 30;

/** Status of one job or all, and of the agents. */
export function status(st: State, now: number, jobName?: string): { jobs: JobStatus[]; agents: AgentStatus[] } {
  const jobs: JobStatus[] = [];
  for (const job of st.jobs.values()) {
    if (jobName === undefined || job.name === jobName) jobs.push(jobStatus(job, now, unrunnable(job, st.agents.values())));
  }
  const agents: AgentStatus[] = [];
  for (const a of st.agents.values()) {
    agents.push({
      agent: a.id,
      host: a.info.host,
      state: a.state.s,
      slots: a.info.slots,
      busy: a.busy,
      memory: a.memory,
      done: a.done,
      lastSeenMs: now - a.lastSeen,
      spot: a.info.spot,
      ...(gpuCount(a.info) > 0 ? { gpus: gpuCount(a.info), freeGpus: a.freeGpus } : {}),
      ...(a.interpreters.length > 0 ? { interpreters: interpreterTotals(a.interpreters) } : {}),
      ...(a.info.python ? { python: a.info.python } : {}),
    });
  }
  return { jobs, agents };
}

/** An agent's interpreters: how many and their memory together, and per job. */
function interpreterTotals(jobs: InterpreterMemory[]): { count: number; rss: number; jobs: InterpreterMemory[] } {
  let count = 0;
  let rss = 0;
  for (const j of jobs) {
    count += j.count;
    rss += j.rss;
  }
  return { count, rss, jobs };
}

/** One job's status; `cannot`: why no connected agent may run it (see runnable.ts), shown first among its notes. */
function jobStatus(job: Job, now: number, cannot: string | null): JobStatus {
  const n = job.queue.counts;
  const rate = job.endedAt === null ? recentRate(job.samples, now, n.done) : averageRate(job);
  const stalled = job.state === 'running' && job.stalled !== null;
  return {
    job: job.name,
    kind: job.spec.kind,
    // A waiting job is running on the wire (older peers know no other state); waitingFor says it waits.
    state: stalled ? 'stalled' : job.state === 'waiting' ? 'running' : job.state,
    total: job.queue.total,
    done: n.done,
    failed: job.errors,
    running: n.leased,
    queued: n.queued,
    retried: job.retried,
    speculated: job.speculated,
    split: n.split,
    rate,
    etaS: job.state === 'waiting' ? null : job.state !== 'running' ? 0 : rate > 0 ? job.queue.open / rate : null,
    startedAt: job.startedAt,
    endedAt: job.endedAt,
    out: job.spec.out ?? '',
    notes: cannot === null ? [...job.notes] : [cannot, ...job.notes],
    failedRecords: job.errorRecords,
    ...(cannot !== null ? { unrunnable: cannot } : {}),
    ...(stalled ? { stalled: job.stalled! } : {}),
    ...(job.failure !== null ? { error: job.failure } : {}),
    ...(job.state === 'waiting' ? { waitingFor: [...job.waitingFor] } : {}),
    ...(job.priority !== 0 ? { priority: job.priority } : {}),
    ...(job.upstream !== null ? { from: job.upstream } : {}),
    ...(job.spec.after?.length ? { after: [...job.spec.after] } : {}),
  };
}

/** Records how many tasks each running job has committed by now (for the recent rate). */
export function sample(running: readonly Job[], now: number): void {
  for (const job of running) {
    job.samples.push([now, job.queue.counts.done]);
    if (job.samples.length > MAX_SAMPLES) job.samples.shift();
  }
}

/**
 * An ended job's tasks per second over the time it ran: the tasks it committed in this life
 * (not those found done in its output) over its end less its start (or its release, for a job
 * that waited). It does not change once the job has ended; 0 for a job that never ran.
 */
export function averageRate(job: Job): number {
  if (job.endedAt === null || job.ranFrom === null) return 0;
  const secs = (job.endedAt - job.ranFrom) / 1000;
  return secs > 0 ? Math.max(0, job.queue.counts.done - job.doneEarlier) / secs : 0;
}

/** Committed tasks per second over the last ten seconds of samples. */
function recentRate(samples: Array<[number, number]>, now: number, doneNow: number): number {
  let ref = samples[0]!;
  for (const s of samples) {
    if (now - s[0] <= 10_000) {
      ref = s;
      break;
    }
  }
  const dt = (now - ref[0]) / 1000;
  return dt > 0 ? Math.max(0, (doneNow - ref[1]) / dt) : 0;
}
