/**
 * A job's life: its tasks when submitted, its wait for upstream jobs, its end when none is
 * open, and its cancellation.
 */
import { present } from './agents.js';
import { badEnd, endOf } from './barriers.js';
import { log, type Ctx } from './commands.js';
import { wake } from './dispatch.js';
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
  // A new output has nothing done: no pass over every task (5,000,000 of them held the event loop some 20 ms).
  if (done.size > 0 && done.statusAt) {
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
  job.doneEarlier = q.counts.done;
}

/** Ends the job (done) when it is running, none of its tasks is open and no more can come. */
export function endIfFinished(st: State, job: Job, ctx: Ctx): void {
  if (job.state !== 'running' || job.queue.open > 0 || job.fed) return;
  endJob(st, job, 'done', ctx);
}

/** Moves the job to another phase through the table; a move not in it throws. */
function moveJob(job: Job, to: JobPhase): void {
  if (!JOB_TRANSITIONS[job.state].includes(to)) throw new Error(`illegal transition of job ${job.name}: ${job.state} → ${to}`);
  job.state = to;
}

function remove(list: Job[], job: Job): void {
  const i = list.indexOf(job);
  if (i >= 0) list.splice(i, 1);
}

/**
 * Puts a job just submitted where it belongs: running, or waiting for the upstream jobs of its
 * `--after` that have not ended (an upstream that ended badly cancels it under --after-ok).
 */
export function place(st: State, job: Job, ctx: Ctx): void {
  if (job.state !== 'waiting') {
    st.running.push(job);
    return;
  }
  st.waiting.push(job);
  for (const name of job.spec.after ?? []) {
    const e = endOf(st, name);
    if (e === null) job.waitingFor.add(name);
    else if (!job.spec.afterAny && badEnd(name, e) !== null) return cancelJob(st, job, ctx, badEnd(name, e)!, 'cancelled');
  }
  if (job.waitingFor.size === 0) release(st, job, ctx);
  else ctx.out.push(log('info', 'job waits for upstream jobs', { job: job.name, after: [...job.waitingFor], event: ctx.ev }));
}

/** A waiting job whose upstream jobs have all ended runs. */
function release(st: State, job: Job, ctx: Ctx): void {
  moveJob(job, 'running');
  job.ranFrom = ctx.now;
  remove(st.waiting, job);
  st.running.push(job);
  st.news++;
  ctx.out.push(log('info', 'job runs: its upstream jobs ended', { job: job.name, event: ctx.ev }));
  endIfFinished(st, job, ctx);
}

/** Job `name` ended: the jobs waiting for it run, wait for the rest, or are cancelled (--after-ok). */
export function upstreamEnded(st: State, name: string, ctx: Ctx): void {
  const e = endOf(st, name);
  if (e === null) return;
  let released = false;
  for (const w of [...st.waiting]) {
    if (w.state !== 'waiting' || !w.waitingFor.delete(name)) continue;
    const bad = w.spec.afterAny ? null : badEnd(name, e);
    if (bad !== null) {
      w.waitingFor.clear();
      cancelJob(st, w, ctx, bad, 'cancelled');
    } else if (w.waitingFor.size === 0) {
      release(st, w, ctx);
      released = true;
    }
  }
  if (released) wake(st, ctx);
}

/** Sets a job's priority (free slots go to higher ones first); dispatch takes it from the next pull. */
export function setPriority(st: State, job: Job, priority: number, ctx: Ctx): void {
  if (job.priority === priority) return;
  ctx.out.push(log('info', 'job priority changed', { job: job.name, from: job.priority, to: priority, event: ctx.ev }));
  job.priority = priority;
  st.news++;
  wake(st, ctx);
}

/** Ends a running or waiting job (done, cancelled or failed) through the table, says so, and tells the jobs waiting for it. */
export function endJob(st: State, job: Job, state: Exclude<JobPhase, 'running' | 'waiting'>, ctx: Ctx): void {
  moveJob(job, state);
  job.endedAt = ctx.now;
  job.fed = false;
  job.doneBefore = null;
  job.waitingFor.clear();
  remove(st.running, job);
  remove(st.waiting, job);
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
  upstreamEnded(st, job.name, ctx);
}

/**
 * Stops dispatch of the job at once and aborts its running tasks everywhere; it ends
 * cancelled, or failed with `failure` saying why (or cancelled with it, when `end` says so:
 * an upstream job ended badly).
 */
export function cancelJob(st: State, job: Job, ctx: Ctx, failure?: string, end: 'cancelled' | 'failed' = failure === undefined ? 'cancelled' : 'failed'): void {
  const reason = end === 'cancelled' ? 'job cancelled' : 'job failed';
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
    if (present(a) && !agentsToAbort.has(a.id) && a.knows.has(job.name)) {
      ctx.out.push({ kind: 'abort', agent: a.id, job: job.name, tasks: null, reason });
    }
  }
  if (failure !== undefined) job.failure = failure;
  endJob(st, job, end, ctx);
}
