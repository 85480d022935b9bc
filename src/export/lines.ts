/**
 * The lines of a JSONL file between two byte offsets, numbered from 1 (from the first line
 * read), split on '\n' over raw bytes (a '\r' before it is JSON whitespace), each with where it
 * lies in the file. The bytes after the last '\n' are not a line: they are the torn tail of a
 * write cut short, reported and never yielded.
 */
import { createReadStream } from 'node:fs';

/** A line longer than this is not decoded (no row is anywhere near it): it is yielded as null. */
export const MAX_LINE_BYTES = 256 * 2 ** 20;

export interface Line {
  /** Its text without the '\n'; null when it is longer than MAX_LINE_BYTES. */
  text: string | null;
  /** 1-based. */
  number: number;
  /** Its first byte's offset in the file, and the offset just after its '\n'. */
  start: number;
  end: number;
}

/** What follows the last complete line. */
export interface TornTail {
  /** The number the line would have had. */
  line: number;
  bytes: number;
}

/** Streams the complete lines of bytes `[from, size)` of `path`; `torn` is set when the bytes end mid-line. */
export async function* readLines(path: string, size: number, torn: { tail: TornTail | null }, from = 0): AsyncGenerator<Line> {
  torn.tail = null;
  if (size <= from) return;
  let number = 0;
  let parts: Buffer[] = [];
  let partBytes = 0;
  let base = from;
  const stream = createReadStream(path, { start: from, end: size - 1, highWaterMark: 1 << 20 });
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    let pos = 0;
    let nl = chunk.indexOf(10);
    while (nl !== -1) {
      const len = partBytes + nl - pos;
      let text: string | null = null;
      if (len <= MAX_LINE_BYTES) text = partBytes > 0 ? Buffer.concat([...parts, chunk.subarray(pos, nl)]).toString('utf8') : chunk.toString('utf8', pos, nl);
      const start = base + pos - partBytes;
      parts = [];
      partBytes = 0;
      yield { text, number: ++number, start, end: base + nl + 1 };
      pos = nl + 1;
      nl = chunk.indexOf(10, pos);
    }
    if (pos < chunk.length) {
      if (partBytes <= MAX_LINE_BYTES) parts.push(chunk.subarray(pos));
      partBytes += chunk.length - pos;
    }
    base += chunk.length;
  }
  if (partBytes > 0) torn.tail = { line: number + 1, bytes: partBytes };
}
