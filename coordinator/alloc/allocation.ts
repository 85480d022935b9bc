/**
 * One allocation (a Slurm job whose agents join this coordinator) as its queue knows it: named
 * states and the table of allowed moves. Terminal states stay for status until forgotten.
 */
import type { AllocationStateName, AllocationStatus } from '../../protocol/index.js';
import { IllegalMoveError } from '../../src/errors.js';

/**
 * The allowed moves. sbatch answers (→ pending) or fails (→ failed); Slurm starts it (→ running)
 * or it never can (→ failed); a pending one is cancelled when the queue empties; a running one
 * ends when its agents drained and its script exited, or fails (agents never joined, the job
 * failed before any did).
 */
export const ALLOCATION_TRANSITIONS: Readonly<Record<AllocationStateName, readonly AllocationStateName[]>> = {
  submitting: ['pending', 'failed', 'cancelled'],
  pending: ['running', 'ended', 'failed', 'cancelled'],
  running: ['ended', 'failed', 'cancelled'],
  ended: [],
  failed: [],
  cancelled: [],
};

export interface Allocation {
  readonly id: string;
  readonly nodes: number;
  readonly submittedAt: number;
  /** Changed only through `moveAllocation`. */
  state: AllocationStateName;
  since: number;
  slurmJob: string | null;
  /** Why it failed or was cancelled; Slurm's reason while pending. */
  reason: string | null;
  /** When Slurm first showed it running. */
  startedAt: number | null;
  /** Agents that joined from it, ever; and those present now. */
  readonly agents: Set<string>;
  present: number;
  joinedAt: number | null;
  leftAt: number | null;
}

export function newAllocation(id: string, nodes: number, now: number): Allocation {
  return { id, nodes, submittedAt: now, state: 'submitting', since: now, slurmJob: null, reason: null, startedAt: null, agents: new Set(), present: 0, joinedAt: null, leftAt: null };
}

/** Moves an allocation through the table; a move not in it throws. */
export function moveAllocation(a: Allocation, to: AllocationStateName, now: number, reason?: string): void {
  if (!ALLOCATION_TRANSITIONS[a.state].includes(to)) throw new IllegalMoveError(`allocation ${a.id}`, a.state, to);
  a.state = to;
  a.since = now;
  if (to === 'running' && a.startedAt === null) a.startedAt = now;
  if (reason !== undefined) a.reason = reason;
}

/** Still taking a place in the queue: submitted and not ended. */
export function live(a: Allocation): boolean {
  return a.state === 'submitting' || a.state === 'pending' || a.state === 'running';
}

/** Not started yet: its nodes are promised, not here. */
export function waiting(a: Allocation): boolean {
  return a.state === 'submitting' || a.state === 'pending' || (a.state === 'running' && a.joinedAt === null);
}

export function allocationStatus(a: Allocation): AllocationStatus {
  return {
    id: a.id,
    ...(a.slurmJob !== null ? { slurmJob: a.slurmJob } : {}),
    state: a.state,
    since: a.since,
    submittedAt: a.submittedAt,
    ...(a.reason !== null ? { reason: a.reason } : {}),
    agents: [...a.agents],
    ...(a.joinedAt !== null ? { joinedAt: a.joinedAt } : {}),
    ...(a.leftAt !== null ? { leftAt: a.leftAt } : {}),
  };
}
