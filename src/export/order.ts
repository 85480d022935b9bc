/**
 * Task order for `shoal export`: the JSONL is in completion order (the sink appends rows as
 * they commit), a table is in the order of the inputs: by task id in natural order (a number
 * in an id compares by its value, so `frames_9-9` comes before `frames_10-19` even unpadded;
 * with ids padded to the job's size that is plain string order), then by `index` within a
 * task, then as the file has them (duplicates keep their order).
 *
 * The first pass cuts the rows into spans: consecutive rows of one task with rising `index`
 * (a task's rows follow each other in the file), each known by its task, first index and byte
 * range. While spans come in order they are only counted: that part of the file (the ordered
 * prefix) is read again as a stream. Every span after the first one out of order goes to the
 * sorter (span-sort.ts), and the second pass merges the prefix's rows with the sorted spans',
 * read by their byte ranges. An output already in task order is streamed as before.
 */

/** Where a row (or the first row of a span) stands in task order. */
export interface Place {
  task: string;
  /** The row's index; -1 for a row without one. */
  index: number;
  /** Its first byte's offset in the file. */
  start: number;
}

/** Rows of one task with rising `index`, at bytes `[start, end)` of the file. */
export interface Span extends Place {
  end: number;
}

const isDigit = (c: number): boolean => c >= 48 && c <= 57;

/**
 * Natural order of ids: runs of digits compare by their value (leading zeros aside), anything
 * else by UTF-16 code unit; ids equal under it (`a01`, `a1`) by code unit.
 */
export function naturalCompare(a: string, b: string): number {
  if (a === b) return 0;
  // Most ids share a prefix and differ in a run of digits as long in both (padded ids), or not
  // in digits at all: past the common prefix, from the start of the digit run it ends in.
  const n = Math.min(a.length, b.length);
  let k = 0;
  while (k < n && a.charCodeAt(k) === b.charCodeAt(k)) k++;
  let i = k;
  while (i > 0 && isDigit(a.charCodeAt(i - 1))) i--;
  if (i === k && !(isDigit(a.charCodeAt(k)) && isDigit(b.charCodeAt(k)))) return k === n ? a.length - b.length : a.charCodeAt(k) - b.charCodeAt(k);
  let j = i;
  while (i < a.length && j < b.length) {
    const ca = a.charCodeAt(i);
    const cb = b.charCodeAt(j);
    if (isDigit(ca) && isDigit(cb)) {
      while (a.charCodeAt(i) === 48 && isDigit(a.charCodeAt(i + 1))) i++;
      while (b.charCodeAt(j) === 48 && isDigit(b.charCodeAt(j + 1))) j++;
      let ei = i;
      let ej = j;
      while (ei < a.length && isDigit(a.charCodeAt(ei))) ei++;
      while (ej < b.length && isDigit(b.charCodeAt(ej))) ej++;
      // A longer run (without leading zeros) is a larger number; runs as long compare digit by digit.
      if (ei - i !== ej - j) return ei - i - (ej - j);
      for (; i < ei; i++, j++) if (a.charCodeAt(i) !== b.charCodeAt(j)) return a.charCodeAt(i) - b.charCodeAt(j);
      continue;
    }
    if (ca !== cb) return ca - cb;
    i++;
    j++;
  }
  const rest = a.length - i - (b.length - j);
  if (rest !== 0) return rest;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The order of rows (and spans): task in natural order, index, place in the file. */
export function placeOrder(a: Place, b: Place): number {
  return naturalCompare(a.task, b.task) || a.index - b.index || a.start - b.start;
}

/** A row's index as a place takes it. */
export function indexOf(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : -1;
}

/** Bytes a span holds at most: a task of a million records is read in pieces, not at once. */
export const MAX_SPAN_BYTES = 8 * 2 ** 20;

/**
 * The first pass's side of ordering: rows in file order in, spans out. Spans in order extend
 * the ordered prefix (`prefixEnd`); from the first span out of order on, every span goes to
 * `out` (the sorter).
 */
export class SpanCutter {
  /** The file's ordered part: its rows are in task order and come before every span given to `out`. */
  prefixEnd = 0;
  /** Spans given to `out`. */
  moved = 0;
  private cur: Span | null = null;
  private lastIndex = -1;
  private last: Span | null = null;
  private ordered = true;

  constructor(private readonly out: (s: Span) => Promise<void>) {}

  /** A row at bytes `[start, end)` (its newline included). */
  async row(task: string, index: unknown, start: number, end: number): Promise<void> {
    const idx = indexOf(index);
    const c = this.cur;
    if (c && c.task === task && idx > this.lastIndex && c.end === start && end - c.start <= MAX_SPAN_BYTES) {
      c.end = end;
      this.lastIndex = idx;
      return;
    }
    await this.close();
    this.cur = { task, index: idx, start, end };
    this.lastIndex = idx;
  }

  /** A line that is not a row: the span ends. */
  async other(): Promise<void> {
    await this.close();
  }

  async finish(): Promise<void> {
    await this.close();
  }

  private async close(): Promise<void> {
    const s = this.cur;
    if (!s) return;
    this.cur = null;
    if (this.ordered && (this.last === null || placeOrder(this.last, s) <= 0)) {
      this.last = s;
      this.prefixEnd = s.end;
      return;
    }
    this.ordered = false;
    this.moved++;
    await this.out(s);
  }
}
