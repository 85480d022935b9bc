/**
 * Reading an output's rows back (summaries, reports): every row in order, across the reader's
 * 1 MiB chunks (a row longer than a chunk, multi-byte characters cut by a chunk's end), '\r\n'
 * line ends, blank lines skipped, lines that are not JSON counted and skipped, a last line
 * without its newline read, a filter, and a reader left early.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { readRowBatches, readRows } from '../../src/sink/index.js';
import { tempSuite } from '../helpers/suite.js';

const scratch = tempSuite('shoal-read-rows-');

async function all(path: string, stats?: { bad: number }, keep?: (r: Record<string, unknown>) => boolean): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  for await (const r of readRows(path, stats, keep)) out.push(r);
  return out;
}

test('rows across chunks, long rows and multi-byte characters come back whole and in order', async () => {
  const rows: Record<string, unknown>[] = [];
  for (let i = 0; i < 30_000; i++) rows.push({ job: i % 3 === 0 ? 'B' : 'A', task: `t${i}`, v: i % 1000 === 7 ? 'é🧪分'.repeat(50_000) : 'ü'.repeat(i % 5) });
  rows.push({ job: 'A', task: 'long', v: 'x'.repeat(3 << 20) });
  const path = join(scratch.dir, 'many.jsonl');
  writeFileSync(path, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  const stats = { bad: 0 };
  assert.deepEqual(await all(path, stats), rows);
  assert.equal(stats.bad, 0);
  assert.deepEqual(await all(path, undefined, (r) => r.job === 'B'), rows.filter((r) => r.job === 'B'));
  let batches = 0;
  for await (const b of readRowBatches(path)) batches += b.length > 0 ? 1 : 0;
  assert.ok(batches > 1, 'more than one chunk');
});

test('CRLF ends, blank lines, lines that are not JSON and a last line without its newline', async () => {
  const path = join(scratch.dir, 'odd.jsonl');
  writeFileSync(path, '{"task":"a"}\r\n\n\r\n{"task":"b"}\nnot json\n{"task":"c",\n{"task":"d"}');
  const stats = { bad: 0 };
  assert.deepEqual(await all(path, stats), [{ task: 'a' }, { task: 'b' }, { task: 'd' }]);
  assert.equal(stats.bad, 2);
});

test('a missing file has no rows, and a reader left early stops', async () => {
  assert.deepEqual(await all(join(scratch.dir, 'none.jsonl')), []);
  const path = join(scratch.dir, 'few.jsonl');
  writeFileSync(path, Array.from({ length: 100 }, (_, i) => JSON.stringify({ i })).join('\n'));
  let seen = 0;
  for await (const r of readRows(path)) {
    seen++;
    if (r.i === 4) break;
  }
  assert.equal(seen, 5);
});
