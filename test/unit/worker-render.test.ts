/**
 * The worker's row rendering: a multi-record task (a frame chunk) is failed when any of its
 * records is an error row, and each record still gets its own row with `index` and `of`; error
 * rows say what the task was given (`input`), asked for once and only for them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { render } from '../../agents/bundle-run.js';
import type { RowHead } from '../../src/rows/index.js';

const head: RowHead = { job: 'j', task: 'frames_0-2', kind: 'frames', attempt: 1, agent: 'a-1', host: 'a', worker: 1, start: 1, end: 2 };

const rowsOf = (text: string): Array<Record<string, unknown>> =>
  text.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);

test('render: one error record among ok records makes the task an error', () => {
  const r = render(head, {
    records: [
      { index: 0, value: { rg: 1 } },
      { index: 1, error: { code: 'E_INPUT', message: 'traj.dcd frame 1: truncated file' } },
      { index: 2, value: { rg: 3 } },
    ],
  });
  assert.equal(r.status, 'error');
  const rows = rowsOf(r.text);
  assert.deepEqual(rows.map((x) => [x.index, x.of, x.status]), [[0, 3, 'ok'], [1, 3, 'error'], [2, 3, 'ok']]);
  assert.deepEqual(rows[2]!.value, { rg: 3 });
});

test('render: error rows carry the task input, asked for once; ok rows never ask', () => {
  let asked = 0;
  const given = (): unknown => (asked++, { first: 0, last: 2 });
  const r = render(head, { records: [{ index: 0, value: { rg: 1 } }, { index: 1, error: { code: 'E_INPUT', message: 'x' } }, { index: 2, error: { code: 'E_INPUT', message: 'y' } }] }, given);
  const rows = rowsOf(r.text);
  assert.deepEqual(rows.map((x) => x.input ?? null), [null, { first: 0, last: 2 }, { first: 0, last: 2 }]);
  assert.equal(asked, 1);
  // The field comes last, after error.
  assert.deepEqual(Object.keys(rows[1]!).slice(-2), ['error', 'input']);
  assert.equal(render(head, { value: { rg: 1 } }, given).text.includes('"input"'), false);
  assert.equal(render(head, { records: [{ index: 0, value: 1 }] }, given).text.includes('"input"'), false);
  assert.equal(asked, 1, 'ok rows never ask');
  const bad = rowsOf(render(head, { value: { big: 1n } }, given).text)[0]!;
  assert.deepEqual([bad.status, bad.input], ['error', { first: 0, last: 2 }]);
});

test('render: a record whose value cannot be serialised is an error record, and fails the task', () => {
  const r = render(head, { records: [{ index: 0, value: { rg: 1 } }, { index: 1, value: { big: 1n } }] });
  assert.equal(r.status, 'error');
  const rows = rowsOf(r.text);
  assert.equal(rows[1]!.status, 'error');
  assert.match((rows[1]!.error as { message: string }).message, /record 1/);
});

test('render: all records ok is ok; all records failed is an error; no records is an error', () => {
  assert.equal(render(head, { records: [{ index: 0, value: 1 }, { index: 1, value: 2 }] }).status, 'ok');
  const bad = { code: 'E_INPUT', message: 'x' };
  assert.equal(render(head, { records: [{ index: 0, error: bad }, { index: 1, error: bad }] }).status, 'error');
  assert.equal(render(head, { records: [] }).status, 'error');
  assert.equal(render(head, { value: { ms: 1 } }).status, 'ok');
});
