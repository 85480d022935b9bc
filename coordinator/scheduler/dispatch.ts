/**
 * Dispatch: parked pulls are served bundles from the running jobs until the pull's wants, the
 * dispatch's bytes or the agent's free slots (for long work) are used up. Each bundle comes
 * from the job that `nextJob` picks: the highest priority first, and among equal ones the job
 * with the fewest tasks out (fair share: a small job gets the slots it can use at once, and
 * two large ones get half each).
 */
import type { Bundle, JobInfo } from '../../protocol/index.js';
import type { Agent, ParkedPull } from './agents.js';
import { takeBundle, type TakenBundle } from './bundle.js';
import type { Command, Ctx } from './commands.js';
import { secondsPerCost, taskMsg, type Job } from './job.js';
import { whyNot } from './runnable.js';
import type { State } from './state.js';
import type { Task } from './task-state.js';

/**
 * A number that grows whenever work appears: a job submitted, a stall over, a task back in a
 * queue or a half made. A parked pull served for nothing at one version gets nothing until
 * the next (what else would change its answer, its own free slots, comes with its own events).
 */
function workVersion(st: State): number {
  let v = st.news;
  for (const j of st.running) v += j.queue.enqueued;
  return v;
}

/**
 * Serves parked pulls while there is work, skipping those that found none since it last
 * changed: with a thousand agents parked, each event would otherwise try every one of them.
 */
export function wake(st: State, ctx: Ctx): void {
  if (!st.running.some((j) => j.queue.counts.queued > 0 && j.stalled === null)) return;
  const v = workVersion(st);
  for (const a of [...st.agents.parked()]) {
    if (a.pull && a.state.s === 'active' && a.pull.triedAt !== v) serve(st, a, ctx);
  }
}

/** Fills the agent's parked pull with bundles, if there is work for it. */
export function serve(st: State, a: Agent, ctx: Ctx): void {
  const p = a.pull;
  if (!p || a.state.s !== 'active') return;
  const d = new DispatchFill(p, st.opts.maxDispatchBytes, a.seq + 1);
  // Long bundles (or ones of unknown length) only fill the agent's free slots: prefetching
  // them would hoard work that another agent, or a split, would do sooner. But a job held
  // below its fair share may queue one behind the work a busy agent runs: else a job of short
  // tasks that keeps every slot supplied would starve it (a stage beside its upstream).
  const long = st.opts.dispatchMs / 500;
  let behind = false;
  // Jobs that have nothing more for this pull; whether each one's bundles are long.
  const spent = new Set<Job>();
  const heavy = new Map<Job, boolean>();
  while (!d.full) {
    const job = nextJob(st, a, spent);
    if (job === null) break;
    let h = heavy.get(job);
    if (h === undefined) {
      const spc = secondsPerCost(job);
      const next = job.queue.next();
      h = spc === null || (next !== undefined && next.cost * spc > long);
    }
    const queueBehind = h && d.slots >= p.freeSlots && !behind && job.queue.counts.leased < fairShare(st, job);
    const b = h && d.slots >= p.freeSlots && !queueBehind ? null : takeBundle(st, job, a, d.seq, { memory: d.memory, gpus: d.gpus, bytes: d.byteRoom }, ctx);
    if (!b) {
      spent.add(job);
      continue;
    }
    if (queueBehind) behind = true;
    heavy.set(job, b.seconds === null || b.seconds > long);
    d.add(job, b, a);
  }
  if (d.bundles.length === 0) {
    p.triedAt = workVersion(st);
    return;
  }
  a.seq = d.seq;
  a.freeGpus = d.gpus;
  a.dispatches.set(d.seq, d.taken);
  answer(st, a, d.jobs, d.bundles, ctx.out);
}

/**
 * The job the next bundle comes from: of the running jobs with queued work that the agent may
 * run, the highest priority, then the fewest tasks out (leased), then the earliest started.
 * Jobs found unable to run on the agent join `spent`.
 */
export function nextJob(st: State, a: Agent, spent: Set<Job>): Job | null {
  let best: Job | null = null;
  for (const job of st.running) {
    if (spent.has(job) || job.queue.counts.queued === 0 || job.stalled !== null) continue;
    if (best !== null && (job.priority < best.priority || (job.priority === best.priority && job.queue.counts.leased >= best.queue.counts.leased))) continue;
    if (!mayRun(a, job)) {
      spent.add(job);
      continue;
    }
    best = job;
  }
  return best;
}

/**
 * The slots a job would hold if the running jobs of its priority shared the active ones
 * equally; 0 while no other job of its priority holds any (nothing takes its place, so it has
 * no cause to queue behind its own work).
 */
function fairShare(st: State, job: Job): number {
  let sharing = 0;
  let others = false;
  for (const j of st.running) {
    if (j.priority !== job.priority || j.stalled !== null || j.queue.counts.queued + j.queue.counts.leased === 0) continue;
    sharing++;
    if (j !== job && j.queue.counts.leased > 0) others = true;
  }
  return others ? Math.floor(st.agents.activeSlots / sharing) : 0;
}

/** Answers the agent's parked pull. */
export function answer(st: State, a: Agent, jobs: JobInfo[], bundles: Bundle[], out: Command[]): void {
  if (!a.pull) return;
  out.push({ kind: 'reply-pull', token: a.pull.token, agent: a.id, seq: a.seq, jobs, bundles });
  st.agents.unpark(a);
}

/** Whether the agent may run the job's kind at all (records why not in the job's notes). */
export function mayRun(a: Agent, job: Job): boolean {
  const why = whyNot(a, job);
  if (why !== null) job.notes.add(why);
  return why === null;
}

/** One dispatch being gathered for a pull: its bundles so far against what the pull allows. */
class DispatchFill {
  readonly bundles: Bundle[] = [];
  /** Params of the jobs the agent has not been sent before. */
  readonly jobs: JobInfo[] = [];
  readonly taken: Task[] = [];
  bytes = 0;
  memory: number;
  /** Slots the bundles so far will occupy. */
  slots = 0;
  /** GPUs the pull has free, less those of the bundles so far. */
  gpus: number;

  constructor(
    private readonly pull: ParkedPull,
    private readonly maxBytes: number,
    readonly seq: number,
  ) {
    this.memory = pull.memory;
    this.gpus = pull.freeGpus;
  }

  get full(): boolean {
    return this.bundles.length >= this.pull.want || this.bytes >= this.maxBytes;
  }

  get byteRoom(): number {
    return this.maxBytes - this.bytes;
  }

  add(job: Job, b: TakenBundle, a: Agent): void {
    this.slots += b.threads;
    this.bundles.push({ job: job.name, threads: b.threads, ...(b.gpus > 0 ? { gpus: b.gpus } : {}), tasks: b.tasks.map((t) => taskMsg(t, job)) });
    this.gpus -= b.gpus;
    for (const t of b.tasks) this.taken.push(t);
    this.bytes += b.bytes;
    this.memory -= b.memory;
    if (!a.knows.has(job.name)) {
      a.knows.add(job.name);
      this.jobs.push(job.info);
    }
  }
}
