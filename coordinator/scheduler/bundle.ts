/**
 * Bundle sizing: which queued tasks of one job go to an agent together. A bundle holds about
 * dispatchMs of measured work (never more than a fair share of what is left), fits the agent's
 * memory, free GPUs and the dispatch's bytes, and runs one multi-threaded task alone. Tasks
 * that need GPUs share a bundle only with tasks needing as many: the bundle holds that many
 * GPUs while it runs, its tasks one after the other. Too big a task is split first, as its own
 * step, before the scan looks at it.
 */
import { ErrorCode } from '../../src/errors.js';
import type { Agent } from './agents.js';
import type { Ctx } from './commands.js';
import { secondsPerCost, type Job } from './job.js';
import type { Verdict } from './job-queue.js';
import { fail, lease } from './leases.js';
import { shouldSplit, splitTask } from './split.js';
import type { State } from './state.js';
import type { Task } from './task-state.js';

/** Fixed per-task overhead assumed when sizing bundles (framework time not in `ms`). */
const TASK_OVERHEAD_S = 5e-6;
/** Bundle size while a job has neither a measurement nor its kind's estimate of speed. */
const INITIAL_BUNDLE_TASKS = 1;
/** How far past the queue head one pull looks for a task that fits the agent. */
const MAX_SCAN = 512;

/** A bundle taken: its tasks (leased already), and what it uses of the dispatch. */
export interface TakenBundle {
  tasks: Task[];
  threads: number;
  bytes: number;
  memory: number;
  /** GPUs it holds while it runs (0: none). */
  gpus: number;
  /** Expected seconds of work; null while the job's speed is unknown. */
  seconds: number | null;
}

/** How much one bundle of the job may hold: seconds of expected work, and tasks. */
export interface BundleBudget {
  seconds: number;
  maxTasks: number;
}

/** Cost budget of one bundle: about dispatchMs of measured work, never more than a fair share of what is left. */
export function bundleBudget(st: State, job: Job): BundleBudget {
  if (typeof job.opts.granularity === 'number') return { seconds: Infinity, maxTasks: job.opts.granularity };
  const slots = Math.max(1, st.agents.activeSlots);
  const spc = secondsPerCost(job);
  if (spc === null) return { seconds: Infinity, maxTasks: INITIAL_BUNDLE_TASKS };
  const q = job.queue;
  const fairSeconds = (q.queuedCost * spc + q.counts.queued * TASK_OVERHEAD_S) / (2 * slots);
  return { seconds: Math.min(st.opts.dispatchMs / 1000, fairSeconds), maxTasks: st.opts.maxBundleTasks };
}

/** What is left of an agent's pull for the next bundle: memory (bytes), GPUs, and bytes of the dispatch. */
export interface Room {
  memory: number;
  gpus: number;
  bytes: number;
}

/**
 * Takes the next bundle of queued tasks of `job` that fit agent `a` (in `room`, what its pull
 * has left) and leases them to it under dispatch `seq` at once, so no later scan in the same
 * pull can take them again. Null when none fits.
 */
export function takeBundle(st: State, job: Job, a: Agent, seq: number, room: Room, ctx: Ctx): TakenBundle | null {
  const scan = new BundleScan(st, job, a, seq, room, ctx);
  // Requeued tasks first (they have waited longest), then the largest-first queue.
  job.queue.scanRetries((t) => (scan.full || scan.scanned >= MAX_SCAN ? 'stop' : scan.visit(t)));
  if (!scan.full) {
    const limit = MAX_SCAN + scan.budget.maxTasks;
    const slots = st.agents.activeSlots;
    const splits = job.opts.split !== undefined && scan.spc > 0 && scan.budget.seconds !== Infinity;
    job.queue.scanOrder(
      () => !scan.full && scan.scanned < limit,
      (t) => scan.visit(t),
      splits ? (t) => shouldSplit(job, t, scan.spc, slots, st.opts) && splitTask(job, t, slots, ctx) !== null : undefined,
    );
  }
  return scan.result();
}

/** One bundle being gathered: what it holds so far against its budget. */
class BundleScan {
  readonly budget: BundleBudget;
  /** Seconds per cost unit: measured, else the kind's estimate, else 0 (unknown). */
  readonly spc: number;
  private readonly known: boolean;
  /** The only agent with slots: it takes even the tasks that failed on it before. */
  private readonly soleAgent: boolean;
  private readonly tasks: Task[] = [];
  private seconds = 0;
  private bytes = 0;
  private memoryUsed = 0;
  private threads = 1;
  private gpus = 0;
  scanned = 0;
  full = false;

  constructor(
    private readonly st: State,
    private readonly job: Job,
    private readonly a: Agent,
    private readonly seq: number,
    private readonly room: Room,
    private readonly ctx: Ctx,
  ) {
    this.budget = bundleBudget(st, job);
    const spc = secondsPerCost(job);
    this.known = spc !== null;
    this.spc = spc ?? 0;
    this.soleAgent = st.agents.activeSlots <= a.info.slots;
  }

  /** Looks at one queued task; takes it when it fits. */
  visit(t: Task): Verdict {
    const v = this.consider(t);
    if (v === 'take') this.take(t);
    else if (v === 'stop') this.full = true;
    return v;
  }

  /** 'take', 'skip' (leave it for another agent), 'stop' (the bundle is full) or 'gone' (no longer queued). */
  private consider(t: Task): Verdict {
    if (t.state.s !== 'queued') return 'gone';
    this.scanned++;
    if (t.avoid === this.a.id && !this.soleAgent) return 'skip';
    const r = this.fits(t);
    if (r === 'never') return 'gone';
    if (r === 'no' || endsBefore(this.a, t, this.spc, this.ctx.now)) return 'skip';
    const n = this.tasks.length;
    if (n > 0 && t.gpus !== this.gpus) return 'stop';
    if (t.threads > 1) return n > 0 ? 'stop' : 'take';
    if (n > 0 && (this.seconds + t.cost * this.spc > this.budget.seconds || this.bytes + t.bytes > this.room.bytes)) return 'stop';
    return 'take';
  }

  private take(t: Task): void {
    lease(this.job, t, this.a, this.seq, this.ctx);
    this.tasks.push(t);
    this.seconds += t.cost * this.spc + TASK_OVERHEAD_S;
    this.bytes += t.bytes;
    this.memoryUsed += t.memory;
    this.gpus = t.gpus;
    // A task asking for more threads than the agent has runs with what it has.
    this.threads = Math.min(t.threads, this.a.info.slots);
    this.full = t.threads > 1 || this.tasks.length >= this.budget.maxTasks;
  }

  /**
   * Whether task `t` fits the agent now ('yes'), later ('no'), or on no agent at all ('never':
   * it is failed here with an error row saying why).
   */
  private fits(t: Task): 'yes' | 'no' | 'never' {
    if (t.gpus > 0) {
      const most = this.st.agents.largestGpus();
      if (t.gpus > most) {
        const why = `task needs ${t.gpus} GPU${t.gpus === 1 ? '' : 's'}; the agent with the most GPUs that joined has ${most} (give agents GPUs with nvidia-smi on PATH or agent --gpus LIST, or ask fewer with --gpus)`;
        fail(this.job, t, { code: ErrorCode.Unschedulable, message: why }, this.ctx);
        return 'never';
      }
      // The bundle's GPUs are taken with its first task; the others use them in turn.
      if (this.tasks.length === 0 && t.gpus > this.room.gpus) return 'no';
    }
    if (t.memory <= this.room.memory - this.memoryUsed || t.memory === 0) return 'yes';
    const maxMem = this.st.agents.largestMemory();
    if (t.memory <= maxMem) return 'no';
    const why = `task needs ${(t.memory / 2 ** 20).toFixed(0)} MiB of memory; the largest agent allows ${(maxMem / 2 ** 20).toFixed(0)} MiB`;
    fail(this.job, t, { code: ErrorCode.Unschedulable, message: why }, this.ctx);
    return 'never';
  }

  result(): TakenBundle | null {
    if (this.tasks.length === 0) return null;
    return { tasks: this.tasks, threads: this.threads, bytes: this.bytes, memory: this.memoryUsed, gpus: this.gpus, seconds: this.known ? this.seconds : null };
  }
}

/** Whether the agent's allocation (Slurm walltime) ends before the task is expected to finish. */
function endsBefore(a: Agent, t: Task, spc: number, now: number): boolean {
  const end = a.info.slurm?.endTime;
  if (end === undefined || spc <= 0) return false;
  return now + t.cost * spc * 1000 > end;
}
