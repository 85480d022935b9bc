/**
 * The table an export makes of rows (src/export/columns.ts): which columns, in which order,
 * of which type, and each row's cells: flattening with and without --flat, a kind's vectors
 * and numbered keys, multi-record rows, matrices left out, a kind's further row fields, value
 * fields named like row columns, values that are not objects, and the column cap.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isRow, MAX_COLUMNS, TableShape, type Cell, type Row, type Table } from '../../src/export/index.js';

const HEAD = ['job', 'task', 'kind', 'status', 'attempt', 'agent', 'host', 'worker', 'start', 'end', 'error.code', 'error.message'];

function row(value: unknown, extra: Record<string, unknown> = {}): Row {
  return { job: 'J', task: 't', kind: 'python', status: 'ok', attempt: 1, agent: 'n1-7', host: 'n1', worker: 2, start: 1000, end: 1500, ...extra, value } as Row;
}

function errorRow(extra: Record<string, unknown> = {}): Row {
  return { job: 'J', task: 'bad', kind: 'python', status: 'error', attempt: 3, agent: 'n1-7', host: 'n1', worker: null, start: 1000, end: 1001, ...extra, error: { code: 'E_EXCEPTION', message: 'ValueError: no' } } as Row;
}

function tableOf(rows: Row[], flat: boolean): Table {
  const shape = new TableShape(flat);
  rows.forEach((r, i) => shape.add(r, i + 1));
  return shape.finish();
}

const names = (t: Table): string[] => t.columns.map((c) => c.name);
const types = (t: Table): Record<string, string> => Object.fromEntries(t.columns.map((c) => [c.name, c.type]));
/** The cells of a row by column name. */
function byName(t: Table, r: Row): Record<string, Cell> {
  const cells = t.cells(r);
  assert.equal(cells.length, t.columns.length);
  return Object.fromEntries(t.columns.map((c, i) => [c.name, cells[i]!]));
}

describe('export columns', () => {
  it('a row is an object with string job, task and kind and status ok or error', () => {
    assert.ok(isRow(row(1)));
    assert.ok(isRow(errorRow()));
    for (const bad of [null, [], 'x', { job: 'J', task: 't', kind: 'k', status: 'done' }, { job: 'J', task: 1, kind: 'k', status: 'ok' }, { task: 't', kind: 'k', status: 'ok' }]) {
      assert.equal(isRow(bad), false, JSON.stringify(bad));
    }
  });

  it('the row fields first, then the value fields in the order of the value; nested objects as JSON text without --flat', () => {
    const v = { rg: 9.5, zeno: { capacitance: 12.5, capacitance_err: 0.06, walks: 20000 }, cog: [1, 2, 3], name: 'a' };
    const t = tableOf([row(v)], false);
    assert.deepEqual(names(t), [...HEAD, 'rg', 'zeno', 'cog', 'name']);
    const c = byName(t, row(v));
    assert.equal(c.zeno, '{"capacitance":12.5,"capacitance_err":0.06,"walks":20000}');
    assert.equal(c.cog, '[1,2,3]');
    assert.deepEqual([c.job, c.task, c.status, c.attempt, c.worker, c.start, c.end, c['error.code']], ['J', 't', 'ok', 1, 2, 1000, 1500, null]);
    assert.deepEqual(types(t), { ...types(t), rg: 'double', zeno: 'string', cog: 'string', name: 'string', attempt: 'int', start: 'int', 'error.code': 'string' });
  });

  it('with --flat, nested objects are columns named by their path; arrays stay JSON text', () => {
    const v = { a: { b: { c: 1 }, d: 'x' }, list: [1, 2], 'dotted.key': true };
    const t = tableOf([row(v)], true);
    assert.deepEqual(names(t).slice(HEAD.length), ['a.b.c', 'a.d', 'list', 'dotted_key']);
    assert.deepEqual(Object.values(byName(t, row(v))).slice(HEAD.length), [1, 'x', '[1,2]', true]);
    assert.deepEqual([types(t)['a.b.c'], types(t)['dotted_key']], ['int', 'boolean']);
  });

  it('types: ints where all are ints, doubles for any other numbers, strings for mixtures; nulls in any type', () => {
    const rows = [row({ i: 1, d: 1, s: 'x', b: true, mix: 1, n: null }), row({ i: 2, d: 2.5, s: null, b: false, mix: 'one', n: null }), row({ i: null, d: 3 })];
    const t = tableOf(rows, false);
    assert.deepEqual(names(t).slice(HEAD.length), ['i', 'd', 's', 'b', 'mix', 'n']);
    assert.deepEqual(
      t.columns.slice(HEAD.length).map((c) => c.type),
      ['int', 'double', 'string', 'boolean', 'string', 'string'],
    );
    assert.deepEqual(Object.values(byName(t, rows[0]!)).slice(HEAD.length), [1, 1, 'x', true, '1', null]);
    assert.deepEqual(Object.values(byName(t, rows[1]!)).slice(HEAD.length), [2, 2.5, null, false, 'one', null]);
    assert.deepEqual(Object.values(byName(t, rows[2]!)).slice(HEAD.length), [null, 3, null, null, null, null]);
    // Beyond 2^53 an integer is not exact: a double.
    assert.equal(types(tableOf([row({ big: 2 ** 60 })], false)).big, 'double');
  });

  it('a field first seen in a later row is placed before the field that follows it there, or last', () => {
    const t = tableOf([row({ a: 1, c: 3 }), row({ a: 1, b: 2, c: 3 }), row({ z: 0, a: 1 }), row({ a: 1, y: 0 }), row({ c: 1, x: 0, d: 4 })], false);
    assert.deepEqual(names(t).slice(HEAD.length), ['z', 'a', 'b', 'c', 'y', 'x', 'd']);
  });

  it('multi-record tasks: one row per record, with index and of after task', () => {
    const recs = [0, 1, 2].map((i) => row({ rg: 10 + i }, { task: 'frames_0-2', kind: 'frames', index: i, of: 3 }));
    const t = tableOf(recs, true);
    assert.deepEqual(names(t), ['job', 'task', 'index', 'of', ...HEAD.slice(2), 'rg']);
    assert.deepEqual(recs.map((r) => { const c = byName(t, r); return [c.task, c.index, c.of, c.rg]; }), [['frames_0-2', 0, 3, 10], ['frames_0-2', 1, 3, 11], ['frames_0-2', 2, 3, 12]]);
  });

  it('error rows: error.code and error.message, null value cells; the value columns come from ok rows', () => {
    const t = tableOf([errorRow(), row({ score: 0.5 })], false);
    assert.deepEqual(names(t), [...HEAD, 'score']);
    const c = byName(t, errorRow());
    assert.deepEqual([c.status, c['error.code'], c['error.message'], c.worker, c.score], ['error', 'E_EXCEPTION', 'ValueError: no', null, null]);
  });

  it("an error row's input: a column per field after the error, in both modes, nulls in ok rows", () => {
    for (const flat of [false, true]) {
      const rows = [
        errorRow({ pid: 43, input: { record: 41, line: 42, text: 'CCO ethanol' } }),
        row({ input: 'the line' }, { pid: 41 }),
        errorRow({ input: { molecule: 'aspirin', rows: [64, 128] } }),
      ];
      const t = tableOf(rows, flat);
      assert.deepEqual(names(t), [...HEAD, 'input.record', 'input.line', 'input.text', 'input.molecule', 'input.rows', 'pid', 'input'], `flat ${flat}`);
      assert.deepEqual(types(t)['input.record'], 'int');
      assert.deepEqual(Object.values(byName(t, rows[0]!)).slice(HEAD.length), [41, 42, 'CCO ethanol', null, null, 43, null]);
      assert.deepEqual(Object.values(byName(t, rows[1]!)).slice(HEAD.length), [null, null, null, null, null, 41, 'the line'], "a value's own field named input stays the value's");
      assert.deepEqual(Object.values(byName(t, rows[2]!)).slice(HEAD.length), [null, null, null, 'aspirin', '[64,128]', null, null]);
    }
  });

  it("a kind's further row fields (python pid, stdout, stderr) are columns after the error", () => {
    const rows = [row({ x: 1 }, { pid: 41 }), row({ x: 2 }, { pid: 42, stdout: 'hello\n' }), errorRow({ pid: 43, stderr: 'Traceback' })];
    const t = tableOf(rows, false);
    assert.deepEqual(names(t), [...HEAD, 'pid', 'stdout', 'stderr', 'x']);
    assert.deepEqual(Object.values(byName(t, rows[1]!)).slice(HEAD.length), [42, 'hello\n', null, 2]);
  });

  it('arrays of arrays (matrices) are left out and counted, in both modes', () => {
    for (const flat of [false, true]) {
      const rows = [row({ key: 'a', matrix: [[0.1, 0.2], [0.3, 0.4]] }), row({ key: 'b' }), row({ key: 'c', matrix: [[1]] })];
      const t = tableOf(rows, flat);
      assert.deepEqual(names(t).slice(HEAD.length), ['key'], `flat ${flat}`);
      assert.deepEqual(t.skipped, [{ column: 'matrix', rows: 2, line: 1 }]);
      assert.deepEqual(Object.values(byName(t, rows[0]!)).slice(HEAD.length), ['a']);
    }
  });

  it('a value that is not an object is the column value; an array of arrays there is left out', () => {
    const t = tableOf([row(3.5), row(4)], false);
    assert.deepEqual(names(t).slice(HEAD.length), ['value']);
    assert.equal(types(t).value, 'double');
    assert.equal(byName(t, row(4)).value, 4);
    const m = tableOf([row([[1, 2]])], true);
    assert.deepEqual([names(m).length, m.skipped.map((s) => s.column)], [HEAD.length, ['value']]);
    const list = tableOf([row([1, 2])], true);
    assert.equal(byName(list, row([1, 2])).value, '[1,2]');
  });

  it('a value field named like a row column gets the prefix value.', () => {
    const v = { task: 'inner', index: 3, error: { code: 'mine' } };
    const t = tableOf([row(v)], true);
    assert.deepEqual(names(t).slice(HEAD.length), ['value.task', 'value.index', 'value.error.code']);
    assert.deepEqual(Object.values(byName(t, row(v))).slice(HEAD.length), ['inner', 3, 'mine']);
  });

  it('frames: cog and com are x, y, z columns with --flat', () => {
    const r = row({ rg: 9.9, cog: [1.5, -2, 3], com: [1, 2, 3] }, { kind: 'frames', index: 0, of: 1 });
    const t = tableOf([r], true);
    assert.deepEqual(names(t).slice(HEAD.length + 2), ['rg', 'cog.x', 'cog.y', 'cog.z', 'com.x', 'com.y', 'com.z']);
    assert.deepEqual(Object.values(byName(t, r)).slice(HEAD.length + 2), [9.9, 1.5, -2, 3, 1, 2, 3]);
    // Another kind's array of three is JSON text.
    const other = tableOf([row({ cog: [1, 2, 3] })], true);
    assert.deepEqual(names(other).slice(HEAD.length), ['cog']);
  });

  it('conformers: metrics thresholds in numeric order as d<threshold> columns, block rows as rows.first and rows.end', () => {
    const m = (x: number) => ({ cov_r: x, amr_r: 0.7, cov_p: x, amr_p: 0.8 });
    // Keys as any JSON reader gives them: an integer-like key ("1", old outputs) comes first.
    const whole = row({ key: 'mol', n_ref: 4, n_gen: 5, metrics: { 1: m(1), '0.5': m(0.25), '0.75': m(0.5), '1.25': m(1) } }, { kind: 'conformers' });
    const block = row({ key: 'big', n_ref: 400, n_gen: 5, rows: [0, 200] }, { kind: 'conformers', task: 'mol_big#b0' });
    const t = tableOf([block, whole], true);
    const metrics = names(t).filter((n) => n.startsWith('metrics.'));
    assert.deepEqual(metrics.map((n) => n.split('.')[1]).filter((d, i, a) => a.indexOf(d) === i), ['d0_5', 'd0_75', 'd1', 'd1_25']);
    assert.deepEqual(metrics.slice(0, 4), ['metrics.d0_5.cov_r', 'metrics.d0_5.amr_r', 'metrics.d0_5.cov_p', 'metrics.d0_5.amr_p']);
    const c = byName(t, whole);
    assert.deepEqual([c['metrics.d0_75.cov_r'], c['metrics.d1.cov_r'], c['rows.first']], [0.5, 1, null]);
    const b = byName(t, block);
    assert.deepEqual([b['rows.first'], b['rows.end'], b['metrics.d0_5.cov_r']], [0, 200, null]);
    // Without --flat metrics is one JSON text column.
    assert.ok(names(tableOf([whole], false)).includes('metrics'));
  });

  it(`refuses more than ${MAX_COLUMNS} columns, naming the field`, () => {
    const shape = new TableShape(true);
    const wide: Record<string, number> = {};
    for (let i = 0; i < MAX_COLUMNS; i++) wide[`f${i}`] = i;
    shape.add(row(wide), 1);
    assert.throws(() => shape.add(row({ extra: 1 }), 2), /more than 10000 columns .*'extra'/);
  });
});
