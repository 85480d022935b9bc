/**
 * Logging: pino JSON lines on stderr. Components take child loggers bound with
 * `component`, `agent`, `job`, `task`. Info tells an operator what happened; per-task
 * chatter is debug.
 */
import { pino, type Logger, type Level } from 'pino';

export type { Logger };

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** A logger writing to stderr (synchronously, so nothing is lost when a process exits). */
export function createLogger(level: Level | 'silent' = 'info', base: Record<string, unknown> = {}): Logger {
  return pino(
    { level, base: { pid: process.pid, ...base }, timestamp: pino.stdTimeFunctions.isoTime },
    pino.destination({ dest: 2, sync: true }),
  );
}

/** A logger that writes nothing (tests, library use). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

/**
 * Calls `log` only when `key` changes state, so a flapping condition (connection lost,
 * memory low) is logged once per change instead of on every check.
 */
export class OnceLog {
  private readonly states = new Map<string, string>();
  /** Returns true (and records it) when `key` moves to a new `state`. */
  changed(key: string, state: string): boolean {
    if (this.states.get(key) === state) return false;
    this.states.set(key, state);
    return true;
  }
}
