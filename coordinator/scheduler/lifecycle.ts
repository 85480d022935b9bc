/** A job's life: its tasks when submitted, its end when none is open, and its cancellation. */
import { log, type Ctx } from './commands.js';
import { JOB_TRANSITIONS, type Job, type JobPhase } from './job.js';
import { costOrder, type TaskOrder } from './cost-order.js';
import type { DoneLookup, NewTask, TaskSource } from './options.js';
import type { State } from './state.js';
import { DONE_ERROR, DONE_OK, holders, QUEUED, type Task } from './task-state.js';

/**
 * Adds a submitted job's tasks, in `order` (computed here when not given). `done` lists tasks
 * already committed in the output; a task in `wasSplit` was split before the job stopped (its
 * halves are in the output or held by agents), so it is split again the same way (splits are
 * deterministic) and its halves are added.
 */
export function addTasks(job: Job, src: TaskSource, done: DoneLookup, wasSplit: ReadonlySet<string>, ev: number, order?: TaskOrder): void {
  const q = job.queue;
  q.load(src, order ?? costOrder(src));
  const mark = (i: number, status: 'ok' | 'error' | undefined): void => {
    if (status !== undefined && q.markDone(i, status) && status === 'error') job.errors++;
  };
  if (done.statusAt) {
    for (let i = 0; i < src.length; i++) mark(i, done.statusAt(i));
  } else {
    for (const id of done.keys()) {
      const i = src.indexOf(id);
      if (i >= 0) mark(i, done.get(id));
    }
  }
  const addHalf = (h: NewTask): void => {
    const prior = done.get(h.id);
    const t = q.addHalf(h, prior ? (prior === 'ok' ? DONE_OK : DONE_ERROR) : QUEUED);
    if (prior === 'error') job.errors++;
    if (!prior && wasSplit.has(h.id)) resplit(t, h);
  };
  const resplit = (t: Task, spec: NewTask): void => {
    const halves = job.opts.split?.(spec);
    if (!halves) return;
    q.splitAt(t, [], ev);
    halves.forEach(addHalf);
  };
  for (const id of wasSplit) {
    const i = src.indexOf(id);
    if (i >= 0 && q.isFresh(i)) resplit(q.find(id)!, src.at(i));
  }
  job.samples[0] = [job.samples[0]![0], q.counts.done];
}

/** Ends the job (done) when it is running, none of its tasks is open and no more can come. */
export function endIfFinished(st: State, job: Job, ctx: Ctx): void {
  if (job.state !== 'running' || job.queue.open > 0 || job.fed) return;
  endJob(st, job, 'done', ctx);
}

/** Ends a running job (done or cancelled) through the table, and says so. */
export function endJob(st: State, job: Job, state: Exclude<JobPhase, 'running'>, ctx: Ctx): void {
  if (!JOB_TRANSITIONS[job.state].includes(state)) throw new Error(`illegal transition of job ${job.name}: ${job.state} → ${state}`);
  job.state = state;
  job.endedAt = ctx.now;
  job.fed = false;
  job.doneBefore = null;
  const i = st.running.indexOf(job);
  if (i >= 0) st.running.splice(i, 1);
  const secs = Math.max(1e-3, (ctx.now - job.startedAt) / 1000);
  const n = job.queue.counts;
  ctx.out.push(
    log('info', `job ${state}`, {
      job: job.name,
      tasks: job.queue.total,
      ok: n.done - job.errors,
      failed: job.errors,
      cancelled: n.cancelled,
      seconds: +secs.toFixed(3),
      tasksPerSecond: Math.round(n.done / secs),
      event: ctx.ev,
    }),
  );
  ctx.out.push({ kind: 'job-ended', job: job.name, state });
  // The job keeps its counts, not its tasks.
  job.queue.release();
}

/**
 * Stops dispatch of the job at once and aborts its running tasks everywhere; it ends
 * cancelled, or failed with `failure` saying why.
 */
export function cancelJob(st: State, job: Job, ctx: Ctx, failure?: string): void {
  const reason = failure === undefined ? 'job cancelled' : 'job failed';
  const agentsToAbort = new Set<string>();
  for (const t of [...job.queue.objects()]) {
    const s = t.state.s;
    if (s === 'done' || s === 'cancelled' || s === 'split') continue;
    for (const h of holders(t.state)) {
      st.agents.get(h)?.leases.delete(t);
      agentsToAbort.add(h);
    }
    job.queue.move(t, { s: 'cancelled' }, ctx.ev);
  }
  job.queue.cancelWaiting();
  job.queue.close();
  for (const a of agentsToAbort) ctx.out.push({ kind: 'abort', agent: a, job: job.name, tasks: null, reason });
  // Agents may hold prefetched bundles of the job that no lease tracks any more.
  for (const a of st.agents.values()) {
    if (a.state.s !== 'lost' && !agentsToAbort.has(a.id) && a.knows.has(job.name)) {
      ctx.out.push({ kind: 'abort', agent: a.id, job: job.name, tasks: null, reason });
    }
  }
  if (failure !== undefined) job.failure = failure;
  endJob(st, job, failure === undefined ? 'cancelled' : 'failed', ctx);
}
