/**
 * Tasks agents say they hold when they say hello. Kept leased to them where that is believable:
 * the task was leased to that agent in this coordinator's life, or its job continues earlier
 * work and nobody here has run the task yet. Held tasks of a job a restarted coordinator is
 * still loading wait here (bounded) until it is loaded; other claims are told to stop.
 */
import type { HeldTask } from '../../protocol/index.js';
import { gpuCount, type Agent } from './agents.js';
import { log, type Ctx } from './commands.js';
import type { Job } from './job.js';
import { lease, unlease } from './leases.js';
import { materialize } from './split.js';
import type { State } from './state.js';
import { isHeldBy, wasLeasedTo } from './task-state.js';

export class HeldTasks {
  /** Tasks agents hold for jobs not loaded yet (job → task → holder). */
  private readonly early = new Map<string, Map<string, { agent: string; attempt: number }>>();
  /** Jobs a restarted coordinator is loading: only their held tasks are kept early. */
  private readonly expected = new Set<string>();
  private count = 0;

  constructor(private readonly maxEarly: number) {}

  /** Jobs a restarting coordinator is about to load: agents' held tasks of these are kept until they are. */
  expect(jobNames: Iterable<string>): void {
    for (const j of jobNames) this.expected.add(j);
  }

  /** A job expected after a restart that will not be loaded: drop what agents said they hold of it. */
  unexpect(jobName: string): void {
    this.expected.delete(jobName);
    this.count -= this.early.get(jobName)?.size ?? 0;
    this.early.delete(jobName);
  }

  /** Ids of tasks agents hold of a job not loaded yet. */
  earlyIds(jobName: string): Iterable<string> {
    return this.early.get(jobName)?.keys() ?? [];
  }

  /** Adopts what agent `a` says it holds; returns how many tasks it keeps. */
  adopt(st: State, a: Agent, held: HeldTask[], ctx: Ctx): number {
    let adopted = 0;
    let unknown = 0;
    const refused = new Map<string, string[]>();
    for (const [jobName, taskId, attempt] of held) {
      const job = st.jobs.get(jobName);
      if (!job) {
        if (this.keepEarly(a, jobName, taskId, attempt)) continue;
        unknown++;
        // A job this coordinator does not hold and will not load (never submitted here, or not
        // resumable): nothing would take its results, so it stops running.
        if (!this.expected.has(jobName)) addTo(refused, jobName, taskId);
        continue;
      }
      const t = job.queue.get(taskId) ?? (job.opts.adoptHeld ? materialize(job, taskId, st.agents.activeSlots, ctx) : null);
      const mine = t !== null && t !== undefined && wasLeasedTo(t, a.id);
      // Not this agent's, and another took it first (a restart: whoever said hello first pulled
      // it) or will: its result would be refused, so it stops rather than hold a slot.
      const taken = t !== null && t !== undefined && !mine && !(t.state.s === 'queued' && !t.started) && t.state.s !== 'done' && t.state.s !== 'cancelled';
      if (!t || (!mine && !job.opts.adoptHeld) || taken) {
        if (job.state === 'running') addTo(refused, jobName, taskId);
        continue;
      }
      if (t.gpus > gpuCount(a.info)) {
        // It says it runs a task needing more GPUs than it has now: not believable; run it elsewhere.
        if (isHeldBy(t.state, a.id)) unlease(st, t, a, 'handback', ctx);
        ctx.out.push({ kind: 'abort', agent: a.id, job: jobName, tasks: [taskId], reason: `needs ${t.gpus} GPUs; this agent has ${gpuCount(a.info)}` });
      } else if (t.state.s === 'done' || t.state.s === 'cancelled') {
        ctx.out.push({ kind: 'abort', agent: a.id, job: jobName, tasks: [taskId], reason: 'already committed' });
      } else if (t.state.s === 'queued' && (mine || !t.started)) {
        lease(job, t, a, 0, ctx, { attempt: Math.max(t.attempt, attempt) });
        adopted++;
      } else if (isHeldBy(t.state, a.id)) {
        adopted++;
      }
    }
    for (const [job, tasks] of refused) ctx.out.push({ kind: 'abort', agent: a.id, job, tasks, reason: st.jobs.has(job) ? 'not leased to this agent' : 'no such job here' });
    if (unknown > 0 || refused.size > 0) {
      ctx.out.push(log('warn', 'an agent holds tasks this coordinator did not lease to it: not adopted', { agent: a.id, unknownJobs: unknown, notLeased: [...refused.values()].reduce((n, x) => n + x.length, 0), event: ctx.ev }));
    }
    return adopted;
  }

  /** Keeps a held task of a job not loaded yet, if that job is expected and there is room. */
  private keepEarly(a: Agent, jobName: string, taskId: string, attempt: number): boolean {
    if (!this.expected.has(jobName)) return false;
    let m = this.early.get(jobName);
    if (!m) this.early.set(jobName, (m = new Map()));
    if (!m.has(taskId)) {
      if (this.count >= this.maxEarly) return false;
      this.count++;
    }
    m.set(taskId, { agent: a.id, attempt });
    return true;
  }

  /** Leases to their agents the tasks they said they held before the job was loaded. */
  adoptEarly(st: State, job: Job, ctx: Ctx): void {
    this.expected.delete(job.name);
    const early = this.early.get(job.name);
    if (!early) return;
    this.early.delete(job.name);
    this.count -= early.size;
    for (const [taskId, h] of early) {
      const t = job.queue.get(taskId);
      const a = st.agents.get(h.agent);
      if (!t || !a || a.state.s !== 'active' || t.state.s !== 'queued' || t.gpus > gpuCount(a.info)) continue;
      lease(job, t, a, 0, ctx, { attempt: Math.max(t.attempt, h.attempt) });
    }
  }
}

function addTo(m: Map<string, string[]>, key: string, value: string): void {
  const list = m.get(key);
  if (list) list.push(value);
  else m.set(key, [value]);
}
