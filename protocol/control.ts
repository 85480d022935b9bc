/**
 * What the operator's CLI asks the coordinator (submit, status, cancel, drain), what it answers,
 * and the events it publishes. Part of the message set of messages.ts (its `Schemas` lists them).
 */
import { Type, type Static } from '@sinclair/typebox';
import { Count, ErrorReplySchema, Id, InterpreterMemorySchema, Num, V } from './fields.js';
import { AllocQueueSpecSchema, AllocQueueStatusSchema } from './alloc.js';

/** Job names become file names: letters, digits, '.', '_', '-'; not starting with a dot. */
export const JOB_NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$';
export const JobNameSchema = Type.String({ pattern: JOB_NAME_PATTERN });

/** A job's priority: higher gets free slots first. */
export const PrioritySchema = Type.Integer({ minimum: -1000, maximum: 1000 });

/** A job's use of the result cache. */
export const JobCacheSchema = Type.Object({
  /** The cache's directory (absolute; on a filesystem every coordinator using it sees). */
  dir: Type.String({ minLength: 1, maxLength: 4096 }),
  /** `--cache-key`: counts in every task's key (a version of an external program shoal cannot see). */
  key: Type.Optional(Type.String({ maxLength: 4096 })),
  /** `--no-cache-write`: look up only, store nothing. */
  readOnly: Type.Optional(Type.Boolean()),
});
export type JobCache = Static<typeof JobCacheSchema>;

export const JobSpecSchema = Type.Object({
  job: JobNameSchema,
  kind: Id,
  params: Type.Unknown(),
  /**
   * The output JSONL, inside the coordinator's out dir (a relative path is taken from there);
   * absent: `<out-dir>/<job>.jsonl`.
   */
  out: Type.Optional(Type.String()),
  /** Write to an existing file that does not look like a shoal output (its first line is not a row). */
  force: Type.Optional(Type.Boolean()),
  maxAttempts: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
  /** `auto`, or a fixed number of tasks per dispatch bundle (1 = one task at a time). */
  granularity: Type.Optional(Type.Union([Type.Literal('auto'), Type.Integer({ minimum: 1, maximum: 100000 })])),
  /** Speculative copies of stragglers (default on). */
  speculate: Type.Optional(Type.Boolean()),
  /** Jobs that must end before this one dispatches anything (`--after`). */
  after: Type.Optional(Type.Array(JobNameSchema, { minItems: 1, maxItems: 64 })),
  /** Run after the `after` jobs however they ended (`--after-any`); absent: only when each ended done without failed tasks. */
  afterAny: Type.Optional(Type.Boolean()),
  /** Higher-priority jobs get free slots first (default 0); equal ones share them. */
  priority: Type.Optional(PrioritySchema),
  /** The result cache (`--cache DIR`): tasks found there are written from it, ok rows of the others stored. */
  cache: Type.Optional(JobCacheSchema),
});
export type JobSpec = Static<typeof JobSpecSchema>;

export const CtlRequestSchema = Type.Union([
  Type.Object({ kind: Type.Literal('submit'), v: V, spec: JobSpecSchema }),
  Type.Object({ kind: Type.Literal('status'), v: V, job: Type.Optional(Id) }),
  Type.Object({
    kind: Type.Literal('cancel'),
    v: V,
    job: Id,
    /** Also cancel, transitively, every job fed by this one (`--from`) or waiting for it (`--after`) that has not ended. */
    downstream: Type.Optional(Type.Boolean()),
  }),
  Type.Object({ kind: Type.Literal('drain'), v: V, agent: Id, graceMs: Type.Optional(Count) }),
  Type.Object({ kind: Type.Literal('priority'), v: V, job: Id, priority: PrioritySchema }),
  /** Allocation queues (`shoal alloc`): add one (`spec`), list them, or pause, resume or remove `queue` (its id or name). */
  Type.Object({
    kind: Type.Literal('alloc'),
    v: V,
    op: Type.Union([Type.Literal('add'), Type.Literal('list'), Type.Literal('pause'), Type.Literal('resume'), Type.Literal('remove')]),
    spec: Type.Optional(AllocQueueSpecSchema),
    queue: Type.Optional(Id),
  }),
]);
export type CtlRequest = Static<typeof CtlRequestSchema>;

export const JobStateSchema = Type.Union([
  Type.Literal('expanding'),
  Type.Literal('running'),
  /** Its output cannot be written (disk full, read-only, I/O error): dispatch waits, results wait in the agents' outboxes. */
  Type.Literal('stalled'),
  Type.Literal('done'),
  Type.Literal('failed'),
  Type.Literal('cancelled'),
]);
export type JobState = Static<typeof JobStateSchema>;

export const JobStatusSchema = Type.Object({
  job: Id,
  kind: Id,
  state: JobStateSchema,
  total: Count,
  done: Count,
  failed: Count,
  running: Count,
  queued: Count,
  retried: Count,
  speculated: Count,
  /** Tasks split in two while dispatching (each split adds one to total). */
  split: Type.Optional(Count),
  /**
   * Committed tasks per second: over the recent window while the job runs; once it has ended,
   * its average over the time it ran (tasks committed in this run over end less start), which
   * no longer changes.
   */
  rate: Num,
  /** Seconds until done at the recent rate; null when unknown; 0 once ended. */
  etaS: Type.Union([Num, Type.Null()]),
  startedAt: Num,
  endedAt: Type.Union([Num, Type.Null()]),
  out: Type.String(),
  /** Why some tasks cannot run (e.g. no agent allows command tasks). */
  notes: Type.Array(Type.String()),
  /**
   * While agents are connected and none of them may run the job's kind (no handler for it, or
   * no --allow-command): which kind, what they offer, what to do. Also the first of `notes`.
   */
  unrunnable: Type.Optional(Type.String()),
  /** Error rows among the records of committed tasks (a multi-record task counts each). */
  failedRecords: Type.Optional(Count),
  /** While stalled: why the output cannot be written. */
  stalled: Type.Optional(Type.String()),
  /** A failed job: why (its code could not be loaded, its setup raised); a job cancelled because an upstream job ended badly: which and how. */
  error: Type.Optional(Type.String()),
  /** A job submitted with --after that waits: the upstream jobs that have not ended yet (its state is shown as waiting). */
  waitingFor: Type.Optional(Type.Array(Id)),
  /** Its priority, when not 0. */
  priority: Type.Optional(Num),
  /** A stage (`--from`): the job whose committed rows are its tasks. */
  from: Type.Optional(Id),
  /** The jobs it was submitted after (`--after`), all of them, ended or not. */
  after: Type.Optional(Type.Array(Id)),
  /** A job using the result cache (`--cache`): its tasks found there (written from it) and looked up in vain. */
  cache: Type.Optional(Type.Object({ hits: Count, misses: Count })),
});
export type JobStatus = Static<typeof JobStatusSchema>;

export const AgentStatusSchema = Type.Object({
  agent: Id,
  host: Type.String(),
  /**
   * `active`, `draining`, `left` (drained, then silent holding nothing: gone cleanly) or `lost`
   * (silent past the agent timeout, its tasks requeued). One that left or was lost stays
   * listed for the coordinator's --left-retention or --lost-retention, with `busy` 0.
   */
  state: Type.String(),
  slots: Count,
  busy: Count,
  memory: Num,
  done: Count,
  lastSeenMs: Num,
  spot: Type.Boolean(),
  /** Its GPUs, and how many are free (absent: it has none). */
  gpus: Type.Optional(Count),
  freeGpus: Type.Optional(Count),
  /** Its live interpreters (python kind): their resident memory together (bytes), and per job (absent: none). */
  interpreters: Type.Optional(Type.Object({ count: Count, rss: Num, jobs: Type.Array(InterpreterMemorySchema) })),
  /** The version of `python3` on its PATH (agents started with --allow-command). */
  python: Type.Optional(Type.String()),
});
export type AgentStatus = Static<typeof AgentStatusSchema>;

export const CtlReplySchema = Type.Union([
  Type.Object({ kind: Type.Literal('submitted'), v: V, job: Id, tasks: Count, alreadyDone: Count, out: Type.String() }),
  Type.Object({
    kind: Type.Literal('status'),
    v: V,
    now: Num,
    jobs: Type.Array(JobStatusSchema),
    agents: Type.Array(AgentStatusSchema),
    /** The allocation queues (absent: none). */
    allocs: Type.Optional(Type.Array(AllocQueueStatusSchema)),
  }),
  Type.Object({
    kind: Type.Literal('cancelled'),
    v: V,
    job: Id,
    state: JobStateSchema,
    /** With `downstream`: the other jobs this request cancelled (downstream ones that had not ended), upstream first. */
    also: Type.Optional(Type.Array(Id)),
  }),
  Type.Object({ kind: Type.Literal('draining'), v: V, agent: Id }),
  Type.Object({ kind: Type.Literal('priority-set'), v: V, job: Id, priority: Num }),
  Type.Object({ kind: Type.Literal('alloc'), v: V, queues: Type.Array(AllocQueueStatusSchema) }),
  ErrorReplySchema,
]);
export type CtlReply = Static<typeof CtlReplySchema>;

export const EventSchema = Type.Object({ kind: Type.Literal('job-ended'), v: V, job: Id, state: JobStateSchema });
export type Event = Static<typeof EventSchema>;
