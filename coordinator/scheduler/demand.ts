/**
 * The queued work and the agents as the allocation queues see them (coordinator/alloc): per
 * running job its queued and running tasks, their expected seconds and what each takes; per
 * agent its Slurm job, slots, busy slots and walltime's end. O(jobs + agents).
 */
import { secondsPerCost } from './job.js';
import type { State } from './state.js';

/** One job's work as the scheduler holds it. */
export interface JobDemand {
  job: string;
  /** Tasks waiting for a slot. */
  queued: number;
  /** Tasks running now. */
  running: number;
  /** Seconds one queued task takes on average (measured, else the kind's estimate); null: unknown. */
  taskSeconds: number | null;
  /** The tasks' time limit (--timeout), seconds; 0: none. */
  timeoutS: number;
  /** Slots, memory (bytes) and GPUs one task takes. */
  threads: number;
  memory: number;
  gpus: number;
  /** Only agents started with --allow-command may run it. */
  needsCommand: boolean;
}

/** One agent as the scheduler knows it. */
export interface AgentView {
  agent: string;
  /** The Slurm job it runs in (its hello said), if any. */
  slurmJob: string | null;
  slots: number;
  busy: number;
  /** Active (not draining, not gone). */
  active: boolean;
  /** Present (active or draining). */
  present: boolean;
  /** When its Slurm job's walltime ends (epoch ms), if known. */
  endsAt: number | null;
}

/** The running jobs' work (a waiting job's tasks are not queued yet: they do not count). */
export function demand(st: State): { jobs: JobDemand[]; agents: AgentView[] } {
  const jobs: JobDemand[] = [];
  for (const job of st.running) {
    const n = job.queue.counts;
    const spc = secondsPerCost(job);
    const p = (job.spec.params ?? {}) as Record<string, unknown>;
    jobs.push({
      job: job.name,
      queued: n.queued,
      running: n.leased,
      taskSeconds: spc !== null && n.queued > 0 ? (job.queue.queuedCost * spc) / n.queued : null,
      timeoutS: num(p.timeoutMs) / 1000,
      threads: Math.max(1, num(p.threads)),
      memory: num(p.memory),
      gpus: num(p.gpus),
      needsCommand: job.opts.needsCommand,
    });
  }
  const agents: AgentView[] = [];
  for (const a of st.agents.values()) {
    const s = a.state.s;
    agents.push({ agent: a.id, slurmJob: a.info.slurm?.jobId ?? null, slots: a.info.slots, busy: a.busy, active: s === 'active', present: s === 'active' || s === 'draining', endsAt: a.info.slurm?.endTime ?? null });
  }
  return { jobs, agents };
}

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : 0);
