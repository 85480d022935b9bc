/**
 * Errors with a stable `code`, a `retryable` flag and a `cause`. They cross the wire as
 * `{code, message}`; tests assert the code, never the wording.
 */

/** Stable error codes. Add new ones here, never reuse one for another meaning. */
export const ErrorCode = {
  /** Bad user input: a malformed file, a bad option value, a record that cannot be read. */
  Input: 'E_INPUT',
  /** Bad command-line usage. */
  Usage: 'E_USAGE',
  /** A task's code threw something unexpected (worth trying again elsewhere). */
  Task: 'E_TASK',
  /** The worker thread running a task died (crash, heap limit). */
  WorkerDied: 'E_WORKER',
  /** A task was aborted (cancel, drain deadline, speculative copy lost). */
  Aborted: 'E_ABORTED',
  /** A task's agent was lost more times than --max-attempts allows. */
  Lost: 'E_LOST',
  /** A result bigger than the bus allows. */
  TooLarge: 'E_TOO_LARGE',
  /** No agent can ever run the task (memory, threads, kind not allowed). */
  Unschedulable: 'E_UNSCHEDULABLE',
  /** A peer speaks another protocol version. */
  Protocol: 'E_PROTOCOL',
  /** NATS unreachable, refused or authorization failed. */
  Bus: 'E_BUS',
  /** The bus answered but nobody was there, or too late. */
  Timeout: 'E_TIMEOUT',
  /** A job with this name exists with other inputs or parameters. */
  Fingerprint: 'E_FINGERPRINT',
  /** The command exited non-zero (command kind). */
  Exit: 'E_EXIT',
  /** The user's function raised an exception (python kind). */
  Exception: 'E_EXCEPTION',
  /** The user's module cannot be loaded, or its setup() raised: the job cannot run (python kind). */
  Setup: 'E_SETUP',
  /** The upstream row a stage's task comes from (`--from JOB`) is an error: the task does not run. */
  Upstream: 'E_UPSTREAM',
  /** The process running the task died under it (python kind: a segfault, os._exit, an OOM kill). */
  Crash: 'E_CRASH',
  /** The task ran past its --timeout (python kind; command timeouts are E_EXIT). */
  TaskTimeout: 'E_TASK_TIMEOUT',
  /** An unknown job, agent or kind. */
  NotFound: 'E_NOT_FOUND',
  /** An output cannot be written now (disk full, read-only, I/O error); try again later. */
  Stalled: 'E_STALLED',
  /** A command gave up waiting for a job to end (--wait-timeout); the job itself was left as it was. */
  WaitTimeout: 'E_WAIT_TIMEOUT',
  /**
   * Refused on purpose: another owner holds the output or namespace, a sender speaks for an
   * agent that is not its own, a limit is reached.
   */
  Refused: 'E_REFUSED',
  /** Something that should not happen: a bug. */
  Internal: 'E_INTERNAL',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** What an error looks like on the wire and in a JSONL row. */
export interface WireError {
  code: string;
  message: string;
}

export class ShoalError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  constructor(code: ErrorCode, message: string, opts: { retryable?: boolean; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'ShoalError';
    this.code = code;
    this.retryable = opts.retryable ?? false;
  }
  toWire(): WireError {
    return { code: this.code, message: this.message };
  }
}

/** Bad input: names the file, record and field in its message. Never retried. */
export class InputError extends ShoalError {
  constructor(message: string, cause?: unknown) {
    super(ErrorCode.Input, message, { retryable: false, cause });
    this.name = 'InputError';
  }
}

/** Bad command-line usage (exit code 2). */
export class UsageError extends ShoalError {
  constructor(message: string) {
    super(ErrorCode.Usage, message, { retryable: false });
    this.name = 'UsageError';
  }
}

/**
 * A state machine was asked for a move its table does not allow: a bug in shoal, never the
 * user's doing. One class for every table (tasks, agents, allocations, the agent's session and
 * its bundles); `machine` names which.
 */
export class IllegalMoveError extends Error {
  readonly code = ErrorCode.Internal;
  constructor(
    /** What moves: 'task J/t', 'agent a', 'allocation q-1', 'agent session', 'bundle 3 (job J, 2 tasks)'. */
    readonly machine: string,
    readonly from: string,
    readonly to: string,
    /** More to say: the event, recent moves. */
    detail?: string,
  ) {
    super(`illegal transition of ${machine}: ${from} → ${to}${detail ? ` (${detail})` : ''}`);
    this.name = 'IllegalMoveError';
  }
}

/** Turns anything thrown into a wire error; unknown throwables are retryable task errors. */
export function toWireError(err: unknown): WireError & { retryable: boolean } {
  if (err instanceof ShoalError) return { code: err.code, message: err.message, retryable: err.retryable };
  if (err instanceof Error) {
    // piscina rejects with the worker's error; keep our code when it survived the clone.
    const code = (err as { code?: unknown }).code;
    const retryable = (err as { retryable?: unknown }).retryable;
    if (typeof code === 'string' && code.startsWith('E_')) {
      return { code, message: err.message, retryable: retryable === true };
    }
    return { code: ErrorCode.Task, message: err.message || String(err), retryable: true };
  }
  return { code: ErrorCode.Task, message: String(err), retryable: true };
}
