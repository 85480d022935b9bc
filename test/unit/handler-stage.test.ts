/**
 * Handler kinds fed by another job's rows: `--from JOB` makes params that name the job (no
 * inputs file), checked the same way from the wire; `--from` with `--inputs`, or a `from` field
 * in `--params` of an `--inputs` job, is refused naming the option; a task gets the row's value
 * as `task.input`.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { asKind, remoteHandlerKind } from '../../src/kinds/handlers/index.js';
import type { RunContext } from '../../src/kinds/index.js';

const code = (f: () => unknown): string | undefined => {
  try {
    f();
  } catch (err) {
    return (err as { code?: string }).code;
  }
  return undefined;
};

test('--from makes params naming the upstream job; with --inputs, or a from field in --params, it is refused', () => {
  const k = remoteHandlerKind('shout');
  const p = k.params({ from: 'up', params: '{"loud": true}' });
  assert.deepEqual(p, { loud: true, from: 'up' });
  assert.deepEqual(k.checkParams(p), p);
  assert.equal(code(() => k.params({ from: 'up', inputs: '/x.txt' })), 'E_USAGE');
  assert.equal(code(() => k.params({ from: 'a b' })), 'E_USAGE');
  assert.equal(code(() => k.params({ inputs: '/nonexistent-but-refused-first.txt', params: '{"from": "x"}' })), 'E_USAGE');
});

test("a handler's task of a --from job gets the row's value as task.input and the record's index", async () => {
  const seen: unknown[] = [];
  const kind = asKind({ name: 'shout', run: (t) => (seen.push(t), String((t.input as { w: string }).w).toUpperCase()) });
  const params = kind.checkParams({ from: 'up', loud: 1 });
  const ctx: RunContext = { signal: new AbortController().signal, threads: 1, attempt: 1, job: 'J', task: 'in_3.1' };
  const out = await kind.run({ up: 'in_3', i: 1, v: { w: 'abc' } }, params, ctx);
  assert.deepEqual(out, { value: 'ABC' });
  assert.deepEqual(seen, [{ id: 'in_3.1', input: { w: 'abc' }, index: 1, line: 0, params: { loud: 1 } }]);
});
