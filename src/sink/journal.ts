/**
 * The output file is the journal: on start it is scanned to rebuild the set of committed
 * tasks, and a torn tail (a crash mid-write) is cut back to the last complete task.
 *
 * The same scan tells everything else that is wrong with an output, line by line, so that
 * `shoal verify`, `shoal repair` and the sink agree on what a row is:
 *
 * - a *row* is a JSON object with string `job`, `task` and `kind` and `status` "ok" or
 *   "error"; a row of a multi-record task also has a number `index` and an integer `of`
 *   >= 1. A task's rows are consecutive and form a complete set when `of` rows with the same
 *   `of` and distinct indices follow each other. `index` is the record's own number (the
 *   frames kind writes the frame number: 100..106 with `of` 7), not its position in the
 *   set, and handler kinds may emit records in any order, so no order is required; a
 *   repeated index means the task's rows started over;
 * - *foreign*: a complete line that is not a row, or a row of another job;
 * - *duplicate*: a row, or a complete record set, of a task already complete earlier;
 * - *incomplete*: rows of a multi-record task that do not form a complete set and are
 *   followed by other lines;
 * - the *torn tail*: the unfinished rows at the very end (a last line without its newline,
 *   record sets not complete yet). Only this is repaired on resume: the task runs again.
 */
import { closeSync, ftruncateSync, openSync, statSync } from 'node:fs';
import { RowFollower } from './follow.js';
import { rowsOfBatches } from './lines.js';
import { scanOutput, type JournalScan, type LineProblem, type OutputProblems } from './scan.js';

import type { TaskNumbers } from './task-set.js';

export { scanOutput, MAX_LINE_NUMBERS, type JournalScan, type LineProblem, type OutputProblems, type ScanOptions, type Segment, type SegmentVerdict } from './scan.js';

/**
 * Scans `path` for rows of `job`; with `repair`, truncates a torn tail. A missing file is
 * an empty journal. Foreign, duplicate and incomplete lines are reported, never touched.
 */
export async function scanJournal(path: string, job: string, repair: boolean, numbers?: TaskNumbers): Promise<JournalScan> {
  const scan = await scanOutput(path, { job, ...(numbers ? { numbers } : {}) });
  if (repair && scan.repairedBytes > 0) {
    const fd = openSync(path, 'r+');
    try {
      ftruncateSync(fd, scan.size - scan.repairedBytes);
    } finally {
      closeSync(fd);
    }
  }
  return scan;
}

/** True when there are foreign, duplicate or incomplete lines (a torn tail is not a problem: resuming cuts it). */
export function hasProblems(p: OutputProblems): boolean {
  return p.foreign.count + p.duplicates.count + p.incomplete.count > 0;
}

function where(p: LineProblem): string {
  if (p.count === 1) return `(line ${p.lines[0]})`;
  return `(first at lines ${p.lines.join(', ')})`;
}

/** One phrase per kind of problem, e.g. `1 duplicate row (line 40)`; empty when there are none. */
export function problemPhrases(p: OutputProblems, job: string | null): string[] {
  const parts: string[] = [];
  const of = job === null ? '' : ` of job ${job}`;
  const { foreign, duplicates, incomplete } = p;
  if (foreign.count > 0) parts.push(`${foreign.count} ${foreign.count === 1 ? `line that is not a row${of}` : `lines that are not rows${of}`} ${where(foreign)}`);
  if (duplicates.count > 0) parts.push(`${duplicates.count} duplicate ${duplicates.count === 1 ? 'row' : 'rows'} ${where(duplicates)}`);
  if (incomplete.count > 0) parts.push(`${incomplete.count} ${incomplete.count === 1 ? 'row of an incomplete record set' : 'rows of incomplete record sets'} ${where(incomplete)}`);
  return parts;
}

/**
 * The problems as one line, for messages:
 * `2 lines that are not rows of job J (first at lines 3, 9), 1 duplicate row (line 40)`;
 * 'no problems' when there are none.
 */
export function formatProblems(p: OutputProblems, job: string | null): string {
  const parts = problemPhrases(p, job);
  return parts.length > 0 ? parts.join(', ') : 'no problems';
}

/**
 * The parsed rows of a JSONL file as it is when asked, a step's worth at a time (for summaries
 * and reports; the reading is follow.ts's, ended from the start): split on '\n' (a '\r' before
 * it is JSON whitespace), blank lines skipped, lines that do not parse skipped and counted in
 * `stats.bad`, a last line without its newline parsed like the others. `keep` leaves out rows it
 * says no to. A chunk's lines are decoded in one call and iterated without a promise each: the
 * rows of a run's summary were most of its end (106,778 rows: 270 ms through readline and an
 * async generator per row, BENCHMARKS.md).
 */
export async function* readRowBatches(path: string, stats?: { bad: number }, keep?: (r: Record<string, unknown>) => boolean): AsyncGenerator<Record<string, unknown>[]> {
  let size: number;
  try {
    size = statSync(path).size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  const f = new RowFollower(path, () => size, keep ?? (() => true), stats);
  f.end();
  yield* f.batches();
}

/** The rows of readRowBatches one at a time. */
export function readRows(path: string, stats?: { bad: number }, keep?: (r: Record<string, unknown>) => boolean): AsyncIterable<Record<string, unknown>> {
  return rowsOfBatches(() => readRowBatches(path, stats, keep));
}
