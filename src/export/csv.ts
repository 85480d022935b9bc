/**
 * A table as CSV (RFC 4180, by csv-stringify, the writer paired with the csv-parse that reads
 * task inputs): a header line of column names, then one line per row, streamed with
 * back-pressure. Numbers are written as JavaScript writes them (the shortest text that reads
 * back as the same double), booleans as `true`/`false`, nulls as empty fields; a field is quoted
 * only when it holds a comma, a quote or a line break.
 */
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { stringify } from 'csv-stringify';
import type { Cell, Column } from './columns.js';

/** Writes the header and `rows` (cells in column order) to `out`, ended unless `end` is false (stdout); returns the rows written. */
export async function writeCsv(out: Writable, columns: readonly Column[], rows: AsyncIterable<Cell[]>, end = true): Promise<number> {
  let total = 0;
  async function* records(): AsyncGenerator<Cell[]> {
    yield columns.map((c) => c.name);
    for await (const cells of rows) {
      total++;
      yield cells;
    }
  }
  const csv = stringify({ cast: { boolean: (b) => (b ? 'true' : 'false') } });
  await pipeline(records, csv, out, { end });
  return total;
}
