/**
 * `shoal export` writes rows in task order: task ids in natural order (numbers by value), then
 * `index`, then as the file has them; the JSONL itself stays in completion order. An output in
 * order streams as it is; one out of order is sorted in memory, or in files (removed after)
 * when its spans do not fit, with the same table either way.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parse } from 'csv-parse/sync';
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet';
import { exportOutput, naturalCompare } from '../../src/export/index.js';

const dir = mkdtempSync(join(tmpdir(), 'shoal-export-order-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function line(task: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ job: 'J', task, kind: 'frames', status: 'ok', attempt: 1, agent: 'n1-7', host: 'n1', worker: 1, start: 1, end: 2, ...extra, value: { v: `${task}#${String(extra.index ?? '')}` } }) + '\n';
}

/** The rows of a frame chunk `first`..`last`, in index order. */
const chunk = (task: string, first: number, last: number): string => Array.from({ length: last - first + 1 }, (_, k) => line(task, { index: first + k, of: last - first + 1 })).join('');

const csvTasks = (path: string): string[][] => (parse(readFileSync(path), { columns: true }) as Record<string, string>[]).map((r) => [r.task!, r.index!]);

describe('naturalCompare', () => {
  it('numbers by value, the rest by code unit, ties by code unit', () => {
    const ids = ['frames_10-19', 'frames_0-9', 'frames_100-109', 'spin_03/1', 'spin_04', 'spin_03', 'spin_03/0', 'in_0042.10', 'in_0042.3', 'mol_b', 'mol_B', 'mol_a2', 'mol_a10', 'a1', 'a01', 'x99999999999999999999', 'x9999'];
    assert.deepEqual([...ids].sort(naturalCompare), [
      'a01', 'a1',
      'frames_0-9', 'frames_10-19', 'frames_100-109',
      'in_0042.3', 'in_0042.10',
      'mol_B', 'mol_a2', 'mol_a10', 'mol_b',
      'spin_03', 'spin_03/0', 'spin_03/1', 'spin_04',
      'x9999', 'x99999999999999999999',
    ]);
    // Padded ids (the rule now) sort the same as plain strings.
    const padded = Array.from({ length: 120 }, (_, i) => `spin_${String(i).padStart(3, '0')}`).reverse();
    assert.deepEqual([...padded].sort(naturalCompare), [...padded].sort());
    assert.equal(naturalCompare('x', 'x'), 0);
  });

  it('agrees with comparing the ids cut into numbers and text, on random ids', () => {
    // The reference: ids cut into runs of digits and single other characters; two runs of digits
    // compare by value, anything else by its first code unit; the id with runs left over is larger.
    const runs = (s: string): string[] => s.match(/\d+|\D/g) ?? [];
    const reference = (a: string, b: string): number => {
      const x = runs(a);
      const y = runs(b);
      for (let i = 0; i < Math.min(x.length, y.length); i++) {
        const p = x[i]!;
        const q = y[i]!;
        if (/^\d/.test(p) && /^\d/.test(q)) {
          if (BigInt(p) !== BigInt(q)) return BigInt(p) < BigInt(q) ? -1 : 1;
        } else if (p !== q) return p.charCodeAt(0) - q.charCodeAt(0);
      }
      return x.length - y.length || (a < b ? -1 : a > b ? 1 : 0);
    };
    const sign = (v: number): number => Math.sign(v);
    let seed = 7;
    const rnd = (n: number): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n);
    const alphabet = 'a_b/0012.9';
    const id = (): string => Array.from({ length: 1 + rnd(8) }, () => alphabet[rnd(alphabet.length)]).join('');
    for (let k = 0; k < 20_000; k++) {
      const a = id();
      const b = rnd(4) === 0 ? a.slice(0, rnd(a.length + 1)) + id() : id();
      assert.equal(sign(naturalCompare(a, b)), sign(reference(a, b)), `${a} vs ${b}`);
      assert.equal(sign(naturalCompare(a, b)), -sign(naturalCompare(b, a)), `${a} vs ${b}: antisymmetric`);
    }
  });
});

describe('export in task order', () => {
  // Chunks as they completed: out of order, the last one written in two pieces (index 20 first).
  const completion =
    chunk('frames_20-29', 20, 29) + chunk('frames_0-9', 0, 9) + 'not a row\n' + line('frames_30-31', { index: 31, of: 2 }) + line('frames_30-31', { index: 30, of: 2 }) + chunk('frames_10-19', 10, 19);
  const want = [...Array.from({ length: 32 }, (_, f) => [`frames_${f < 30 ? `${Math.floor(f / 10) * 10}-${Math.floor(f / 10) * 10 + 9}` : '30-31'}`, String(f)])];

  it('writes rows by task, then index, whatever order the JSONL has them in; the JSONL is left as it is', async () => {
    const src = join(dir, 'frames.jsonl');
    writeFileSync(src, completion);
    const r = await exportOutput(src, { format: 'csv', out: join(dir, 'frames.csv') });
    assert.deepEqual(csvTasks(r.out), want);
    assert.equal(r.rows, 32);
    assert.deepEqual(r.malformed, { count: 1, lines: [21] });
    assert.ok(r.order.moved > 0);
    assert.equal(r.order.spills, 0, 'a few spans sort in memory');
    assert.equal(readFileSync(src, 'utf8'), completion);
    const pq = await exportOutput(src, { format: 'parquet', out: join(dir, 'frames.parquet'), groupRows: 7 });
    const rows = await parquetReadObjects({ file: await asyncBufferFromFile(pq.out) });
    assert.deepEqual(rows.map((x) => [x.task, String(x.index)]), want);
  });

  it('sorts spans that do not fit in memory in files, the same table, and removes the files', async () => {
    const src = join(dir, 'many.jsonl');
    writeFileSync(src, completion);
    const out = join(dir, 'sorted', 'many.csv');
    mkdirSync(join(dir, 'sorted'));
    const r = await exportOutput(src, { format: 'csv', out, spansInMemory: 2 });
    assert.ok(r.order.spills >= 2, `spilled ${r.order.spills}`);
    assert.deepEqual(csvTasks(out), want);
    assert.deepEqual(readdirSync(join(dir, 'sorted')), ['many.csv'], 'no sort files left');
    // Many single-row tasks, reversed, through several files.
    const n = 1000;
    const big = join(dir, 'reversed.jsonl');
    writeFileSync(big, Array.from({ length: n }, (_, i) => line(`spin_${String(n - 1 - i).padStart(4, '0')}`)).join(''));
    const rr = await exportOutput(big, { format: 'csv', out: join(dir, 'sorted', 'reversed.csv'), spansInMemory: 64 });
    // The first task is the ordered prefix; the other 999 spans fill 15 files of 64 and a batch in memory.
    assert.equal(rr.order.spills, Math.floor((n - 1) / 64));
    assert.deepEqual(csvTasks(join(dir, 'sorted', 'reversed.csv')).map((x) => x[0]), Array.from({ length: n }, (_, i) => `spin_${String(i).padStart(4, '0')}`));
  });

  it('an output in task order streams as it is; duplicates keep their order, after the task they repeat', async () => {
    const ordered = chunk('frames_0-9', 0, 9) + chunk('frames_10-19', 10, 19);
    const src = join(dir, 'ordered.jsonl');
    writeFileSync(src, ordered);
    const r = await exportOutput(src, { format: 'csv', out: join(dir, 'ordered.csv') });
    assert.deepEqual(r.order, { moved: 0, spills: 0 });
    assert.deepEqual(csvTasks(r.out).map((x) => x[1]), Array.from({ length: 20 }, (_, i) => String(i)));
    // A task written twice (an output not yet repaired): both copies, the first first.
    const dup = join(dir, 'dup.jsonl');
    writeFileSync(dup, line('b', { attempt: 1 }) + line('a') + line('b', { attempt: 2 }));
    const d = await exportOutput(dup, { format: 'csv', out: join(dir, 'dup.csv') });
    const rows = parse(readFileSync(d.out), { columns: true }) as Record<string, string>[];
    assert.deepEqual(rows.map((x) => [x.task, x.attempt]), [['a', '1'], ['b', '1'], ['b', '2']]);
    assert.ok(!readdirSync(dir).some((f) => f.startsWith('.shoal-export-sort-')), 'no sort files left');
  });
});
