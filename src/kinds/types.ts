/**
 * The contract every kind fulfils: expand (spec → task refs with cost, in the coordinator),
 * run (one task, inside a piscina worker), summarize (rows → dataset figures, in the sink).
 *
 * A kind module is imported both by the coordinator and by worker threads, so it must not
 * start anything at import time and must keep heavy work inside its functions.
 */
import type { CommandUnknownOpts } from '@commander-js/extra-typings';
import type { InputCache } from './inputs.js';
import type { TaskList } from './task-list.js';

/** A stage job's upstream and what each of its tasks asks for (see `Kind.stage`). */
export interface StageShape {
  from: string;
  threads?: number;
  memory?: number;
  gpus?: number;
}

/** One unit of scheduling as the kind describes it. */
export interface TaskSpec {
  /** Deterministic from the inputs (the output doubles as the journal): e.g. `mol_0007`. */
  id: string;
  /** Relative cost estimate in the kind's own unit (e.g. n_ref × n_gen × heavy atoms). */
  cost: number;
  /** Bytes of memory the task needs at peak (0 or absent: negligible). */
  memory?: number;
  /** Worker slots the task occupies on its agent (default 1). */
  threads?: number;
  /** GPUs the task needs on its agent (default 0); it sees exactly those in CUDA_VISIBLE_DEVICES. */
  gpus?: number;
  /** Kind-specific reference to the task's input (file + byte ranges, frame range...). msgpack-able. */
  ref: unknown;
}

/** One of the two tasks a split gives: a TaskSpec whose id the coordinator assigns. */
export type TaskHalf = Omit<TaskSpec, 'id'>;

/** Facts the coordinator gives to expand. */
export interface ExpandContext {
  /**
   * Total worker slots to plan for: the active agents' slots when the job was first
   * expanded, kept for every resume of the job so that automatic chunking (and so task ids)
   * does not change. 0 when no agent had joined.
   */
  slots: number;
  /** Slots of the largest agent (0 when unknown): a task asking for more threads runs with this many. */
  maxAgentSlots?: number;
  /** The job name, for messages. */
  job: string;
  /** Write one operator-level message (info). */
  info(msg: string, fields?: Record<string, unknown>): void;
}

/** What a worker gives a task while it runs. */
export interface RunContext {
  /** Fires when the task is cancelled, aborted or superseded; long loops should check it. */
  signal: AbortSignal;
  /** Threads the task may use (it reserved that many slots). */
  threads: number;
  /** The GPUs given to the task (the node's indices, as CUDA_VISIBLE_DEVICES names them); absent or empty when none. */
  gpus?: readonly number[];
  /** Attempt number, from 1. */
  attempt: number;
  /** The job name and task id, for messages. */
  job: string;
  task: string;
  /**
   * Parsed inputs shared with the agent's other workers (kinds with `sharesInputs`); absent
   * outside a pool, where `threadInputs` serves.
   */
  inputs?: InputCache;
}

/** One output record of a multi-record task (e.g. one frame of a frame chunk). */
export interface RecordOutput {
  /** The record's index (e.g. the frame number); becomes the row's `index`. */
  index: number;
  /** The value on success. */
  value?: unknown;
  /** Set instead of `value` when this record failed (the others still count). */
  error?: { code: string; message: string };
}

/**
 * What run returns: one value (one row), or several records (one row each). `fields` are
 * further row fields (e.g. the pid of the process that ran it, what it printed), put after
 * `end` in each of the task's rows.
 */
export type RunOutput = ({ value: unknown } | { records: RecordOutput[] }) & { fields?: Record<string, unknown> };

/** One task of a bundle, as `runBatch` gets it. */
export interface BatchTask {
  /** Its position in the bundle. */
  index: number;
  id: string;
  attempt: number;
  ref: unknown;
}

/** What a worker gives a bundle's tasks run together. */
export interface BatchContext extends Omit<RunContext, 'attempt' | 'task'> {
  /** Whether task `index` is still to run (a cancel or a drain may take it back while others run). */
  live(index: number): boolean;
  /** Task `index` begins now (a death of the thread from now on is blamed on it). */
  begin(index: number): void;
}

/** One task's end in `runBatch`: its output, or what it threw (as `run` would). */
export type BatchResult = { index: number; output: RunOutput; fields?: undefined } | { index: number; error: unknown; fields?: Record<string, unknown> };

/**
 * What of one task makes its value, for the result cache (coordinator/cache): byte ranges of
 * files (their bytes count, not the file's name) and whatever else of its ref counts.
 */
export interface TaskContent {
  /** `[file, start, end)` byte ranges, in a fixed order. */
  ranges: Array<[file: string, start: number, end: number]>;
  /** A file whose first line counts too (a csv's header names the fields of each record). */
  firstLineOf?: string;
  /** The rest of the ref that counts (no paths): JSON-able. */
  rest?: unknown;
}

/** How a kind's tasks are keyed in the result cache (see `Kind.cache`). */
export interface KindCache<P> {
  /** The kind's own version: bumped whenever the kind's numbers change, so old entries miss. */
  readonly version: number;
  /** Files whose whole content counts for every task (a python function's source file). */
  files?(params: P): string[];
  /** What of the params counts; absent: the kind's `identity`. */
  params?(params: P): unknown;
  /** The task's own input; null: the task is never cached (an error task). */
  content(ref: unknown, params: P): TaskContent | null;
}

/** A row of the output, as summarize sees it (parsed from the JSONL). */
export interface Row {
  job: string;
  task: string;
  kind: string;
  status: 'ok' | 'error';
  attempt: number;
  index?: number;
  value?: unknown;
  error?: { code: string; message: string };
  [field: string]: unknown;
}

/**
 * A kind. `P` is its validated parameter object (what the CLI options become; it travels
 * to every agent with the job, so keep it small and plain).
 */
export interface Kind<P = unknown> {
  /** The name used on the command line and in every row's `kind`. */
  readonly name: string;
  /** One line for `--help`. */
  readonly description: string;
  /**
   * Rough seconds of one worker per unit of `cost` on a current core. The coordinator sizes
   * the first dispatches with it and replaces it with measurements as results arrive.
   */
  readonly secondsPerCost?: number;
  /** Its tasks get `ctx.inputs` backed by the agent's store of shared parsed inputs. */
  readonly sharesInputs?: boolean;
  /** Adds the kind's options to a commander command (`run <kind>` and `submit <kind>`). */
  addOptions(cmd: CommandUnknownOpts): void;
  /**
   * Turns parsed commander options into params. Throws UsageError/InputError naming the
   * option and value. Relative paths must be made absolute here.
   */
  params(opts: Record<string, unknown>): P;
  /** Validates params that arrived over the wire (from another process); throws InputError. */
  checkParams(raw: unknown): P;
  /** Input files whose content makes up the job fingerprint (with the kind and `identity`), in a fixed order. */
  inputs(params: P): string[];
  /**
   * Optional: what of `params` makes the job's results what they are, for its fingerprint: the
   * params without where the `inputs` files lie or when they were written (their content
   * counts instead), so that a job resumes on a copy of its files elsewhere or on files that
   * were touched. Its keys are the params' own, for a refusal to name the option that changed.
   * Absent: all of params count.
   */
  identity?(params: P): unknown;
  /**
   * Optional, for kinds whose params hold their files' stamps (size, mtime): the params with
   * the stamps taken again from the files, for a job resumed after a restart on files whose
   * content did not change but whose mtime did. Throws InputError naming a missing file.
   */
  restamp?(params: P): P;
  /**
   * Optional: the name of the rule the job's task ids follow, where it differs from the rule of
   * the first shoal that wrote such ids (`PADDED_TO_SIZE`). The job's record keeps it: ids are
   * the journal, so an output written under another rule is refused when its rows name tasks
   * the job no longer has (they would all run again beside those rows). Absent: ids as they
   * always were.
   */
  idRule?(params: P): string | undefined;
  /**
   * Optional: what task `ref` was given (its line, record, frames, molecule), for the `input`
   * field of its error rows (task-input.ts): a few fields, made only for error rows. It may read
   * a record's bytes; it returns null when nothing can be said, and never throws.
   */
  input?(ref: unknown, params: P): Record<string, unknown> | null;
  /** Spec → tasks. Throws InputError to refuse the whole job (bad or missing file...). */
  expand(params: P, ctx: ExpandContext): Promise<TaskSpec[]>;
  /**
   * Optional: the same tasks as `expand`, as a TaskList (a task follows from its number). The
   * coordinator takes it when present: a job of millions of tasks then holds no object per
   * waiting task.
   */
  expandList?(params: P, ctx: ExpandContext): Promise<TaskList>;
  /**
   * Runs one task in a worker thread. Throw InputError (or any ShoalError with
   * retryable=false) for a final error row; anything else thrown is retried elsewhere.
   */
  run(ref: unknown, params: P, ctx: RunContext): Promise<RunOutput>;
  /**
   * Optional: runs a bundle's tasks together (in a process of its own, say), yielding each
   * task's end in any order. A task never yielded is handed back to the coordinator unstarted
   * (no attempt charged): yield only what ran, and stop when the rest cannot run here now.
   */
  runBatch?(tasks: BatchTask[], params: P, ctx: BatchContext): AsyncIterable<BatchResult>;
  /**
   * Optional: two tasks that together do exactly the work of `task`, which has not started
   * (e.g. the two halves of a molecule's reference rows), or null when it is too small to
   * split. The coordinator calls it while dispatching, for a task that would exceed a fair
   * share of what is left of its job (more agents joined, or the tail of the run). Must be
   * deterministic: a resumed job splits again to find the halves its output already holds.
   * The halves' ids are the coordinator's (`<id>/0`, `<id>/1`).
   */
  split?(task: TaskSpec, params: P): [TaskHalf, TaskHalf] | null;
  /**
   * Optional, for kinds that take `--from JOB`: the upstream job when this job's tasks are its
   * rows (null when they come from the kind's own inputs), and what each such task asks for.
   * The coordinator then makes the tasks itself (src/kinds/stage.ts) and never calls expand.
   */
  stage?(params: P): StageShape | null;
  /**
   * Optional: how the result cache keys its tasks (`--cache DIR`). Absent: the kind's jobs are
   * never cached. Stage jobs (`--from`) are not cached either.
   */
  readonly cache?: KindCache<P>;
  /** Dataset-level figures from the job's rows (streamed); written to `<job>.summary.json`. */
  summarize(rows: AsyncIterable<Row>, params: P): Promise<Record<string, unknown>>;
  /** Optional: a few lines for `shoal run` to print at the end from the summary. */
  describeSummary?(summary: Record<string, unknown>): string[];
}
