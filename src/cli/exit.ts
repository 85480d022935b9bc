/** Exit codes (DESIGN §7) and the mapping of errors onto them. */
import { ErrorCode, ShoalError } from '../errors.js';

export const Exit = {
  Done: 0,
  DoneWithFailures: 1,
  Usage: 2,
  Cancelled: 3,
  Bus: 4,
  /** The output cannot be written (disk full, read-only, I/O error) and the wait for it was given up. */
  Output: 5,
  /** The job had not ended when the wait for it was given up (--wait-timeout). */
  WaitTimeout: 6,
} as const;
export type ExitCode = (typeof Exit)[keyof typeof Exit];

/** An error that ends the command with a given exit code and one clear line. */
export class ExitError extends Error {
  constructor(
    readonly exitCode: ExitCode,
    message: string,
  ) {
    super(message);
    this.name = 'ExitError';
  }
}

/** Maps anything thrown to an exit code and the one line a user sees. */
export function exitFor(err: unknown): { code: ExitCode; message: string } {
  if (err instanceof ExitError) return { code: err.exitCode, message: err.message };
  if (err instanceof ShoalError) {
    switch (err.code) {
      case ErrorCode.Bus:
      case ErrorCode.Timeout:
      case ErrorCode.Protocol:
        return { code: Exit.Bus, message: err.message };
      case ErrorCode.Stalled:
        return { code: Exit.Output, message: err.message };
      case ErrorCode.WaitTimeout:
        return { code: Exit.WaitTimeout, message: err.message };
      default:
        return { code: Exit.Usage, message: err.message };
    }
  }
  const e = err as { code?: string; message?: string };
  if (typeof e?.code === 'string' && e.code.startsWith('commander.')) return { code: Exit.Usage, message: e.message ?? String(err) };
  return { code: Exit.Usage, message: (err as Error)?.message ?? String(err) };
}

/** The exit code for a job that ended in `state` with `failed` error rows. */
export function exitForJob(state: string, failed: number): ExitCode {
  if (state === 'cancelled') return Exit.Cancelled;
  // The job could not run (its code or setup failed): like an input error.
  if (state === 'failed') return Exit.Usage;
  return failed > 0 ? Exit.DoneWithFailures : Exit.Done;
}
