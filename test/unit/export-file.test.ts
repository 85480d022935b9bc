/**
 * `exportOutput` on files: CSV read back with csv-parse and Parquet with hyparquet give the
 * rows' values and types; lines that are not rows and a torn last line are skipped and
 * reported; Parquet comes in row groups; only the bytes there were when the export began are
 * read; a failed export leaves no file; the format and the default path; errors name the file.
 */
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse } from 'csv-parse/sync';
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } from 'hyparquet';
import { defaultExportPath, exportOutput, formatFor } from '../../src/export/index.js';
import { ErrorCode } from '../../src/errors.js';

let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'shoal-export-file-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function line(task: string, value: unknown, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ job: 'J', task, kind: 'python', status: 'ok', attempt: 1, agent: 'n1-7', host: 'n1', worker: 1, start: 1763800000123, end: 1763800000456, ...extra, value }) + '\n';
}
const errorLine = (task: string): string =>
  JSON.stringify({ job: 'J', task, kind: 'python', status: 'error', attempt: 2, agent: 'n1-7', host: 'n1', worker: null, start: 1763800000123, end: 1763800000124, error: { code: 'E_EXCEPTION', message: 'KeyError: "x", in a,b' } }) + '\n';

function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

const csvRows = (path: string): Record<string, string>[] => parse(readFileSync(path), { columns: true }) as Record<string, string>[];
async function parquetRows(path: string): Promise<Record<string, unknown>[]> {
  return parquetReadObjects({ file: await asyncBufferFromFile(path) });
}

describe('exportOutput', () => {
  const text = line('in_0', { score: 0.5, n: 3, ok: true, tags: ['a'], sub: { x: 1.5 } }) + errorLine('in_1') + line('in_2', { score: 2, n: 4, ok: false, tags: [], sub: { x: 2 } });

  it('CSV: a header, a row per line, values as written; nested objects as JSON text', async () => {
    const src = file('a.jsonl', text);
    const r = await exportOutput(src, { format: 'csv' });
    assert.equal(r.out, join(dir, 'a.csv'));
    assert.equal(r.rows, 3);
    const rows = csvRows(r.out);
    assert.deepEqual(Object.keys(rows[0]!).slice(-5), ['score', 'n', 'ok', 'tags', 'sub']);
    assert.deepEqual(rows.map((x) => [x.task, x.status, x.score, x.n, x.ok, x.tags, x.sub, x['error.code'], x.worker]), [
      ['in_0', 'ok', '0.5', '3', 'true', '["a"]', '{"x":1.5}', '', '1'],
      ['in_1', 'error', '', '', '', '', '', 'E_EXCEPTION', ''],
      ['in_2', 'ok', '2', '4', 'false', '[]', '{"x":2}', '', '1'],
    ]);
    assert.equal(rows[1]!['error.message'], 'KeyError: "x", in a,b', 'quotes and commas survive');
    assert.deepEqual(r.columns.find((c) => c.name === 'score'), { name: 'score', type: 'double' });
  });

  it('Parquet: typed columns (INT64, DOUBLE, BOOLEAN, UTF-8), nulls, --flat names', async () => {
    const src = file('b.jsonl', text);
    const r = await exportOutput(src, { format: 'parquet', flat: true });
    assert.equal(r.out, join(dir, 'b.parquet'));
    const rows = await parquetRows(r.out);
    assert.equal(rows.length, 3);
    const [a, b, c] = rows as [Record<string, unknown>, Record<string, unknown>, Record<string, unknown>];
    assert.deepEqual([a.task, a.start, a.score, a.n, a.ok, a.tags, a['sub.x']], ['in_0', 1763800000123n, 0.5, 3n, true, '["a"]', 1.5]);
    assert.deepEqual([b.status, b.worker, b.score, b['sub.x'], b['error.code']], ['error', null, null, null, 'E_EXCEPTION']);
    assert.deepEqual([c.score, c.n, c.ok, c['sub.x']], [2, 4n, false, 2]);
    const md = await parquetMetadataAsync(await asyncBufferFromFile(r.out));
    const types = Object.fromEntries(md.schema.slice(1).map((s) => [s.name, s.type]));
    assert.deepEqual([types.task, types.start, types.score, types.n, types.ok], ['BYTE_ARRAY', 'INT64', 'DOUBLE', 'INT64', 'BOOLEAN']);
    assert.ok(md.schema.slice(1).every((s) => s.repetition_type === 'OPTIONAL'));
  });

  it('Parquet in row groups: every row read back, in order', async () => {
    let t = '';
    for (let i = 0; i < 2500; i++) t += line(`in_${i}`, { i, half: i / 2 });
    const src = file('groups.jsonl', t);
    const r = await exportOutput(src, { format: 'parquet', groupRows: 1000 });
    const md = await parquetMetadataAsync(await asyncBufferFromFile(r.out));
    assert.deepEqual(md.row_groups.map((g) => Number(g.num_rows)), [1000, 1000, 500]);
    const rows = await parquetRows(r.out);
    assert.deepEqual(rows.map((x) => Number(x.i)), Array.from({ length: 2500 }, (_, i) => i));
    assert.equal(rows[2499]!.half, 1249.5);
  });

  it('lines that are not rows and a torn last line are skipped and reported', async () => {
    const torn = line('in_9', { score: 1 }).slice(0, 40);
    const src = file('c.jsonl', text + 'not json\n' + '{"job":"J"}\n' + '\n' + line('in_3', { score: 1 }) + torn);
    const r = await exportOutput(src, { format: 'csv' });
    assert.deepEqual(r.malformed, { count: 3, lines: [4, 5, 6] });
    assert.deepEqual(r.torn, { line: 8, bytes: 40 });
    assert.deepEqual(csvRows(r.out).map((x) => x.task), ['in_0', 'in_1', 'in_2', 'in_3']);
  });

  it('reads only the bytes the file had when the export began', async () => {
    // A row appended between the passes (a running job) is not in the table: both passes read as far.
    const src = file('d.jsonl', line('in_0', { a: 1 }));
    const exported = exportOutput(src, { format: 'csv' });
    appendFileSync(src, line('in_1', { a: 2, b: 'new' }));
    const r = await exported;
    assert.equal(r.rows, 1);
    assert.deepEqual(csvRows(r.out).map((x) => [x.task, x.a, x.b]), [['in_0', '1', undefined]]);
  });

  it('an empty file gives the row columns and no rows', async () => {
    const src = file('e.jsonl', '');
    const csv = await exportOutput(src, { format: 'csv' });
    assert.equal(readFileSync(csv.out, 'utf8'), 'job,task,kind,status,attempt,agent,host,worker,start,end,error.code,error.message\n');
    const pq = await exportOutput(src, { format: 'parquet' });
    assert.deepEqual(await parquetRows(pq.out), []);
  });

  it('errors name the file; the output never replaces its input; a failed export leaves nothing', async () => {
    await assert.rejects(exportOutput(join(dir, 'missing.jsonl'), { format: 'csv' }), (e: Error & { code?: string }) => e.code === ErrorCode.Input && /missing\.jsonl: no such file/.test(e.message));
    await assert.rejects(exportOutput(dir, { format: 'csv' }), /not a file/);
    const src = file('f.jsonl', text);
    await assert.rejects(exportOutput(src, { format: 'csv', out: src }), (e: Error & { code?: string }) => e.code === ErrorCode.Usage);
    await assert.rejects(exportOutput(src, { format: 'parquet', out: '-' }), /Parquet cannot go to stdout/);
    const sub = join(dir, 'no-such-dir', 'f.csv');
    await assert.rejects(exportOutput(src, { format: 'csv', out: sub }), /cannot write .*no-such-dir\/f\.csv/);
    const before = readdirSync(dir).filter((n) => n.endsWith('.partial'));
    assert.deepEqual(before, []);
    assert.equal(existsSync(sub), false);
  });

  it('the format from --format or from --out; the default path beside the input', () => {
    assert.equal(formatFor('parquet', 'x.csv'), 'parquet');
    assert.equal(formatFor(undefined, 'x.CSV'), 'csv');
    assert.equal(formatFor(undefined, 'out/x.parquet'), 'parquet');
    assert.throws(() => formatFor(undefined, 'x.tsv'), /--format is required/);
    assert.throws(() => formatFor(undefined, undefined), /--format is required/);
    assert.throws(() => formatFor('xlsx', undefined), /--format xlsx: expected csv or parquet/);
    assert.equal(defaultExportPath('out/run.jsonl', 'csv'), 'out/run.csv');
    assert.equal(defaultExportPath('out/run.log', 'parquet'), 'out/run.log.parquet');
  });
});
