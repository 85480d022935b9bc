/**
 * Figures as the CLI prints them, each with its unit: rates `12/s`, durations `8.5s`, `4m05s`,
 * `2h03m`, memory `512MiB`, `1.5GiB`, ages `3.1s ago`, clock times `14:03:59`. Pure.
 */

/** A rate's number, 3 significant figures at most (`0.5`, `12`, `1.2k`); its unit is the caller's. */
export function formatRate(r: number): string {
  return r >= 1000 ? `${(r / 1000).toFixed(1)}k` : r >= 10 ? r.toFixed(0) : r.toFixed(1);
}

/** Tasks per second, with the unit: `12/s`, `0.5/s`, `1.2k/s`. */
export function formatPerSecond(r: number): string {
  return `${formatRate(r)}/s`;
}

/** Seconds as `8.5s`, `42s`, `4m05s`, `2h03m`; `?` when not a number. */
export function formatDuration(s: number): string {
  if (!Number.isFinite(s)) return '?';
  s = Math.max(0, s);
  if (s < 59.5) return `${s.toFixed(s < 9.95 ? 1 : 0)}s`;
  const whole = Math.round(s);
  const m = Math.floor(whole / 60);
  if (m < 60) return `${m}m${String(whole % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/** Bytes in binary units: `1.5GiB`, `512MiB`, `12KiB`. */
export function formatBytes(b: number): string {
  if (b >= 2 ** 30) return `${(b / 2 ** 30).toFixed(1)}GiB`;
  if (b >= 2 ** 20) return `${(b / 2 ** 20).toFixed(0)}MiB`;
  return `${Math.round(b / 1024)}KiB`;
}

/** How long ago, from milliseconds: `0.2s ago`, `4m05s ago`. */
export function formatAgo(ms: number): string {
  return `${formatDuration(ms / 1000)} ago`;
}

/** Whole seconds of a span that keeps growing (a counter does not flicker tenths): `7s`, `4m05s`. */
export function formatElapsed(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  return s < 60 ? `${s}s` : formatDuration(s);
}

/** The local clock time of an epoch-ms instant: `14:03:59`. */
export function clockTime(ms: number): string {
  return new Date(ms).toTimeString().slice(0, 8);
}
