/**
 * The second pass of an export in task order (order.ts): the rows of the file's ordered prefix,
 * streamed, merged with the rows of the sorted spans, each read by its byte range. Spans that
 * follow each other in the file are read a block at a time; others by their own bytes only, so
 * an output in completion order costs one small read per span, never a block per span.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { parseRow, type Row } from './columns.js';
import { readLines } from './lines.js';
import { indexOf, placeOrder, type Place, type Span } from './order.js';

/** Bytes read at once when a span starts where the last one ended. */
const READ_AHEAD = 1 << 20;

/** Reads byte ranges of one file, keeping the last block read. `close` is idempotent. */
class ByteRanges {
  private fd: number | null;
  private buf = Buffer.alloc(0);
  private bufStart = 0;
  private lastEnd = -1;

  constructor(
    path: string,
    private readonly size: number,
  ) {
    this.fd = openSync(path, 'r');
  }

  /** Bytes `[start, end)`, within the size the export began with. */
  read(start: number, end: number): Buffer {
    const sequential = start === this.lastEnd;
    this.lastEnd = end;
    if (start >= this.bufStart && end <= this.bufStart + this.buf.length) return this.buf.subarray(start - this.bufStart, end - this.bufStart);
    const len = Math.min(Math.max(end - start, sequential ? READ_AHEAD : 0), this.size - start);
    const buf = Buffer.allocUnsafe(len);
    let got = 0;
    while (got < len) {
      const n = readSync(this.fd!, buf, got, len - got, start + got);
      if (n === 0) break;
      got += n;
    }
    this.buf = buf.subarray(0, got);
    this.bufStart = start;
    return this.buf.subarray(0, Math.min(end - start, got));
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}

interface Placed extends Place {
  row: Row;
}

/** The rows of the ordered prefix `[0, end)`, as the file has them. */
async function* prefixRows(file: string, end: number): AsyncGenerator<Placed> {
  for await (const line of readLines(file, end, { tail: null })) {
    const row = parseRow(line.text);
    if (row !== null) yield { row, task: row.task, index: indexOf(row.index), start: line.start };
  }
}

/** The rows of each span, read by its byte range (lines that are not rows were counted by the first pass). */
async function* spanRows(file: string, size: number, spans: AsyncIterable<Span>): AsyncGenerator<Placed> {
  const bytes = new ByteRanges(file, size);
  try {
    for await (const s of spans) {
      const buf = bytes.read(s.start, s.end);
      for (let at = 0; at < buf.length; ) {
        let nl = buf.indexOf(10, at);
        if (nl < 0) nl = buf.length;
        const row = parseRow(buf.toString('utf8', at, nl));
        if (row !== null) yield { row, task: row.task, index: indexOf(row.index), start: s.start + at };
        at = nl + 1;
      }
    }
  } finally {
    bytes.close();
  }
}

/** The rows of the first `size` bytes of `file` in task order: the prefix `[0, prefixEnd)` merged with `spans` (sorted). */
export async function* orderedRows(file: string, size: number, prefixEnd: number, spans: AsyncIterable<Span>): AsyncGenerator<Row> {
  const a = prefixRows(file, prefixEnd);
  const b = spanRows(file, size, spans);
  try {
    let x = await a.next();
    let y = await b.next();
    while (!x.done || !y.done) {
      if (y.done || (!x.done && placeOrder(x.value, y.value) <= 0)) {
        yield x.value!.row;
        x = await a.next();
      } else {
        yield y.value.row;
        y = await b.next();
      }
    }
  } finally {
    await a.return(undefined);
    await b.return(undefined);
  }
}
