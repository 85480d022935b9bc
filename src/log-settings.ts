/**
 * The names of log levels and formats, and the format this process logs in. Kept apart from
 * log.ts so the command line can check and set them without loading pino (`shoal --help` and
 * `shoal status` never log).
 */

/** pino's levels, most severe first, and `silent`. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * `json`: one pino JSON object per line (for files, pipes and log collectors); `pretty`: one
 * readable line per entry; `auto`: pretty when stderr is a terminal, JSON otherwise.
 */
export const LOG_FORMATS = ['auto', 'json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export function isLogLevel(v: unknown): v is LogLevel {
  return typeof v === 'string' && (LOG_LEVELS as readonly string[]).includes(v);
}

export function isLogFormat(v: unknown): v is LogFormat {
  return typeof v === 'string' && (LOG_FORMATS as readonly string[]).includes(v);
}

let processFormat: LogFormat = 'auto';

/**
 * Sets the format of the loggers made from now on in this process (one stderr, one format):
 * the command line sets it from `--log-format` before a command runs.
 */
export function setLogFormat(format: LogFormat): void {
  processFormat = format;
}

/** The format set by setLogFormat (`auto` until then). */
export function logFormat(): LogFormat {
  return processFormat;
}
