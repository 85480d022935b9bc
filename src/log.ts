/**
 * Logging: pino on stderr. Components take child loggers bound with `component`, `agent`,
 * `job`, `task`. Info tells an operator what happened; per-task chatter is debug.
 *
 * On a terminal each entry is one readable line (pino-pretty, loaded only then); through a
 * pipe or into a file each is a JSON object, which tests and log collectors read.
 */
import { createRequire } from 'node:module';
import { isatty } from 'node:tty';
import { pino, type Logger } from 'pino';
import type { PrettyOptions } from 'pino-pretty';
import { UsageError } from './errors.js';
import { isLogLevel, logFormat, LOG_LEVELS, type LogFormat, type LogLevel } from './log-settings.js';

export type { Logger };
export { isLogFormat, isLogLevel, LOG_FORMATS, LOG_LEVELS, logFormat, setLogFormat, type LogFormat, type LogLevel } from './log-settings.js';

/** Where log lines go: a stream with pino's `write` (stderr unless a test gives one). */
export interface LogStream {
  write(line: string): unknown;
  /** True for a terminal: `auto` then writes readable lines. */
  readonly isTTY?: boolean;
}

export interface LoggerOptions {
  /** Default: the process's format (setLogFormat), `auto` until it is set. */
  format?: LogFormat;
  /** Default: stderr, written synchronously so nothing is lost when a process exits. */
  stream?: LogStream;
  /** Read for NO_COLOR (https://no-color.org); default process.env. */
  env?: NodeJS.ProcessEnv;
}

/**
 * Where the process's stderr lines go while something owns the terminal's last line (a progress
 * bar): it prints them above itself, so a log line or a note never lands on the bar's line.
 */
let terminalLines: ((line: string) => void) | null = null;

/** Routes the process's stderr lines (log entries, notes) through `sink` until called with null. */
export function routeStderrLines(sink: ((line: string) => void) | null): void {
  terminalLines = sink;
}

/** Writes one line (ending in a newline) on stderr, through the bar while one is drawn. */
export function writeStderrLine(line: string): void {
  if (terminalLines) terminalLines(line);
  else process.stderr.write(line);
}

/** stderr, written synchronously so nothing is lost when a process exits, through a bar while one is drawn. */
function stderrStream(): LogStream {
  const dest = pino.destination({ dest: 2, sync: true });
  return { write: (line: string) => (terminalLines ? terminalLines(line) : dest.write(line)) };
}

/** A logger at `level`, its lines in the chosen format. */
export function createLogger(level: LogLevel = 'info', base: Record<string, unknown> = {}, o: LoggerOptions = {}): Logger {
  if (!isLogLevel(level)) throw new UsageError(`log level '${String(level)}' is not one of ${LOG_LEVELS.join(', ')}`);
  const stream: LogStream = o.stream ?? stderrStream();
  const tty = o.stream ? o.stream.isTTY === true : isatty(2);
  const format = o.format ?? logFormat();
  if (format === 'pretty' || (format === 'auto' && tty)) {
    const colorize = tty && !(o.env ?? process.env).NO_COLOR;
    // Loaded with the first line: `run` on a terminal logs nothing at its default level.
    let prettify: ((line: string) => string) | null = null;
    // No pid: a terminal shows one process's lines; the JSON form keeps it for merged logs.
    return pino({ level, base }, { write: (line: string) => stream.write((prettify ??= prettifier(colorize))(line)) });
  }
  return pino({ level, base: { pid: process.pid, ...base }, timestamp: pino.stdTimeFunctions.isoTime }, stream);
}

/** Fields the readable line does not repeat: the role is the command the user ran. */
const UNSHOWN = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'role', 'component']);

/**
 * pino-pretty set up for one line per entry: `[12:03:04.567] INFO: coordinator: agent
 * joined  agent=node7-4121 slots=64`; a multi-line string (a stack) follows on its own lines.
 */
function prettifier(colorize: boolean): (line: string) => string {
  // Loaded here, not imported: only a terminal pays for it (the CLI's start is timed).
  const { prettyFactory } = createRequire(import.meta.url)('pino-pretty') as typeof import('pino-pretty');
  const options: PrettyOptions = {
    colorize,
    translateTime: 'SYS:HH:MM:ss.l',
    hideObject: true,
    errorLikeObjectKeys: [],
    messageFormat: (entry, messageKey, _level, { colors }) => readableLine(entry, messageKey, colors.gray),
  };
  return prettyFactory(options);
}

/** Control characters (an escape sequence in a job name or a task's error) shown, not obeyed. */
const CONTROL = /[\p{Cc}]/gu;
const visible = (text: string, keep = ''): string => text.replace(CONTROL, (c) => (keep.includes(c) ? c : JSON.stringify(c).slice(1, -1)));

/** A field's value as the line shows it: bare when it is one plain word, else JSON. */
function shown(value: unknown): string {
  if (typeof value === 'string') return /^[^\s"=\p{Cc}]+$/u.test(value) ? value : JSON.stringify(value);
  return JSON.stringify(value) ?? String(value);
}

/**
 * An entry's component, message and fields (`key=value`, after two blanks, `dim` applied) as
 * one line; a multi-line string (a stack) follows on its own indented lines.
 */
export function readableLine(entry: Record<string, unknown>, messageKey = 'msg', dim: (s: string) => string = (s) => s): string {
  const fields: string[] = [];
  const blocks: string[] = [];
  for (const [key, value] of Object.entries(entry)) {
    if (UNSHOWN.has(key) || key === messageKey || value === undefined) continue;
    const stack = typeof value === 'object' && value !== null && typeof (value as { stack?: unknown }).stack === 'string' ? (value as { stack: string }).stack : null;
    const text = typeof value === 'string' ? value : stack;
    if (text !== null && text.includes('\n')) blocks.push(`\n    ${visible(key)}: ${visible(text, '\n\t').split('\n').join('\n    ')}`);
    else fields.push(`${visible(key)}=${shown(value)}`);
  }
  const component = typeof entry.component === 'string' ? `${visible(entry.component)}: ` : '';
  const message = visible(String(entry[messageKey] ?? ''));
  return `${component}${message}${fields.length ? dim(`  ${fields.join(' ')}`) : ''}${blocks.join('')}`;
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
