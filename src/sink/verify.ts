/**
 * `shoal verify`: checks an output against the exactly-once contract (one row, or one
 * complete record set, per task) without changing it.
 */
import { readFileSync } from 'node:fs';
import { InputError } from '../errors.js';
import { hasProblems, scanOutput, type JournalScan, type OutputProblems, type ScanOptions } from './journal.js';
import { jobFilePathFor } from './paths.js';

/** Where the job checked came from. */
export type JobSource = 'option' | 'job-record' | 'first-row' | 'none';

export interface OutputCheckOptions {
  /** The job whose rows count. Default: the job record beside the output, else the first row's job. */
  job?: string;
}

/** The job to check an output for, before scanning it. */
export interface ResolvedJob {
  /** Null: bind to the first row's job while scanning. */
  job: string | null;
  from: JobSource;
  /** Why the job record beside the output could not be used, when it exists but is unreadable. */
  recordError?: string;
}

/** The job to check: the option, else the job record beside the output (a JSON file with a `job` field). */
export function resolveJob(path: string, opts: OutputCheckOptions): ResolvedJob {
  if (opts.job !== undefined) return { job: opts.job, from: 'option' };
  const rec = jobFilePathFor(path);
  let text: string;
  try {
    text = readFileSync(rec, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? { job: null, from: 'none' } : { job: null, from: 'none', recordError: `${rec}: ${(err as Error).message}` };
  }
  try {
    const job = (JSON.parse(text) as { job?: unknown } | null)?.job;
    if (typeof job === 'string') return { job, from: 'job-record' };
    return { job: null, from: 'none', recordError: `${rec} has no string 'job' field` };
  } catch (err) {
    return { job: null, from: 'none', recordError: `${rec} is not JSON: ${(err as Error).message}` };
  }
}

/** An InputError naming the file, with the system's reason (a missing file said plainly). */
export function unreadable(path: string, err: unknown): InputError {
  if (err instanceof InputError) return err;
  const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message;
  return new InputError(`cannot read ${path}: ${reason}`, err);
}

/** Scans an existing output for `resolved`'s job; a missing or unreadable file is an InputError naming it. */
export async function scanExisting(path: string, resolved: ResolvedJob, onSegment?: ScanOptions['onSegment']): Promise<{ scan: JournalScan; from: JobSource }> {
  let scan: JournalScan;
  try {
    scan = await scanOutput(path, { job: resolved.job, ...(onSegment ? { onSegment } : {}) });
  } catch (err) {
    throw unreadable(path, err);
  }
  if (!scan.exists) throw new InputError(`cannot read ${path}: no such file`);
  const from = resolved.from === 'none' && scan.job !== null ? 'first-row' : resolved.from;
  return { scan, from };
}

/** What `verifyOutput` found. */
export interface VerifyReport {
  path: string;
  /** The job checked (null: none given, no job record and no row in the file). */
  job: string | null;
  jobFrom: JobSource;
  /** Why the job record could not be used, when it exists but is unreadable. */
  jobRecordError?: string;
  /** Complete lines in the file. */
  lines: number;
  /** Rows of the first complete set of each task (what a repaired file holds). */
  rows: number;
  tasks: number;
  okTasks: number;
  /** Tasks with at least one error record. */
  errorTasks: number;
  errorRows: number;
  problems: OutputProblems;
  /** Unfinished rows at the end (resuming or repairing cuts them; the task runs again). */
  torn: { bytes: number; line: number | null };
  /** 'row' when the first line is a row (of any job), 'other' when the file is not a shoal output, 'none' when empty. */
  firstLine: 'none' | 'row' | 'other';
  firstJob: string | null;
  /** No problems and no torn tail. */
  clean: boolean;
}

/** The report's fields a scan decides (shared with the repair report). */
export function reportOf(path: string, scan: JournalScan, from: JobSource, recordError?: string): VerifyReport {
  return {
    path,
    job: scan.job,
    jobFrom: from,
    ...(recordError !== undefined ? { jobRecordError: recordError } : {}),
    lines: scan.lines,
    rows: scan.keptRows,
    tasks: scan.done.size,
    okTasks: scan.okTasks,
    errorTasks: scan.errorTasks,
    errorRows: scan.errorRows,
    problems: scan.problems,
    torn: { bytes: scan.repairedBytes, line: scan.tornLine },
    firstLine: scan.firstLine,
    firstJob: scan.firstJob,
    clean: !hasProblems(scan.problems) && scan.repairedBytes === 0,
  };
}

/**
 * Checks the output at `path`: rows and tasks of the job, and every foreign, duplicate or
 * incomplete line and a torn tail, with their line numbers. Changes nothing.
 * @throws InputError when the file is missing or unreadable.
 */
export async function verifyOutput(path: string, opts: OutputCheckOptions = {}): Promise<VerifyReport> {
  const resolved = resolveJob(path, opts);
  const { scan, from } = await scanExisting(path, resolved);
  return reportOf(path, scan, from, resolved.recordError);
}
