/**
 * `shoal report`: a task timeline and utilization report of a JSONL output, streamed in one
 * pass (see scan.ts), as a text summary and optionally a self-contained HTML file.
 */
import { existsSync, statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { InputError } from '../errors.js';
import { readRows } from '../sink/index.js';
import { renderHtml } from './html.js';
import { scanRows, type ReportData, type ScanOptions } from './scan.js';
import { summarize, summaryLines, type ReportSummary } from './summary.js';

export { scanRows, ReportScan, DEFAULT_SCAN_OPTIONS, type ReportData, type ScanOptions, type AgentTotals, type JobTotals, type TaskBrief } from './scan.js';
export type { PageData, PageState, Bars, LaneGroup, LaneTotals, Utilization } from './page-data.js';
export { summarize, summaryLines, type JobSummary, type ReportSummary } from './summary.js';
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
}

/** Reads `file` once and builds the report. Throws InputError when the file is missing. */
export async function buildReport(file: string, o: ReportOptions = {}): Promise<Report> {
  const path = resolve(file);
  if (!existsSync(path) || !statSync(path).isFile()) throw new InputError(`${path}: no such file`);
  const stats = { bad: 0 };
  const data = await scanRows(readRows(path, stats), path, o, () => stats.bad);
  const summary = summarize(data);
  let html: string | null = null;
  if (o.html) {
    html = resolve(o.html);
    await writeFile(html, renderHtml(data, summary));
  }
  return { data, summary, html };
}

export { summaryLines as reportLines };
