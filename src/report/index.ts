/**
 * `shoal report`: a task timeline and utilization report of JSONL outputs (one file, several,
 * or a directory of them such as a pipeline's out dir), each streamed in one pass (see
 * scan.ts), as a text summary and optionally a self-contained HTML file. With several jobs the
 * timeline has a group of lanes per job on one time axis (layout.ts).
 */
import { access, constants, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { readRows } from '../sink/index.js';
import { renderHtml } from './html.js';
import { readAllocations } from './allocations.js';
import { findInputs, unreadable, type ReportInputs } from './inputs.js';
import { ReportScan, type ReportData, type ScanOptions } from './scan.js';
import { summarize, summaryLines, type ReportSummary } from './summary.js';

export { scanRows, ReportScan, DEFAULT_SCAN_OPTIONS, type ReportData, type ScanOptions, type AgentTotals, type JobTotals, type TaskBrief } from './scan.js';
export type { PageData, PageState, Bars, LaneGroup, LaneTotals, Utilization } from './page-data.js';
export { summarize, summaryLines, type JobSummary, type ReportSummary } from './summary.js';
export { findInputs, type ReportInputs } from './inputs.js';
export { parseAllocations, readAllocations, type AllocationMark } from './allocations.js';
export type { AllocationSummary } from './summary.js';
export { renderHtml } from './html.js';
export { TimeBins } from './bins.js';

export interface ReportOptions extends Partial<ScanOptions> {
  /** Where to write the HTML report (none when absent). */
  html?: string;
}

export interface Report {
  data: ReportData;
  summary: ReportSummary;
  /** The HTML file written, if any. */
  html: string | null;
  /** A directory's `*.jsonl` files that are not shoal outputs, not read. */
  skipped: ReportInputs['skipped'];
}

/** Whether `err` is the file system's (a file that cannot be read), not a bug of ours. */
const isFsError = (err: unknown): boolean => err instanceof Error && typeof (err as NodeJS.ErrnoException).syscall === 'string';

/**
 * Reads each file of `paths` (files, and the shoal outputs in directories) once and builds
 * one report of them all. Throws InputError naming a path that is missing or cannot be read.
 */
export async function buildReport(paths: string | string[], o: ReportOptions = {}): Promise<Report> {
  const given = typeof paths === 'string' ? [paths] : paths;
  const { files, skipped } = await findInputs(given);
  // Every file is checked before any is read: a long scan does not end on the last one's error.
  for (const file of files) await access(file, constants.R_OK).catch((err: unknown) => Promise.reject(unreadable(file, err)));
  const scan = new ReportScan(o);
  const stats = { bad: 0 };
  for (const file of files) {
    try {
      await scan.add(readRows(file, stats), file);
    } catch (err) {
      throw isFsError(err) ? unreadable(file, err) : err;
    }
  }
  const data = scan.result(given.length === 1 ? resolve(given[0]!) : given.map((p) => resolve(p)).join(', '), stats.bad);
  const summary = summarize(data, await readAllocations(given));
  let html: string | null = null;
  if (o.html) {
    html = resolve(o.html);
    await writeFile(html, renderHtml(data, summary));
  }
  return { data, summary, html, skipped };
}

export { summaryLines as reportLines };
