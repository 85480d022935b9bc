/**
 * The line-by-line scan of an output (definitions in journal.ts): one streaming pass that
 * rebuilds the committed tasks and judges every stretch of the file, for the sink's
 * resume, `shoal verify` and `shoal repair` alike.
 *
 * Lines are split on '\n' over raw bytes (not with readline, which also breaks on a lone
 * '\r' and hides a '\r\n'), so every offset is exact and a repair can copy lines byte for byte.
 */
import { closeSync, createReadStream, fstatSync, openSync } from 'node:fs';
import { TaskStatusSet, type TaskNumbers } from './task-set.js';

/** One kind of problem: how many lines, and the 1-based numbers of the first few. */
export interface LineProblem {
  count: number;
  /** The first {@link MAX_LINE_NUMBERS} line numbers, in file order. */
  lines: number[];
}

/** What is wrong with an output, besides a torn tail (which resuming repairs by itself). */
export interface OutputProblems {
  foreign: LineProblem;
  duplicates: LineProblem;
  incomplete: LineProblem;
}

/** How many line numbers a {@link LineProblem} keeps. */
export const MAX_LINE_NUMBERS = 5;

/** What the scan made of a stretch of the file. */
export type SegmentVerdict = 'kept' | 'foreign' | 'duplicate' | 'incomplete' | 'torn';

/** A byte range `[start, end)` of whole lines (the torn tail may end without a newline). */
export interface Segment {
  verdict: SegmentVerdict;
  start: number;
  end: number;
  /** The 1-based number of its first line. */
  line: number;
  /** How many lines it spans. */
  lines: number;
}

export interface JournalScan {
  /** Committed tasks and whether their (first) row is ok or error. */
  done: TaskStatusSet;
  /** Rows of complete tasks of the job (duplicates included: they stay in the file). */
  rows: number;
  /** Bytes of the torn tail: cut from the end with `repair`, else what would be cut (0 when none). */
  repairedBytes: number;
  /** Lines that are not rows of this job (unparseable or another job): counted, kept, ignored. */
  foreign: number;
  /** The job scanned for: the one asked for, else the first row's (null: no job, no row). */
  job: string | null;
  /** Bytes scanned (the file's size when the scan began). */
  size: number;
  /** Complete lines (ending with a newline). */
  lines: number;
  /** Rows of the first complete row set of each task: what a repaired file holds. */
  keptRows: number;
  /** Tasks whose first complete set has no error record. */
  okTasks: number;
  /** Tasks whose first complete set has at least one error record. */
  errorTasks: number;
  /** Error records among the kept rows. */
  errorRows: number;
  problems: OutputProblems;
  /** The line where the torn tail begins (null when there is none). */
  tornLine: number | null;
  /** 'none': empty or missing file; 'row': the first line is a row (of any job); 'other': not a shoal output. */
  firstLine: 'none' | 'row' | 'other';
  /** The job of the first row in the file, if any. */
  firstJob: string | null;
  /** False when the file does not exist (then the scan is empty). */
  exists: boolean;
}

export interface ScanOptions {
  /** The job whose rows count; null or absent: the job of the first row. */
  job?: string | null;
  /** Told, in file order, what each stretch of the file is; the segments cover it all. */
  onSegment?: (s: Segment) => void;
  /** The job's task numbers, so the committed tasks take a byte each (see TaskStatusSet). */
  numbers?: TaskNumbers;
}

interface RowInfo {
  job: string;
  task: string;
  status: 'ok' | 'error';
  /** The record's own number (a frame number, not a position in the set); 0 for a single-row task. */
  index: number;
  /** How many rows the task has; 0 for a single-row task. */
  of: number;
}

/** A line as a row, or null when it is not one (see journal.ts). */
function parseRow(text: string): RowInfo | null {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return null;
  const r = v as { job?: unknown; task?: unknown; kind?: unknown; status?: unknown; index?: unknown; of?: unknown };
  if (typeof r.job !== 'string' || typeof r.task !== 'string' || typeof r.kind !== 'string') return null;
  if (r.status !== 'ok' && r.status !== 'error') return null;
  if (r.of === undefined) return { job: r.job, task: r.task, status: r.status, index: 0, of: 0 };
  const { index, of } = r;
  if (typeof of !== 'number' || !Number.isInteger(of) || of < 1 || typeof index !== 'number' || !Number.isFinite(index)) return null;
  return { job: r.job, task: r.task, status: r.status, index, of };
}

/** Every rendered row begins so (rows.ts): how a first line torn mid-row is still told from a foreign file. */
const ROW_START = '{"job":';

/** A line this long is foreign without being decoded: no row is anywhere near it. */
const MAX_LINE_BYTES = 256 * 2 ** 20;

function problem(): LineProblem {
  return { count: 0, lines: [] };
}

function note(p: LineProblem, line: number, n: number): void {
  for (let i = 0; i < n && p.lines.length < MAX_LINE_NUMBERS; i++) p.lines.push(line + i);
  p.count += n;
}

interface OpenSet {
  task: string;
  of: number;
  /** Indices seen so far: a repeated one means the task's rows started over. */
  seen: Set<number>;
  status: 'ok' | 'error';
  errors: number;
  start: number;
}

/** The line-by-line state of a scan; lines arrive with their byte range. */
class Scanner {
  readonly scan: JournalScan;
  /** Start of the unsettled region: unfinished row sets since the last settled line. */
  private pendStart = 0;
  private pendLine = 1;
  /** Lines of the unsettled region before `set` (interrupted sets). */
  private pendLines = 0;
  private set: OpenSet | null = null;

  constructor(
    job: string | null,
    size: number,
    private readonly onSegment: ((s: Segment) => void) | undefined,
    numbers: TaskNumbers | null = null,
  ) {
    this.scan = {
      done: new TaskStatusSet(numbers),
      rows: 0,
      repairedBytes: 0,
      foreign: 0,
      job,
      size,
      lines: 0,
      keptRows: 0,
      okTasks: 0,
      errorTasks: 0,
      errorRows: 0,
      problems: { foreign: problem(), duplicates: problem(), incomplete: problem() },
      tornLine: null,
      firstLine: 'none',
      firstJob: null,
      exists: true,
    };
  }

  line(text: string | null, start: number, end: number): void {
    const s = this.scan;
    const n = ++s.lines;
    const r = text === null ? null : parseRow(text);
    if (n === 1) s.firstLine = r ? 'row' : 'other';
    if (r) {
      s.firstJob ??= r.job;
      s.job ??= r.job;
    }
    if (!r || r.job !== s.job) {
      this.interrupt();
      s.foreign++;
      note(s.problems.foreign, n, 1);
      this.settle('foreign', start, end, n, 1);
      return;
    }
    if (r.of === 0) {
      this.interrupt();
      this.complete(r.task, r.status, r.status === 'error' ? 1 : 0, start, end, n, 1);
      return;
    }
    const o = this.set;
    if (o && o.task === r.task && o.of === r.of && !o.seen.has(r.index)) {
      o.seen.add(r.index);
      if (r.status === 'error') o.errors++;
    } else {
      this.interrupt();
      this.set = { task: r.task, of: r.of, seen: new Set([r.index]), status: r.status, errors: r.status === 'error' ? 1 : 0, start };
    }
    const c = this.set!;
    if (c.seen.size === c.of) {
      this.set = null;
      this.complete(c.task, c.status, c.errors, c.start, end, n - c.of + 1, c.of);
    }
  }

  /** An open set followed by something else will never complete: it joins the unsettled region. */
  private interrupt(): void {
    if (!this.set) return;
    this.pendLines += this.set.seen.size;
    this.set = null;
  }

  /** A task's whole row set `[start, end)`: kept if it is the task's first, else a duplicate. */
  private complete(task: string, status: 'ok' | 'error', errors: number, start: number, end: number, line: number, lines: number): void {
    const s = this.scan;
    s.rows += lines;
    if (s.done.has(task)) {
      note(s.problems.duplicates, line, lines);
      this.settle('duplicate', start, end, line, lines);
      return;
    }
    s.done.set(task, status);
    s.keptRows += lines;
    s.errorRows += errors;
    if (errors > 0) s.errorTasks++;
    else s.okTasks++;
    this.settle('kept', start, end, line, lines);
  }

  /** Lines `[start, end)` are judged: what was unsettled before them was incomplete. */
  private settle(verdict: SegmentVerdict, start: number, end: number, line: number, lines: number): void {
    if (this.pendLines > 0) {
      note(this.scan.problems.incomplete, this.pendLine, this.pendLines);
      this.onSegment?.({ verdict: 'incomplete', start: this.pendStart, end: start, line: this.pendLine, lines: this.pendLines });
    }
    this.onSegment?.({ verdict, start, end, line, lines });
    this.pendStart = end;
    this.pendLine = line + lines;
    this.pendLines = 0;
  }

  /** The end of the file: what is still unsettled, and a last line without newline, is the torn tail. */
  finish(fragment: string | null, fragmentBytes: number): void {
    const s = this.scan;
    if (s.lines === 0 && fragmentBytes > 0) {
      const r = fragment === null ? null : parseRow(fragment);
      s.firstLine = r || fragment?.startsWith(ROW_START) ? 'row' : 'other';
      if (r) s.firstJob = r.job;
    }
    if (this.pendStart >= s.size) return;
    s.repairedBytes = s.size - this.pendStart;
    s.tornLine = this.pendLine;
    const lines = this.pendLines + (this.set?.seen.size ?? 0) + (fragmentBytes > 0 ? 1 : 0);
    this.onSegment?.({ verdict: 'torn', start: this.pendStart, end: s.size, line: this.pendLine, lines });
  }
}

/**
 * Scans an output in one streaming pass (memory: the committed-task set, and the longest line).
 * A missing file is an empty scan with `exists: false`; other read errors are thrown.
 */
export async function scanOutput(path: string, opts: ScanOptions = {}): Promise<JournalScan> {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    const empty = new Scanner(opts.job ?? null, 0, undefined, opts.numbers).scan;
    empty.exists = false;
    return empty;
  }
  // The size is fixed first and nothing past it is read: a consistent snapshot to judge.
  let size: number;
  try {
    size = fstatSync(fd).size;
  } catch (err) {
    closeSync(fd);
    throw err;
  }
  const sc = new Scanner(opts.job ?? null, size, opts.onSegment, opts.numbers);
  if (size === 0) {
    closeSync(fd);
    return sc.scan;
  }
  let offset = 0; // the byte offset of the first byte not yet in a complete line
  let parts: Buffer[] = []; // the line under way, across chunks
  let partBytes = 0;
  const stream = createReadStream('', { fd, start: 0, end: size - 1, highWaterMark: 1 << 20 });
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    let pos = 0;
    let nl = chunk.indexOf(10);
    if (nl !== -1 && partBytes > 0) {
      const len = partBytes + nl;
      const text = len > MAX_LINE_BYTES ? null : Buffer.concat([...parts, chunk.subarray(0, nl)]).toString('utf8');
      sc.line(text, offset, offset + len + 1);
      offset += len + 1;
      parts = [];
      partBytes = 0;
      pos = nl + 1;
      nl = chunk.indexOf(10, pos);
    }
    while (nl !== -1) {
      sc.line(nl - pos > MAX_LINE_BYTES ? null : chunk.toString('utf8', pos, nl), offset, offset + nl - pos + 1);
      offset += nl - pos + 1;
      pos = nl + 1;
      nl = chunk.indexOf(10, pos);
    }
    if (pos < chunk.length) {
      // Past the limit only the length matters: the line is foreign whatever it holds.
      if (partBytes <= MAX_LINE_BYTES) parts.push(chunk.subarray(pos));
      partBytes += chunk.length - pos;
    }
  }
  sc.finish(partBytes > 0 && partBytes <= MAX_LINE_BYTES ? Buffer.concat(parts).toString('utf8') : null, partBytes);
  return sc.scan;
}

