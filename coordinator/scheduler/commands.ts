/** What the scheduler asks its shell to do, and the event being handled while it asks. */
import type { Bundle, JobInfo, JobState } from '../../protocol/index.js';
import type { WireError } from '../../src/errors.js';

/** What the shell must do. */
export type Command =
  | { kind: 'reply-pull'; token: unknown; agent: string; seq: number; jobs: JobInfo[]; bundles: Bundle[] }
  | { kind: 'rejoin'; token: unknown; agent: string; reason: string }
  | { kind: 'abort'; agent: string; job: string; tasks: string[] | null; reason: string }
  | { kind: 'drain-agent'; agent: string; graceMs: number | null }
  | { kind: 'error-rows'; job: string; rows: Array<{ id: string; attempt: number; error: WireError }> }
  | { kind: 'job-ended'; job: string; state: JobState }
  | { kind: 'log'; level: 'info' | 'warn' | 'debug'; msg: string; fields: Record<string, unknown> };

/**
 * One event being handled: its time, its number (in log lines and in the tasks' transition
 * history, so an odd outcome can be traced to its cause) and the commands it returns.
 */
export interface Ctx {
  readonly now: number;
  readonly ev: number;
  readonly out: Command[];
}

export function log(level: 'info' | 'warn' | 'debug', msg: string, fields: Record<string, unknown>): Command {
  return { kind: 'log', level, msg, fields };
}
