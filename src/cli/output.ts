/**
 * The CLI's one output interface: a human form (lines, tables, a progress bar on a TTY)
 * and `--json`. Results go to stdout; progress and warnings to stderr.
 */
import type cliProgress from 'cli-progress';
import type { JobStatus } from '../../protocol/index.js';

export class Output {
  readonly tty: boolean;
  constructor(readonly json: boolean) {
    this.tty = !!process.stderr.isTTY && !json && process.env.CI !== 'true';
  }

  /** A human line on stdout (nothing in --json mode). */
  line(text: string): void {
    if (!this.json) process.stdout.write(text + '\n');
  }

  /** A machine-readable document on stdout (only in --json mode). */
  data(obj: unknown): void {
    if (this.json) process.stdout.write(JSON.stringify(obj) + '\n');
  }

  /** A warning or note on stderr (both modes). */
  note(text: string): void {
    process.stderr.write(text + '\n');
  }

  /** An aligned table on stdout. */
  table(headers: string[], rows: Array<Array<string | number>>): void {
    if (this.json) return;
    const cells = [headers, ...rows.map((r) => r.map(String))];
    const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
    for (const r of cells) this.line(r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd());
  }

  /** A job progress bar on a TTY; silent otherwise (and cli-progress is then not loaded). */
  async progress(): Promise<JobProgress> {
    return new JobProgress(this.tty ? (await import('cli-progress')).default : null);
  }
}

export class JobProgress {
  private bar: cliProgress.SingleBar | null = null;
  /** `lib`: cli-progress, or null for no bar. */
  constructor(private readonly lib: typeof cliProgress | null) {}

  update(j: JobStatus): void {
    const lib = this.lib;
    if (!lib || j.total === 0) return;
    const payload = { rate: formatRate(j.rate), eta: j.etaS === null ? '?' : formatDuration(j.etaS), failed: j.failed, running: j.running };
    if (!this.bar) {
      this.bar = new lib.SingleBar(
        { format: ' {bar} {percentage}% | {value}/{total} tasks | {rate}/s | ETA {eta} | running {running} | failed {failed}', stream: process.stderr, hideCursor: true, clearOnComplete: false },
        lib.Presets.shades_classic,
      );
      this.bar.start(j.total, j.done, payload);
    }
    this.bar.update(j.done, payload);
  }

  stop(): void {
    this.bar?.stop();
    this.bar = null;
  }
}

export function formatRate(r: number): string {
  return r >= 1000 ? `${(r / 1000).toFixed(1)}k` : r >= 10 ? r.toFixed(0) : r.toFixed(1);
}

export function formatDuration(s: number): string {
  if (!Number.isFinite(s)) return '?';
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(Math.round(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

export function formatBytes(b: number): string {
  if (b >= 2 ** 30) return `${(b / 2 ** 30).toFixed(1)}G`;
  if (b >= 2 ** 20) return `${(b / 2 ** 20).toFixed(0)}M`;
  return `${Math.round(b / 1024)}K`;
}
