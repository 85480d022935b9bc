/**
 * Sorting the spans of an export (order.ts) in bounded memory: spans are kept in memory up to
 * SPANS_IN_MEMORY; past that each full batch is sorted and written to a file of its own (one
 * line per span), and the sorted spans come out of a merge of those files and the last batch.
 * A file of any number of tasks is sorted holding one batch, plus a line per batch file.
 */
import { createReadStream, createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { placeOrder, type Span } from './order.js';

/** Spans sorted in memory at once (about 100 bytes each). */
export const SPANS_IN_MEMORY = 250_000;

/** A span as a line of a batch file, and back. */
function spanLine(s: Span): string {
  return `${s.start}\t${s.end}\t${s.index}\t${JSON.stringify(s.task)}\n`;
}

function parseSpan(line: string): Span {
  const [start, end, index] = line.split('\t', 3);
  const task = JSON.parse(line.slice(start!.length + end!.length + index!.length + 3)) as string;
  return { task, index: Number(index), start: Number(start), end: Number(end) };
}

/** A min-heap of iterators by their current span. */
class Heads {
  private readonly items: Array<{ span: Span; it: AsyncIterator<Span> }> = [];

  get size(): number {
    return this.items.length;
  }

  push(item: { span: Span; it: AsyncIterator<Span> }): void {
    const a = this.items;
    a.push(item);
    for (let i = a.length - 1; i > 0; ) {
      const p = (i - 1) >> 1;
      if (placeOrder(a[p]!.span, a[i]!.span) <= 0) break;
      [a[p], a[i]] = [a[i]!, a[p]!];
      i = p;
    }
  }

  pop(): { span: Span; it: AsyncIterator<Span> } {
    const a = this.items;
    const top = a[0]!;
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && placeOrder(a[l]!.span, a[m]!.span) < 0) m = l;
        if (r < a.length && placeOrder(a[r]!.span, a[m]!.span) < 0) m = r;
        if (m === i) break;
        [a[m], a[i]] = [a[i]!, a[m]!];
        i = m;
      }
    }
    return top;
  }
}

/** Spans in, sorted spans out. `close` removes the batch files (idempotent). */
export class SpanSorter {
  private batch: Span[] = [];
  private readonly files: string[] = [];
  private dir: string | null = null;

  /** `tmp`: where batch files go (a folder is made in it only when the spans do not fit in memory). */
  constructor(
    private readonly tmp: string,
    private readonly inMemory = SPANS_IN_MEMORY,
  ) {}

  /** Batch files written (0: everything was sorted in memory). */
  get spills(): number {
    return this.files.length;
  }

  async add(s: Span): Promise<void> {
    this.batch.push(s);
    if (this.batch.length >= this.inMemory) await this.spill();
  }

  private async spill(): Promise<void> {
    this.dir ??= mkdtempSync(join(this.tmp, '.shoal-export-sort-'));
    const path = join(this.dir, `${this.files.length}.spans`);
    this.files.push(path);
    const out = createWriteStream(path, { highWaterMark: 1 << 20 });
    for (const s of this.batch.sort(placeOrder)) if (!out.write(spanLine(s))) await once(out, 'drain');
    out.end();
    await once(out, 'finish');
    this.batch = [];
  }

  /** The spans in order (once: the batch is sorted in place). */
  async *sorted(): AsyncGenerator<Span> {
    this.batch.sort(placeOrder);
    if (this.files.length === 0) {
      yield* this.batch;
      return;
    }
    const heads = new Heads();
    const sources: AsyncIterator<Span>[] = [...this.files.map((f) => spansOf(f)), arrayIterator(this.batch)];
    for (const it of sources) {
      const first = await it.next();
      if (!first.done) heads.push({ span: first.value, it });
    }
    while (heads.size > 0) {
      const h = heads.pop();
      yield h.span;
      const next = await h.it.next();
      if (!next.done) heads.push({ span: next.value, it: h.it });
    }
  }

  close(): void {
    if (this.dir !== null) rmSync(this.dir, { recursive: true, force: true });
    this.dir = null;
  }
}

async function* arrayIterator(spans: Span[]): AsyncGenerator<Span> {
  yield* spans;
}

/** A batch file's spans. The file is opened on the first `next`, and read from then on: lines read before anyone listens would be lost. */
async function* spansOf(path: string): AsyncGenerator<Span> {
  const lines = createInterface({ input: createReadStream(path, { highWaterMark: 1 << 16 }), crlfDelay: Infinity });
  for await (const line of lines) if (line !== '') yield parseSpan(line);
}
