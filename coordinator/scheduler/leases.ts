/**
 * Leases and retries: a task leased to an agent, taken back from it (handed back, failed, or
 * lost with it), retried until it is out of attempts, then failed with an error row.
 */
import type { TaskReport } from '../../protocol/index.js';
import { ErrorCode, type WireError } from '../../src/errors.js';
import type { Agent } from './agents.js';
import { log, type Ctx } from './commands.js';
import { cancelJob } from './lifecycle.js';
import type { Job } from './job.js';
import type { State } from './state.js';
import { isHeldBy, QUEUED, type Task, type TaskChange } from './task-state.js';

/** Leases a queued task to agent `a` under dispatch `dispatch` (0: adopted from what the agent holds). */
export function lease(job: Job, t: Task, a: Agent, dispatch: number, ctx: Ctx, change?: TaskChange): void {
  job.queue.move(t, { s: 'leased', agent: a.id, since: ctx.now, dispatch, copy: null }, ctx.ev, change);
  a.leases.add(t);
}

/**
 * Takes a task back from an agent. 'handback' keeps the attempt; 'failed' and 'lost' cost one
 * (even when another copy keeps running), and a task out of attempts moves to failing (the
 * shell writes its error row).
 */
export function unlease(st: State, t: Task, a: Agent, why: 'handback' | 'failed' | 'lost', ctx: Ctx, error?: WireError): void {
  const job = st.jobs.get(t.job)!;
  const s = t.state;
  if (s.s !== 'leased') return;
  a.leases.delete(t);
  let change: TaskChange | undefined;
  if (why !== 'handback') {
    job.retried++;
    change = why === 'failed' ? { attempt: t.attempt + 1, avoid: a.id } : { attempt: t.attempt + 1 };
  }
  if (s.copy) {
    // The other copy keeps running: the task stays leased to it alone.
    const other = s.agent === a.id ? s.copy : { agent: s.agent, since: s.since, dispatch: s.dispatch };
    if (other.agent !== a.id) {
      job.queue.move(t, { s: 'leased', agent: other.agent, since: other.since, dispatch: other.dispatch, copy: null }, ctx.ev, change);
      return;
    }
  }
  if ((change?.attempt ?? t.attempt) > job.maxAttempts) {
    const err: WireError =
      why === 'lost'
        ? { code: ErrorCode.Lost, message: `task lost with its agent ${job.maxAttempts} times (last: ${a.id})` }
        : { code: error?.code ?? ErrorCode.Task, message: error?.message ?? 'failed' };
    fail(job, t, err, ctx, { ...change, attempt: job.maxAttempts });
    return;
  }
  job.queue.move(t, QUEUED, ctx.ev, change);
}

/** Out of attempts, or unschedulable: the task moves to failing and the shell writes its error row. */
export function fail(job: Job, t: Task, error: WireError, ctx: Ctx, change?: TaskChange): void {
  job.queue.move(t, { s: 'failing', error }, ctx.ev, change);
  ctx.out.push({ kind: 'error-rows', job: job.name, rows: [{ id: t.id, attempt: t.attempt, error }] });
}

/** A report from an agent that holds the task: handed back (no error) or failed there. */
export function report(st: State, a: Agent, r: TaskReport, ctx: Ctx): void {
  const job = st.jobs.get(r.job);
  const t = job?.queue.get(r.id);
  if (!job || !t || !isHeldBy(t.state, a.id)) return;
  if (!r.error) {
    unlease(st, t, a, 'handback', ctx);
    return;
  }
  if (r.error.code === ErrorCode.Setup) {
    // The job's code cannot be loaded (or its setup raised): every task would fail the same way.
    ctx.out.push(log('warn', 'job failed: its setup failed', { job: job.name, task: t.id, agent: a.id, err: r.error.message, event: ctx.ev }));
    if (job.state === 'running') cancelJob(st, job, ctx, `setup failed on agent ${a.id}: ${r.error.message}`);
    return;
  }
  ctx.out.push(log('info', 'task failed; retrying elsewhere', { job: job.name, task: t.id, agent: a.id, attempt: t.attempt, code: r.error.code, event: ctx.ev }));
  unlease(st, t, a, 'failed', ctx, r.error);
}
