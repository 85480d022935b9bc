/**
 * Every message on the bus, as TypeBox schemas (runtime validation) with the static types
 * derived from them. Messages are unions tagged by a string `kind`; names say the direction.
 *
 * Kind-specific payloads (`params`, `ref`) are `unknown` here: the kind validates them.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { Count, ErrorReplySchema, Id, InterpreterMemorySchema, Num, V, WireErrorSchema } from './fields.js';
import { CtlReplySchema, CtlRequestSchema, EventSchema } from './control.js';

export { ErrorReplySchema, InterpreterMemorySchema, WireErrorSchema, type ErrorReply, type InterpreterMemory } from './fields.js';

// ───────────────────────── Agent → Coordinator ─────────────────────────

/** One GPU of a node: its index (as CUDA_VISIBLE_DEVICES names it), its UUID and memory (bytes) when known. */
export const GpuSchema = Type.Object({
  index: Type.Integer({ minimum: 0, maximum: 65535 }),
  uuid: Type.Optional(Type.String({ maxLength: 128 })),
  memory: Type.Optional(Num),
});
export type Gpu = Static<typeof GpuSchema>;

export const AgentInfoSchema = Type.Object({
  host: Type.String({ maxLength: 256 }),
  pid: Count,
  /** Worker slots the agent runs. */
  slots: Type.Integer({ minimum: 1, maximum: 4096 }),
  cpus: Type.Object({ logical: Count, physical: Count, usable: Count }),
  /** Bytes: total on the node, available now, and the limit that applies (least of node, cgroup, --memory). */
  memory: Type.Object({ total: Num, available: Num, limit: Num }),
  slurm: Type.Optional(
    Type.Object({
      jobId: Type.Optional(Type.String()),
      node: Type.Optional(Type.String()),
      cpusOnNode: Type.Optional(Count),
      memPerNode: Type.Optional(Num),
      /** Epoch ms when the Slurm job's walltime ends. */
      endTime: Type.Optional(Num),
    }),
  ),
  spot: Type.Boolean(),
  allowCommand: Type.Boolean(),
  /** Kinds this agent can run beyond the built-in ones (handler modules). */
  kinds: Type.Array(Type.String({ maxLength: 128 }), { maxItems: 256 }),
  /** The GPUs tasks may be given (absent from older agents: none). */
  gpus: Type.Optional(Type.Array(GpuSchema, { maxItems: 1024 })),
  /** The version of `python3` on its PATH, what python tasks get by default (absent: none, or not asked). */
  python: Type.Optional(Type.String({ maxLength: 64 })),
});
export type AgentInfo = Static<typeof AgentInfoSchema>;

/** A task an agent still holds (running, queued locally, or result not yet acked). */
export const HeldTaskSchema = Type.Tuple([Id, Id, Count]);
export type HeldTask = Static<typeof HeldTaskSchema>;

export const HelloSchema = Type.Object({
  kind: Type.Literal('hello'),
  v: V,
  agent: Id,
  info: AgentInfoSchema,
  /** Bounded so a hello cannot grow the coordinator without limit (max_payload bounds it further). */
  held: Type.Array(HeldTaskSchema, { maxItems: 1 << 20 }),
});
export type Hello = Static<typeof HelloSchema>;

/** A task failure or hand-back the agent reports with its next pull. */
export const TaskReportSchema = Type.Object({
  job: Id,
  id: Id,
  attempt: Count,
  /** Present for a failure; absent for a hand-back (drain, pressure) that costs no attempt. */
  error: Type.Optional(WireErrorSchema),
});
export type TaskReport = Static<typeof TaskReportSchema>;

export const PullSchema = Type.Object({
  kind: Type.Literal('pull'),
  v: V,
  agent: Id,
  epoch: Count,
  /** The last dispatch sequence number this agent received (lost replies are detected by gaps). */
  seq: Count,
  /** How many bundles the agent can take now (free slots + prefetch). */
  want: Count,
  /** Slots free right now (for threads > 1 tasks). */
  freeSlots: Count,
  /** Bytes of memory free for new tasks. */
  memory: Num,
  /** GPUs free for new tasks (absent: none). */
  freeGpus: Type.Optional(Count),
  /** How long the coordinator may hold the request when there is no work. */
  waitMs: Count,
  reports: Type.Array(TaskReportSchema),
  /**
   * Set when the agent sends reports while another pull of its own is still waiting: its `seq`
   * may lag a dispatch already on its way, so the coordinator must not judge lost dispatches by
   * it, and the waiting pull stays parked.
   */
  reportsOnly: Type.Optional(Type.Boolean()),
});
export type Pull = Static<typeof PullSchema>;

export const HeartbeatSchema = Type.Object({
  kind: Type.Literal('heartbeat'),
  v: V,
  agent: Id,
  epoch: Count,
  busySlots: Count,
  memory: Num,
  /** GPUs held by running tasks (absent: none). */
  busyGpus: Type.Optional(Count),
  /** `left`: the agent's last heartbeat, sent as it exits after a drain (it holds no task). */
  state: Type.Union([Type.Literal('active'), Type.Literal('draining'), Type.Literal('paused'), Type.Literal('left')]),
  done: Count,
  /** Its interpreters' memory, per job (absent: none live, or an agent that does not measure them). */
  interpreters: Type.Optional(Type.Array(InterpreterMemorySchema, { maxItems: 4096 })),
});
export type Heartbeat = Static<typeof HeartbeatSchema>;

// ───────────────────────── Coordinator → Agent ─────────────────────────

/** Who a coordinator is: told in welcomes and namespace claims, so a conflict names both. */
export const CoordinatorIdSchema = Type.Object({
  /** Changes when the coordinator restarts. */
  boot: Id,
  host: Type.String({ maxLength: 256 }),
  pid: Count,
  /** Epoch ms when it started. */
  since: Num,
  outDir: Type.String({ maxLength: 4096 }),
});
export type CoordinatorId = Static<typeof CoordinatorIdSchema>;

/** One line naming a coordinator (for refusals that name the other one): pid, host, since when, out dir. */
export function describeCoordinator(c: CoordinatorId): string {
  return `pid ${c.pid} on ${c.host} since ${new Date(c.since).toISOString()} (out dir ${c.outDir})`;
}

export const WelcomeSchema = Type.Object({
  kind: Type.Literal('welcome'),
  v: V,
  agent: Id,
  epoch: Count,
  /** Changes when the coordinator restarts. */
  boot: Id,
  heartbeatMs: Count,
  /** The dispatch sequence number the agent continues from. */
  seq: Count,
  coordinator: CoordinatorIdSchema,
});
export type Welcome = Static<typeof WelcomeSchema>;

export const HelloReplySchema = Type.Union([WelcomeSchema, ErrorReplySchema]);
export type HelloReply = Static<typeof HelloReplySchema>;

export const TaskMsgSchema = Type.Object({
  id: Id,
  attempt: Type.Integer({ minimum: 1 }),
  cost: Num,
  /** The last attempt allowed: a failure now is final and the agent writes the error row. */
  final: Type.Boolean(),
  ref: Type.Unknown(),
});
export type TaskMsg = Static<typeof TaskMsgSchema>;

export const BundleSchema = Type.Object({
  job: Id,
  threads: Type.Integer({ minimum: 1 }),
  /** GPUs the bundle holds while it runs (each of its tasks gets them in turn); absent: none. */
  gpus: Type.Optional(Type.Integer({ minimum: 1, maximum: 1024 })),
  tasks: Type.Array(TaskMsgSchema, { minItems: 1 }),
});
export type Bundle = Static<typeof BundleSchema>;

export const JobInfoSchema = Type.Object({ job: Id, kind: Id, params: Type.Unknown() });
export type JobInfo = Static<typeof JobInfoSchema>;

export const DispatchSchema = Type.Object({
  kind: Type.Literal('dispatch'),
  v: V,
  seq: Count,
  jobs: Type.Array(JobInfoSchema),
  bundles: Type.Array(BundleSchema),
});
export type Dispatch = Static<typeof DispatchSchema>;

/** The coordinator does not know this agent (restart or lost): say hello again. */
export const RejoinSchema = Type.Object({ kind: Type.Literal('rejoin'), v: V, reason: Type.String() });
export type Rejoin = Static<typeof RejoinSchema>;

export const PullReplySchema = Type.Union([DispatchSchema, RejoinSchema, ErrorReplySchema]);
export type PullReply = Static<typeof PullReplySchema>;

export const AgentCmdSchema = Type.Union([
  Type.Object({
    kind: Type.Literal('abort'),
    v: V,
    job: Id,
    /** Absent: every task of the job. */
    tasks: Type.Optional(Type.Array(Id)),
    reason: Type.String(),
  }),
  Type.Object({ kind: Type.Literal('drain'), v: V, graceMs: Type.Optional(Count) }),
  /**
   * Join again now: the coordinator heard a heartbeat from an agent it does not know (it was
   * restarted, or took the agent for lost), so a pull the agent has in flight will not be answered.
   */
  Type.Object({ kind: Type.Literal('rejoin'), v: V, reason: Type.String() }),
]);
export type AgentCmd = Static<typeof AgentCmdSchema>;

// ───────────────────────── Agent → Sink ─────────────────────────

/**
 * The results of some tasks of one job, in columns (one entry per task) so a batch of
 * thousands of tasks is a handful of arrays, not thousands of objects. `text` holds every
 * task's rendered JSONL lines back to back; task i's lines end at character `ends[i]`.
 * `status[i]` is 'o' (ok) or 'e' (error).
 */
export const ResultGroupSchema = Type.Object({
  job: Id,
  ids: Type.Array(Id),
  attempts: Type.Array(Count),
  status: Type.String({ pattern: '^[oe]*$' }),
  /** Milliseconds each task ran (for throughput measurement). */
  ms: Type.Array(Num),
  ends: Type.Array(Count),
  text: Type.String(),
});
export type ResultGroup = Static<typeof ResultGroupSchema>;

export const ResultBatchSchema = Type.Object({
  kind: Type.Literal('results'),
  v: V,
  from: Id,
  seq: Count,
  groups: Type.Array(ResultGroupSchema),
});
export type ResultBatch = Static<typeof ResultBatchSchema>;

/**
 * The most characters one task's rows may take: what fits in one result batch on a bus of
 * `maxPayload` bytes with room for the batch's other fields. Agents turn a larger result into
 * an E_TOO_LARGE error row; the sink refuses one that is larger anyway.
 */
export function maxResultText(maxPayload: number): number {
  return Math.floor(maxPayload * 0.7) - 1024;
}

export const AckSchema = Type.Object({
  kind: Type.Literal('ack'),
  v: V,
  seq: Count,
  written: Count,
  duplicates: Count,
  /** Tasks the sender holds no lease on (or of jobs already closed): dropped, not written. */
  refused: Count,
});
export type Ack = Static<typeof AckSchema>;
export const AckReplySchema = Type.Union([AckSchema, ErrorReplySchema]);
export type AckReply = Static<typeof AckReplySchema>;

// ───────────────────────── Sink → Coordinator (in process) ─────────────────────────

/**
 * Tasks of one job the sink committed (durably written) from one sender's results, in
 * columns as in ResultGroup. The sink lives in the coordinator's process and hands these to
 * it directly: they never cross the bus.
 */
export interface CommitGroup {
  job: string;
  /** The agent whose result was kept. */
  from: string;
  ids: string[];
  /** 'o' or 'e' per task: 'e' when any of its records is an error row. */
  status: string;
  attempts: number[];
  /** Task run time. */
  ms: number[];
  /** Error records among the tasks' rows (a multi-record task may have several). */
  errorRecords: number;
}

// ───────────────────────── Coordinator ↔ Coordinator ─────────────────────────

/** A coordinator starting on a namespace asks who owns it; the owner answers with `owner`. */
export const OwnerClaimSchema = Type.Object({ kind: Type.Literal('claim'), v: V, claimant: CoordinatorIdSchema });
export type OwnerClaim = Static<typeof OwnerClaimSchema>;
export const OwnerReplySchema = Type.Union([Type.Object({ kind: Type.Literal('owner'), v: V, owner: CoordinatorIdSchema }), ErrorReplySchema]);
export type OwnerReply = Static<typeof OwnerReplySchema>;

/** Every schema by name, for the validator cache and for tests that fuzz each subject. */
export const Schemas = {
  Hello: HelloSchema,
  HelloReply: HelloReplySchema,
  Pull: PullSchema,
  PullReply: PullReplySchema,
  Heartbeat: HeartbeatSchema,
  AgentCmd: AgentCmdSchema,
  ResultBatch: ResultBatchSchema,
  AckReply: AckReplySchema,
  OwnerClaim: OwnerClaimSchema,
  OwnerReply: OwnerReplySchema,
  CtlRequest: CtlRequestSchema,
  CtlReply: CtlReplySchema,
  Event: EventSchema,
} as const satisfies Record<string, TSchema>;
export type SchemaName = keyof typeof Schemas;
