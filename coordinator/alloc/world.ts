/** What the allocation core is told at each tick: the queued work, the agents, and what Slurm says of its jobs. */

import type { AgentView, JobDemand } from '../scheduler/index.js';

export type { AgentView, JobDemand };

export interface World {
  jobs: readonly JobDemand[];
  agents: readonly AgentView[];
}

/** A Slurm job as squeue or scontrol shows it. */
export interface SlurmJobView {
  /** PENDING, RUNNING, COMPLETED, FAILED, CANCELLED, TIMEOUT, ... */
  state: string;
  /** Slurm's reason (squeue %r, scontrol Reason), '' or 'None' when none. */
  reason: string;
  exitCode?: string;
}

/** Slurm job states of jobs that will not run any more. */
export const SLURM_ENDED = new Set(['COMPLETED', 'FAILED', 'CANCELLED', 'TIMEOUT', 'NODE_FAIL', 'BOOT_FAIL', 'OUT_OF_MEMORY', 'DEADLINE', 'PREEMPTED', 'REVOKED', 'SPECIAL_EXIT']);

/**
 * Pending reasons that waiting does not clear: the request itself is wrong for the cluster
 * (a limit of the partition, account or QOS, an unknown one). An allocation pending for one of
 * these has failed.
 */
export const SLURM_NEVER_STARTS = new Set([
  'PartitionTimeLimit',
  'PartitionNodeLimit',
  'PartitionConfig',
  'InvalidAccount',
  'InvalidQOS',
  'AccountNotAllowed',
  'QOSNotAllowed',
  'BadConstraints',
  'QOSMaxWallDurationPerJobLimit',
  'AssocMaxWallDurationPerJobLimit',
  'QOSMaxNodePerJobLimit',
  'AssocMaxNodesPerJobLimit',
  'DependencyNeverSatisfied',
]);
