/**
 * The decision: how many allocations a queue submits now, and whether its pending ones are no
 * longer wanted. Pure: the queued work, the agents and the queue's allocations in, a number and
 * the reason out.
 *
 * The work is counted in slot-seconds: each queued task's slots times its expected seconds (a
 * task of unknown length counts as taking a slot for a whole allocation). What can do it within
 * one allocation's usable time (its walltime less the agents' drain-before) is the active
 * agents' slots over the time they have left, plus the slots the queue's allocations that have
 * not started yet will bring. Only the remainder asks for more allocations, and never beyond
 * --max-jobs, --max-workers-total, or for tasks that fit on idle agents or that no allocation
 * of the queue could run. Until one of the queue's allocations has started (its agents joined),
 * and again after a failure, it submits one at a time.
 */
import type { AllocQueueSpec } from '../../protocol/index.js';
import type { AgentView, JobDemand, World } from './world.js';

/** What the decision needs to know of the queue besides its spec. */
export interface QueueFacts {
  /** Allocations submitted and not ended, and those of them not started (no agent joined yet). */
  live: number;
  waiting: number;
  /** Slurm job ids of its live allocations (their agents are its agents). */
  slurmJobs: ReadonlySet<string>;
  /** Slots one of its agents has (from --cpus-per-node, or the agents that joined); null: none known. */
  slotsPerNode: number | null;
  paused: boolean;
  /**
   * Whether one of its allocations has started (its agents joined) since the queue was added
   * or since its last failure. Until then it submits one at a time: an sbatch, a script or a
   * network that does not work costs one allocation, not --max-jobs.
   */
  started: boolean;
  failuresInRow: number;
  /** When its last allocation failed (epoch ms). */
  lastFailureAt: number | null;
}

export interface Decision {
  /** Allocations to submit now. */
  submit: number;
  /** Cancel the allocations that have not started: no queued work is left for them. */
  cancelWaiting: boolean;
  /** Why, in a line for status. */
  reason: string;
  /** Jobs no allocation of the queue could serve → why. */
  unservable: Map<string, string>;
}

/** Seconds an allocation can run tasks: its walltime less the agents' drain before it. */
export function usableSeconds(spec: AllocQueueSpec): number {
  return Math.max(0, spec.walltimeS - spec.drainBeforeS);
}

/** Most nodes the queue's allocations may hold at once. */
export function maxNodes(spec: AllocQueueSpec): number {
  return spec.maxWorkersTotal ?? spec.maxJobs * spec.nodes;
}

/** After a failure, the queue waits before submitting again: 10 s, doubling per failure in a row, at most 5 minutes. */
export function backoffMs(failuresInRow: number): number {
  return failuresInRow <= 0 ? 0 : Math.min(300_000, 10_000 * 2 ** (failuresInRow - 1));
}

/** Why no allocation of the queue could run the job's tasks, or null when one could. */
export function unservable(j: JobDemand, spec: AllocQueueSpec, slotsPerNode: number | null): string | null {
  const usable = usableSeconds(spec);
  const limit = `an allocation runs tasks for ${usable} s (--walltime ${spec.walltimeS} s less --drain-before ${spec.drainBeforeS} s)`;
  if (j.timeoutS > usable) return `its tasks may run ${j.timeoutS} s (--timeout), and ${limit}`;
  if (j.timeoutS === 0 && j.taskSeconds !== null && j.taskSeconds > usable) return `its tasks are expected to run ${Math.round(j.taskSeconds)} s each, and ${limit}`;
  const gpus = spec.gpusPerNode ?? 0;
  if (j.gpus > gpus) return `its tasks need ${j.gpus} GPUs each, and the queue's nodes have ${gpus} (--gpus-per-node)`;
  if (slotsPerNode !== null && j.threads > slotsPerNode) return `its tasks need ${j.threads} slots each (--threads), and the queue's nodes give an agent ${slotsPerNode}`;
  if (spec.memPerNode !== undefined && j.memory > spec.memPerNode) return `its tasks need ${gib(j.memory)} GiB each, and the queue's nodes give ${gib(spec.memPerNode)} GiB (--mem-per-node)`;
  if (j.needsCommand && !spec.agentArgs.includes('--allow-command')) return "its kind runs commands, and the queue's agents are not started with --allow-command (add it with --agent-args)";
  return null;
}

const gib = (b: number): string => (b / 2 ** 30).toFixed(1);

/** The decision for one queue at `now`. */
export function decide(spec: AllocQueueSpec, q: QueueFacts, w: World, now: number): Decision {
  const usable = usableSeconds(spec);
  const perNode = q.slotsPerNode ?? 1;
  const unserv = new Map<string, string>();
  let slotNeed = 0;
  let work = 0;
  for (const j of w.jobs) {
    if (j.queued <= 0) continue;
    const why = unservable(j, spec, q.slotsPerNode);
    if (why !== null) {
      unserv.set(j.job, why);
      continue;
    }
    slotNeed += j.queued * j.threads;
    work += j.queued * j.threads * (j.taskSeconds ?? usable);
  }
  const none = (reason: string, cancelWaiting = false): Decision => ({ submit: 0, cancelWaiting, reason, unservable: unserv });
  if (slotNeed === 0) {
    const why = unserv.size > 0 ? `no queued task an allocation could run (${unserv.size} job(s) it cannot serve)` : 'no queued tasks';
    return none(q.waiting > 0 ? `${why}: allocations not started are cancelled` : why, q.waiting > 0);
  }
  let idleSlots = 0;
  let agentCapacity = 0;
  for (const a of w.agents) {
    if (!a.active) continue;
    idleSlots += Math.max(0, a.slots - a.busy);
    agentCapacity += a.slots * remaining(a, spec, now);
  }
  if (slotNeed <= idleSlots) return none(`${slotNeed} queued slot(s) fit on ${idleSlots} idle slot(s) of agents`);
  if (q.paused) return none('paused');
  const waitCapacity = q.waiting * spec.nodes * perNode * usable;
  const deficit = work - agentCapacity - waitCapacity;
  if (deficit <= 0) return none(`${Math.round(work)} slot-seconds queued; agents and ${q.waiting} allocation(s) not started yet can do them within ${usable} s`);
  const wanted = Math.ceil(deficit / (spec.nodes * perNode * usable));
  const agentsOfQueue = w.agents.filter((a) => a.present && a.slurmJob !== null && q.slurmJobs.has(a.slurmJob)).length;
  const nodesHeld = Math.max(agentsOfQueue, 0) + q.waiting * spec.nodes;
  const byJobs = spec.maxJobs - q.live;
  const byNodes = Math.floor((maxNodes(spec) - nodesHeld) / spec.nodes);
  const room = Math.min(byJobs, byNodes);
  const need = `${Math.round(deficit)} slot-seconds more than agents and allocations not started can do within ${usable} s`;
  if (room <= 0) return none(`${need}; at the limit (${byJobs <= 0 ? `--max-jobs ${spec.maxJobs}` : `--max-workers-total ${maxNodes(spec)}`})`);
  if (q.failuresInRow > 0) {
    if (q.waiting > 0) return none(`${need}; after a failed allocation, one at a time until one starts`);
    const wait = (q.lastFailureAt ?? now) + backoffMs(q.failuresInRow) - now;
    if (wait > 0) return none(`${need}; waiting ${Math.ceil(wait / 1000)} s after ${q.failuresInRow} failed allocation(s) in a row`);
    return { submit: 1, cancelWaiting: false, reason: `${need}: submitting 1 (after ${q.failuresInRow} failed)`, unservable: unserv };
  }
  if (!q.started) {
    if (q.live > 0) return none(`${need}; one allocation at a time until one has started`);
    return { submit: 1, cancelWaiting: false, reason: `${need}: submitting 1 (one at a time until one has started)`, unservable: unserv };
  }
  const submit = Math.min(wanted, room);
  return { submit, cancelWaiting: false, reason: `${need}: submitting ${submit}`, unservable: unserv };
}

/** Seconds of usable time an agent has left within the horizon. */
function remaining(a: AgentView, spec: AllocQueueSpec, now: number): number {
  const usable = usableSeconds(spec);
  if (a.endsAt === null) return usable;
  return Math.max(0, Math.min(usable, (a.endsAt - now) / 1000 - spec.drainBeforeS));
}
