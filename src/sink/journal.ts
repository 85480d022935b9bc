/**
 * The output file is the journal: on start it is scanned to rebuild the set of committed
 * tasks, and a torn tail (a crash mid-write) is cut back to the last complete task.
 *
 * A torn tail is either a last line without its newline, or the rows of a multi-record
 * task fewer than its `of` says; both are removed so the task runs again.
 */
import { createReadStream, existsSync, ftruncateSync, openSync, closeSync, fstatSync } from 'node:fs';
import { createInterface } from 'node:readline';

export interface JournalScan {
  /** Committed tasks and whether their (first) row is ok or error. */
  done: Map<string, 'ok' | 'error'>;
  /** Complete rows kept. */
  rows: number;
  /** Bytes cut from the end (0 when the file was clean). */
  repairedBytes: number;
  /** Lines that are not rows of this job (unparseable or another job): counted, kept, ignored. */
  foreign: number;
}

interface LineInfo {
  task: string;
  status: 'ok' | 'error';
  of: number | null;
}

function parseLine(line: string, job: string): LineInfo | null {
  try {
    const r = JSON.parse(line) as { job?: unknown; task?: unknown; status?: unknown; of?: unknown };
    if (r.job !== job || typeof r.task !== 'string' || (r.status !== 'ok' && r.status !== 'error')) return null;
    return { task: r.task, status: r.status, of: typeof r.of === 'number' ? r.of : null };
  } catch {
    return null;
  }
}

/**
 * Scans `path` for rows of `job`; with `repair`, truncates a torn tail. A missing file is
 * an empty journal.
 */
export async function scanJournal(path: string, job: string, repair: boolean): Promise<JournalScan> {
  const scan: JournalScan = { done: new Map(), rows: 0, repairedBytes: 0, foreign: 0 };
  if (!existsSync(path)) return scan;
  const size = fstatOf(path);
  // Everything before `safeEnd` is whole: lines of complete tasks and foreign lines.
  let safeEnd = 0;
  let offset = 0;
  let group: { task: string; status: 'ok' | 'error'; of: number; count: number } | null = null;
  const commit = (task: string, status: 'ok' | 'error', rows: number, end: number): void => {
    if (!scan.done.has(task)) scan.done.set(task, status);
    scan.rows += rows;
    safeEnd = end;
  };
  const rl = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
  for await (const line of rl) {
    const end = offset + Buffer.byteLength(line) + 1;
    if (end > size) break; // the last line has no newline: torn
    offset = end;
    const info = parseLine(line, job);
    if (!info) {
      group = null;
      scan.foreign++;
      safeEnd = end;
      continue;
    }
    if (info.of === null) {
      group = null;
      commit(info.task, info.status, 1, end);
      continue;
    }
    if (group && group.task === info.task) group.count++;
    else group = { task: info.task, status: info.status, of: info.of, count: 1 };
    if (group.count >= group.of) {
      commit(group.task, group.status, group.count, end);
      group = null;
    }
  }
  if (safeEnd < size) {
    if (repair) {
      const fd = openSync(path, 'r+');
      try {
        ftruncateSync(fd, safeEnd);
      } finally {
        closeSync(fd);
      }
    }
    scan.repairedBytes = size - safeEnd;
  }
  return scan;
}

function fstatOf(path: string): number {
  const fd = openSync(path, 'r');
  try {
    return fstatSync(fd).size;
  } finally {
    closeSync(fd);
  }
}

/** Streams the parsed rows of a JSONL file (for summaries and reports); bad lines are skipped and counted. */
export async function* readRows(path: string, stats?: { bad: number }): AsyncGenerator<Record<string, unknown>> {
  if (!existsSync(path)) return;
  const rl = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
  for await (const line of rl) {
    if (line.length === 0) continue;
    try {
      yield JSON.parse(line) as Record<string, unknown>;
    } catch {
      if (stats) stats.bad++;
    }
  }
}
