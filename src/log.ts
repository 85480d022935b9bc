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
  /** Keys remembered at most (the oldest is forgotten first): senders cannot grow it without bound. */
  constructor(private readonly maxKeys = 4096) {}
  /** Returns true (and records it) when `key` moves to a new `state`. */
  changed(key: string, state: string): boolean {
    if (this.states.get(key) === state) return false;
    this.states.delete(key);
    this.states.set(key, state);
    if (this.states.size > this.maxKeys) this.states.delete(this.states.keys().next().value!);
    return true;
  }
}

/**
 * Bad inbound messages: the first of each (subject, reason) is logged with its detail, later
 * ones are counted and summed up at most once a minute, so garbage cannot flood the log.
 */
export class DropLog {
  private readonly seen = new Map<string, { count: number; lastReport: number }>();
  constructor(
    private readonly log: Logger,
    private readonly intervalMs = 60_000,
  ) {}
  dropped(subject: string, reason: string, detail: string, now = Date.now()): void {
    const key = `${subject}\u0000${reason}`;
    const s = this.seen.get(key);
    if (!s) {
      this.seen.set(key, { count: 0, lastReport: now });
      this.log.warn({ subject, reason, detail }, 'dropped a bad message');
      return;
    }
    s.count++;
    if (now - s.lastReport >= this.intervalMs) {
      this.log.warn({ subject, reason, count: s.count, detail }, 'dropped more bad messages');
      s.count = 0;
      s.lastReport = now;
    }
  }
}
