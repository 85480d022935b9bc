/**
 * `shoal export` as a user runs it, on real outputs of `shoal run` (embedded, no NATS): spin
 * (with failed tasks), conformers (examples/conformers, with --symmetry, three thresholds and
 * --matrix) and frames (examples/frames, one row per frame). Each is exported to CSV and to
 * Parquet, read back with csv-parse and hyparquet, and every cell checked against the JSONL,
 * the table's rows in task order (the JSONL's are in the order tasks completed), error rows
 * with the columns of their input. (pandas is not on this machine's python3, so no check reads
 * the tables with it.)
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'csv-parse/sync';
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } from 'hyparquet';
import { tempSuite } from '../helpers/suite.js';
import { runShoal } from '../helpers/shoal.js';
import { readRows, type Row } from '../helpers/rows.js';
import { naturalCompare } from '../../src/export/index.js';
import { repoRoot } from '../helpers/paths.js';

const scratch = tempSuite('shoal-export-');
const example = (...p: string[]): string => join(repoRoot, 'examples', ...p);
const RUN_MS = 300_000;

type Cells = Record<string, unknown>;

/** Runs a job to FILE (exit 0, or 1 when `failures`), returns its rows. */
async function produce(name: string, args: string[], failures = false): Promise<{ file: string; rows: Row[] }> {
  const file = join(scratch.dir, `${name}.jsonl`);
  const r = await runShoal(['run', ...args, '--workers', '2', '--job', name, '--out', file], { timeoutMs: RUN_MS });
  assert.equal(r.code, failures ? 1 : 0, r.describe());
  return { file, rows: readRows(file) };
}

/** `shoal export` with `args`; returns its report (--json). */
async function exportTo(file: string, args: string[]): Promise<{ out: string; rows: number; columns: { name: string; type: string }[]; skipped: { column: string; rows: number }[]; stderr: string }> {
  const r = await runShoal(['export', file, ...args, '--json'], { timeoutMs: RUN_MS });
  assert.equal(r.code, 0, r.describe());
  return { ...(JSON.parse(r.stdout) as { out: string; rows: number; columns: { name: string; type: string }[]; skipped: { column: string; rows: number }[] }), stderr: r.stderr };
}

const csvOf = (path: string): Cells[] => parse(readFileSync(path), { columns: true }) as Cells[];
async function parquetOf(path: string): Promise<{ rows: Cells[]; types: Record<string, string | undefined> }> {
  const file = await asyncBufferFromFile(path);
  const md = await parquetMetadataAsync(file);
  return { rows: await parquetReadObjects({ file }), types: Object.fromEntries(md.schema.slice(1).map((s) => [s.name, s.type])) };
}

/** A table cell as the JSONL value it stands for: CSV text parsed by the column's type, Parquet INT64 BigInt as a number. */
function valueOf(cell: unknown, type: string, csv: boolean): unknown {
  if (!csv) return typeof cell === 'bigint' ? Number(cell) : cell;
  const text = cell as string;
  if (text === '') return null;
  if (type === 'int' || type === 'double') return Number(text);
  if (type === 'boolean') return text === 'true';
  return text;
}

/** The JSONL's rows in task order: task ids in natural order, then index, then as the file has them. */
const inTaskOrder = (rows: Row[]): Row[] => [...rows].sort((a, b) => naturalCompare(a.task, b.task) || (a.index ?? -1) - (b.index ?? -1));

/** Checks every row of a table against the JSONL rows in task order, through `expect(row)`: column → the JSONL value. */
function checkTable(what: string, table: Cells[], columns: { name: string; type: string }[], rows: Row[], expect: (r: Row) => Cells, csv: boolean): void {
  assert.equal(table.length, rows.length, `${what}: one table row per JSONL line`);
  const types = Object.fromEntries(columns.map((c) => [c.name, c.type]));
  inTaskOrder(rows).forEach((r, i) => {
    for (const [name, want] of Object.entries(expect(r))) {
      assert.ok(name in types, `${what}: column ${name} (columns: ${Object.keys(types).join(', ')})`);
      assert.deepEqual(valueOf(table[i]![name], types[name]!, csv), want ?? null, `${what}: row ${i + 1} (${r.task}) ${name}`);
    }
  });
}

const head = (r: Row): Cells => ({ job: r.job, task: r.task, kind: r.kind, status: r.status, attempt: r.attempt, agent: r.agent, host: r.host, worker: r.worker, start: r.start, end: r.end, 'error.code': r.error?.code, 'error.message': r.error?.message });

describe('shoal export', () => {
  it('spin, with failed tasks: CSV and Parquet hold every row, error rows with their code and message', async () => {
    const { file, rows } = await produce('spin', ['spin', '--tasks', '30', '--ms', '1', '--fail-tasks', '4,17'], true);
    assert.equal(rows.filter((r) => r.status === 'error').length, 2);
    // Error rows say what their task was given: input.number and input.ms.
    const expect = (r: Row): Cells => ({ ...head(r), 'input.number': r.input?.number, 'input.ms': r.input?.ms, ms: (r.value as { ms?: number } | undefined)?.ms });
    const inputs = rows.filter((r) => r.status === 'error').map((r) => r.input!);
    assert.deepEqual(inputs.sort((a, b) => (a.number as number) - (b.number as number)), [{ number: 4, ms: 1 }, { number: 17, ms: 1 }]);
    const csv = await exportTo(file, ['--format', 'csv']);
    assert.equal(csv.out, join(scratch.dir, 'spin.csv'));
    assert.deepEqual(csv.columns.map((c) => c.name), [...Object.keys(head(rows[0]!)), 'input.number', 'input.ms', 'ms']);
    assert.deepEqual(csvOf(csv.out).map((c) => c.task), Array.from({ length: 30 }, (_, i) => `spin_${String(i).padStart(2, '0')}`), 'in task order');
    checkTable('spin csv', csvOf(csv.out), csv.columns, rows, expect, true);
    const pq = await exportTo(file, ['--out', join(scratch.dir, 'spin.parquet')]);
    const { rows: table, types } = await parquetOf(pq.out);
    checkTable('spin parquet', table, pq.columns, rows, expect, false);
    assert.deepEqual([types.attempt, types.start, types.ms, types['error.code']], ['INT64', 'INT64', 'INT64', 'BYTE_ARRAY']);
  });

  it('conformers: thresholds ascending in the JSONL, metrics.d<threshold> columns with --flat, the matrix left out', async () => {
    const { file, rows } = await produce('conf', ['conformers', '--ref', example('conformers', 'ref.sdf'), '--gen', example('conformers', 'gen.sdf'), '--symmetry', '--threshold', '1.0,0.5,0.75', '--matrix']);
    assert.equal(rows.length, 12);
    for (const text of readFileSync(file, 'utf8').trimEnd().split('\n')) {
      const at = ['"0.5":', '"0.75":', '"1.0":'].map((k) => text.indexOf(k));
      assert.ok(at[0]! > 0 && at[0]! < at[1]! && at[1]! < at[2]!, `thresholds in ascending order in ${text.slice(0, 80)}…`);
    }
    const DELTAS: [string, string][] = [['0.5', 'd0_5'], ['0.75', 'd0_75'], ['1.0', 'd1_0']];
    const METRICS = ['cov_r', 'amr_r', 'cov_p', 'amr_p'] as const;
    const expect = (r: Row): Cells => {
      const v = r.value as { key: string; n_ref: number; n_gen: number; heavy_atoms: number; symmetry: { mode: string; match: string; mappings: number; capped: boolean; orders: number }; n_excluded: number; row_min: number[]; col_min: number[]; metrics: Record<string, Record<string, number>> };
      const cells: Cells = {
        ...head(r), key: v.key, n_ref: v.n_ref, n_gen: v.n_gen, heavy_atoms: v.heavy_atoms, 'symmetry.mode': v.symmetry.mode, 'symmetry.match': v.symmetry.match, 'symmetry.mappings': v.symmetry.mappings,
        'symmetry.capped': v.symmetry.capped, 'symmetry.orders': v.symmetry.orders, n_excluded: v.n_excluded, row_min: JSON.stringify(v.row_min), col_min: JSON.stringify(v.col_min),
      };
      for (const [key, name] of DELTAS) for (const m of METRICS) cells[`metrics.${name}.${m}`] = v.metrics[key]![m];
      return cells;
    };
    for (const format of ['csv', 'parquet']) {
      const x = await exportTo(file, ['--format', format, '--flat']);
      const names = x.columns.map((c) => c.name);
      assert.deepEqual(names.filter((n) => n.startsWith('metrics.')).filter((_, i) => i % 4 === 0), ['metrics.d0_5.cov_r', 'metrics.d0_75.cov_r', 'metrics.d1_0.cov_r']);
      assert.equal(names.includes('matrix'), false);
      assert.deepEqual(x.skipped.map((s) => [s.column, s.rows]), [['matrix', 12]]);
      assert.match(x.stderr, /left out matrix: arrays of arrays in 12 rows/);
      const table = format === 'csv' ? csvOf(x.out) : (await parquetOf(x.out)).rows;
      checkTable(`conformers ${format}`, table, x.columns, rows, expect, format === 'csv');
    }
    // Without --flat, metrics is one column: its JSON text, thresholds ascending.
    const plain = await exportTo(file, ['--format', 'csv', '--out', join(scratch.dir, 'conf-plain.csv')]);
    const first = csvOf(plain.out)[0]!;
    assert.deepEqual(JSON.parse(first.metrics as string), (inTaskOrder(rows)[0]!.value as { metrics: unknown }).metrics);
    assert.match(first.metrics as string, /^\{"0\.5":.*"0\.75":.*"1\.0":/);
  });

  it('frames: one table row per frame, cog and com as x, y, z with --flat, types from the values', async () => {
    const { file, rows } = await produce('frames', ['frames', '--traj', example('frames', 'traj.dcd'), '--top', example('frames', 'top.pdb'), '--analyses', 'rg,rg_mass,cog,com,rmsd', '--chunk', '7']);
    assert.equal(rows.length, 60);
    const expect = (r: Row): Cells => {
      const v = r.value as { rg: number; rg_mass: number; cog: number[]; com: number[]; rmsd: number };
      return { ...head(r), index: r.index, of: r.of, rg: v.rg, rg_mass: v.rg_mass, 'cog.x': v.cog[0], 'cog.y': v.cog[1], 'cog.z': v.cog[2], 'com.x': v.com[0], 'com.y': v.com[1], 'com.z': v.com[2], rmsd: v.rmsd };
    };
    const csv = await exportTo(file, ['--format', 'csv', '--flat']);
    assert.deepEqual(csv.columns.map((c) => c.name).slice(0, 4), ['job', 'task', 'index', 'of']);
    assert.deepEqual(csvOf(csv.out).map((c) => Number(c.index)), Array.from({ length: 60 }, (_, i) => i), 'frames in frame order');
    checkTable('frames csv', csvOf(csv.out), csv.columns, rows, expect, true);
    const pq = await exportTo(file, ['--format', 'parquet', '--flat']);
    const { rows: table, types } = await parquetOf(pq.out);
    checkTable('frames parquet', table, pq.columns, rows, expect, false);
    assert.deepEqual([types.index, types.rg, types['cog.x'], types.rmsd], ['INT64', 'DOUBLE', 'DOUBLE', 'DOUBLE']);
    // To stdout: the same CSV, and what was written on stderr.
    const piped = await runShoal(['export', file, '--format', 'csv', '--flat', '--out', '-'], { timeoutMs: RUN_MS });
    assert.equal(piped.code, 0, piped.describe());
    assert.equal(piped.stdout, readFileSync(csv.out, 'utf8'));
    assert.match(piped.stderr, /wrote 60 rows, 23 columns \(csv, flat\)/);
  });
});
