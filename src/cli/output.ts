/**
 * The CLI's one output interface: a human form (lines, tables, a progress bar on a TTY)
 * and `--json`. Results go to stdout; progress and warnings to stderr.
 */
import type cliProgress from 'cli-progress';
import type { JobStatus } from '../../protocol/index.js';
import { routeStderrLines, writeStderrLine } from '../log.js';
import { progressFigures } from './status-columns.js';

export { formatBytes, formatDuration, formatRate } from './units.js';

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

  /** A warning or note on stderr (both modes); above the progress bar while one is drawn. */
  note(text: string): void {
    writeStderrLine(text + '\n');
  }

  /** An aligned table on stdout. */
  table(headers: string[], rows: Array<Array<string | number>>): void {
    if (this.json) return;
    for (const l of alignColumns([headers, ...rows.map((r) => r.map(String))])) this.line(l);
  }

  /** A job progress bar on a TTY; silent otherwise (and cli-progress is then not loaded). */
  async progress(): Promise<JobProgress> {
    return new JobProgress(this.tty ? (await import('cli-progress')).default : null);
  }
}

/** Rows of cells as lines of aligned columns, two spaces apart (the last one not padded). */
export function alignColumns(rows: readonly string[][]): string[] {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd());
}

/**
 * The bar `run` and `submit --wait` show on a TTY, then its figures under the names `status`
 * gives them (status-columns.ts). The figures are one payload field of our own: cli-progress
 * fills its own fields (`{eta}` among them, a bare number of seconds) over payload fields of
 * the same name.
 */
export const PROGRESS_FORMAT = ' {bar} {percentage}% | {figures}';

export class JobProgress {
  /** One bar in cli-progress's MultiBar, whose `log` prints lines above it. */
  private multi: cliProgress.MultiBar | null = null;
  private bar: cliProgress.SingleBar | null = null;
  /** `lib`: cli-progress, or null for no bar. */
  constructor(private readonly lib: typeof cliProgress | null) {}

  update(j: JobStatus): void {
    const lib = this.lib;
    if (!lib || j.total === 0) return;
    const payload = { figures: progressFigures(j) };
    if (!this.bar) {
      const multi = new lib.MultiBar({ format: PROGRESS_FORMAT, stream: process.stderr, hideCursor: true, clearOnComplete: false }, lib.Presets.shades_classic);
      this.multi = multi;
      this.bar = multi.create(j.total, j.done, payload);
      // Log entries and notes go above the bar, not onto its line.
      routeStderrLines((line) => multi.log(line.endsWith('\n') ? line : `${line}\n`));
    }
    // A stage's total grows as its upstream's rows commit.
    if (this.bar.getTotal() !== j.total) this.bar.setTotal(j.total);
    this.bar.update(j.done, payload);
  }

  stop(): void {
    if (this.multi) {
      routeStderrLines(null);
      // Lines logged since the last redraw are printed by one more redraw; stop leaves the bar drawn.
      this.multi.update();
      this.multi.stop();
    }
    this.multi = null;
    this.bar = null;
  }
}
