/**
 * An output's lines as rows: parsed a chunk of text at a time, and handed on one at a time from
 * those batches (summaries, reports, the summary's follower).
 */

/** The rows among `text`'s lines (`keep` says which); lines that are not JSON are counted in `stats`. */
export function parseLines(text: string, stats: { bad: number } | undefined, keep: ((r: Record<string, unknown>) => boolean) | undefined): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  let s = 0;
  while (s < text.length) {
    let e = text.indexOf('\n', s);
    if (e < 0) e = text.length;
    if (e > s && !(e === s + 1 && text.charCodeAt(s) === 13)) {
      try {
        const r = JSON.parse(text.slice(s, e)) as Record<string, unknown>;
        if (!keep || keep(r)) out.push(r);
      } catch {
        if (stats) stats.bad++;
      }
    }
    s = e + 1;
  }
  return out;
}

/** Rows one at a time from batches of them (one promise a row, not the several of a generator's yield*). */
export function rowsOfBatches(start: () => AsyncGenerator<Record<string, unknown>[]>): AsyncIterable<Record<string, unknown>> {
  return {
    [Symbol.asyncIterator]() {
      const batches = start();
      let batch: Record<string, unknown>[] = [];
      let i = 0;
      return {
        async next(): Promise<IteratorResult<Record<string, unknown>>> {
          while (i >= batch.length) {
            const b = await batches.next();
            if (b.done) return { value: undefined, done: true };
            batch = b.value;
            i = 0;
          }
          return { value: batch[i++]!, done: false };
        },
        async return(): Promise<IteratorResult<Record<string, unknown>>> {
          await batches.return(undefined);
          return { value: undefined, done: true };
        },
      };
    },
  };
}
