/**
 * Splitting: a queued task that never started may be replaced by two halves doing exactly its
 * work, while dispatching (it is too big for a fair share of the job) or when an agent or the
 * output knows of halves this coordinator has not made (it restarted).
 */
import { log, type Ctx } from './commands.js';
import type { Job } from './job.js';
import type { SchedulerOptions } from './options.js';
import type { Task } from './task-state.js';

/**
 * Whether the queued task `t` should be split before it is dispatched: it never started, and it
 * would exceed a fair share of the job's queued work on `slots` slots by a margin worth a split
 * (it runs at least splitMinS seconds at `spc` seconds per cost unit).
 */
export function shouldSplit(job: Job, t: Task, spc: number, slots: number, opts: SchedulerOptions): boolean {
  if (t.state.s !== 'queued' || t.started || t.threads > 1) return false;
  if (opts.splitMinS <= 0 || t.cost * spc < opts.splitMinS) return false;
  return t.cost > job.queue.queuedCost / Math.max(1, slots);
}

/**
 * Replaces the queued task `t` (never started) by its halves. Null when its kind
 * does not split it. `slots` is only for the log line.
 */
export function splitTask(job: Job, t: Task, slots: number, ctx: Ctx): [Task, Task] | null {
  const specs = job.opts.split?.({ id: t.id, cost: t.cost, memory: t.memory, threads: t.threads, gpus: t.gpus, bytes: t.bytes, ref: t.ref });
  if (!specs) return null;
  const halves = job.queue.splitAt(t, specs, ctx.ev) as [Task, Task];
  ctx.out.push(log('debug', 'task split', { job: job.name, task: t.id, cost: t.cost, halves: [halves[0].cost, halves[1].cost], queuedCost: job.queue.queuedCost, slots, event: ctx.ev }));
  return halves;
}

/**
 * The task `id` names when it is a half (of a half...) of a queued task that never started:
 * an agent or the output knows of a split this coordinator has not made (it restarted). The
 * task is split down to it here. Null when there is no such task to split.
 */
export function materialize(job: Job, id: string, slots: number, ctx: Ctx): Task | null {
  if (!job.opts.split || !id.includes('/')) return null;
  const parts = id.split('/');
  let k = parts.length - 1;
  let t: Task | undefined;
  while (k > 0 && !(t = job.queue.find(parts.slice(0, k).join('/')))) k--;
  for (; t && k < parts.length; k++) {
    // Queued and never started: it is in the order (the retry list holds only started ones).
    if (t.state.s !== 'queued' || t.started) return null;
    t = splitTask(job, t, slots, ctx)?.[Number(parts[k])];
    if (!t) return null;
  }
  return t && t.id === id ? t : null;
}

/** Every id that some id in `ids` is a split half of (`a` and `a/1` for `a/1/0`). */
export function splitParents(sources: Iterable<string>[]): Set<string> {
  const out = new Set<string>();
  for (const ids of sources) {
    for (const id of ids) {
      for (let j = id.indexOf('/'); j > 0; j = id.indexOf('/', j + 1)) out.add(id.slice(0, j));
    }
  }
  return out;
}
