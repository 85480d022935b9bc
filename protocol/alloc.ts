/**
 * Allocation queues (`shoal alloc`): what the operator asks for (a queue's Slurm request and its
 * limits) and what status shows of each queue and its allocations. Part of the control messages
 * (control.ts uses them).
 */
import { Type, type Static } from '@sinclair/typebox';
import { Count, Id, Num } from './fields.js';

const Word = Type.String({ minLength: 1, maxLength: 256 });

/** One allocation queue: each allocation is a Slurm job of `nodes` nodes running one agent per node. */
export const AllocQueueSpecSchema = Type.Object({
  /** The resource manager (only Slurm). */
  manager: Type.Literal('slurm'),
  /** Most allocations at once (submitted, pending or running). */
  maxJobs: Type.Integer({ minimum: 1, maximum: 1000 }),
  /** Nodes per allocation (one agent per node). */
  nodes: Type.Integer({ minimum: 1, maximum: 10000 }),
  /** Each allocation's walltime, seconds (sbatch --time). */
  walltimeS: Type.Integer({ minimum: 60, maximum: 366 * 86400 }),
  partition: Type.Optional(Word),
  account: Type.Optional(Word),
  qos: Type.Optional(Word),
  gpusPerNode: Type.Optional(Type.Integer({ minimum: 0, maximum: 64 })),
  /** CPUs each node gives an agent (sbatch --cpus-per-task): its slots; absent: learnt from the first agents that join. */
  cpusPerNode: Type.Optional(Type.Integer({ minimum: 1, maximum: 4096 })),
  /** Memory each node gives (bytes; sbatch --mem); absent: tasks' memory is not checked before agents join. */
  memPerNode: Type.Optional(Num),
  /** More sbatch arguments, as given. */
  sbatchArgs: Type.Array(Type.String({ maxLength: 1024 }), { maxItems: 64 }),
  /** More agent options (SHOAL_AGENT_ARGS), e.g. --allow-command. */
  agentArgs: Type.Array(Type.String({ maxLength: 1024 }), { maxItems: 64 }),
  /** Most agents this queue's allocations may bring together (absent: maxJobs × nodes). */
  maxWorkersTotal: Type.Optional(Type.Integer({ minimum: 1 })),
  /** An agent of an allocation idle this long drains, and its node is released, seconds. */
  idleTimeoutS: Type.Integer({ minimum: 1 }),
  /** Agents drain this long before the walltime ends, seconds (SHOAL_DRAIN_BEFORE). */
  drainBeforeS: Type.Integer({ minimum: 0 }),
  /** A running allocation none of whose agents joined within this long has failed, seconds. */
  connectTimeoutS: Type.Integer({ minimum: 1 }),
  /** The queue pauses after this many failed allocations in a row. */
  maxFailures: Type.Integer({ minimum: 1, maximum: 1000 }),
  /** The NATS URL the agents use (absent: the coordinator's own). */
  nats: Type.Optional(Type.String({ maxLength: 1024 })),
  /** A name for the queue in status and logs (absent: its id). */
  name: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$' })),
});
export type AllocQueueSpec = Static<typeof AllocQueueSpecSchema>;

export const AllocationStateSchema = Type.Union([
  Type.Literal('submitting'),
  Type.Literal('pending'),
  Type.Literal('running'),
  Type.Literal('ended'),
  Type.Literal('failed'),
  Type.Literal('cancelled'),
]);
export type AllocationStateName = Static<typeof AllocationStateSchema>;

export const AllocationStatusSchema = Type.Object({
  id: Id,
  /** The Slurm job id, once sbatch answered. */
  slurmJob: Type.Optional(Type.String()),
  state: AllocationStateSchema,
  /** When it entered its state (epoch ms). */
  since: Num,
  submittedAt: Num,
  /** Why it failed or was cancelled, or Slurm's reason while pending. */
  reason: Type.Optional(Type.String()),
  /** The agents it brought (ever joined). */
  agents: Type.Array(Id),
  /** When its first agent joined and its last one left (epoch ms). */
  joinedAt: Type.Optional(Num),
  leftAt: Type.Optional(Num),
});
export type AllocationStatus = Static<typeof AllocationStatusSchema>;

export const AllocQueueStatusSchema = Type.Object({
  id: Id,
  state: Type.Union([Type.Literal('active'), Type.Literal('paused')]),
  spec: AllocQueueSpecSchema,
  /** Why it is paused. */
  paused: Type.Optional(Type.String()),
  /** Failed allocations in a row (reset when one's agents join). */
  failuresInRow: Count,
  /** Allocations submitted and failed since the queue was added. */
  submitted: Count,
  failed: Count,
  /** Why the last decision was taken ("3 queued tasks fit on idle agents", "submitted 1: ..."). */
  decision: Type.String(),
  /** Jobs whose tasks no allocation of this queue could run, with why. */
  unservable: Type.Array(Type.String()),
  /** Its live allocations and the latest ended ones. */
  allocations: Type.Array(AllocationStatusSchema),
});
export type AllocQueueStatus = Static<typeof AllocQueueStatusSchema>;

/**
 * A line of `<out-dir>/alloc/allocations.jsonl`, which the coordinator appends each time an
 * allocation's agents join or leave or it ends (the last line of an allocation holds), and
 * `shoal report` reads to mark when each allocation's agents were there.
 */
export const AllocationSpanSchema = Type.Object({
  queue: Type.String(),
  alloc: Id,
  slurmJob: Type.Optional(Type.String()),
  state: AllocationStateSchema,
  agents: Type.Array(Id),
  /** When its first agent joined, and its last one left (epoch ms). */
  joinedAt: Num,
  leftAt: Type.Optional(Num),
});
export type AllocationSpan = Static<typeof AllocationSpanSchema>;

/** Where the allocation spans are, under the coordinator's out dir. */
export const ALLOCATIONS_FILE = 'alloc/allocations.jsonl';
