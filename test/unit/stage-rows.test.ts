/**
 * The id scheme of stages (`--from JOB`): a stage's task per upstream row is named after the
 * upstream task (plus `.index` for a record of a multi-record task); a multi-record task's rows
 * give tasks only once its set is whole; rows of other jobs, torn lines and repeated rows give
 * nothing; error rows give E_UPSTREAM tasks naming the upstream job and task; two rows deriving
 * one id get distinct ones; a value too big for a task gives an E_TOO_LARGE task.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { readStageRows, StageRows } from '../../coordinator/jobs/stage-rows.js';
import { stageTaskId } from '../../src/kinds/index.js';
import { tempSuite } from '../helpers/suite.js';

const suite = tempSuite('shoal-stage-rows-');
const row = (o: Record<string, unknown>): string => JSON.stringify({ job: 'U', kind: 'python', attempt: 1, ...o }) + '\n';

test('stage task ids derive from the upstream ids', () => {
  assert.equal(stageTaskId('in_0042'), 'in_0042');
  assert.equal(stageTaskId('in_0042', 3), 'in_0042.3');
  assert.equal(stageTaskId(stageTaskId('in_7', 0), 1), 'in_7.0.1', 'a chain of record stages nests');
});

test('rows become tasks: values in the ref, records once their set is whole, errors as E_UPSTREAM, each once', () => {
  const r = new StageRows('U', { from: 'U', threads: 2, memory: 5, gpus: 1 });
  r.text(row({ task: 'a', status: 'ok', value: { x: 1 } }) + row({ task: 'b', status: 'ok', index: 0, of: 2, value: 'b0' }));
  assert.deepEqual(r.drain().map((t) => t.id), ['a'], 'b waits for its second record');
  r.text(row({ task: 'b', status: 'ok', index: 1, of: 2, value: 'b1' }) + row({ task: 'a', status: 'ok', value: { x: 1 } }));
  r.line(JSON.stringify({ job: 'OTHER', task: 'z', kind: 'k', status: 'ok', value: 1 }));
  r.line('{"job":"U","task":"torn"');
  r.text(row({ task: 'c', status: 'error', error: { code: 'E_EXCEPTION', message: 'boom' } }));
  const t = r.drain();
  assert.deepEqual(t.map((x) => x.id), ['b.0', 'b.1', 'c'], 'a repeated, another job, a torn line: nothing');
  assert.deepEqual(t[0]!.ref, { up: 'b', i: 0, v: 'b0' });
  assert.deepEqual([t[0]!.threads, t[0]!.memory, t[0]!.gpus], [2, 5, 1]);
  assert.equal(t[0]!.upstreamError, undefined);
  assert.equal(t[2]!.upstreamError?.code, 'E_UPSTREAM');
  assert.match(t[2]!.upstreamError!.message, /upstream job U task c failed: E_EXCEPTION: boom/);
});

test("an upstream's output read up to its durable bytes; a last line without its newline is not taken", async () => {
  const file = join(suite.dir, 'U.jsonl');
  const first = row({ task: 'a', status: 'ok', value: 1 });
  writeFileSync(file, first + row({ task: 'b', status: 'ok', value: 2 }) + row({ task: 'c', status: 'ok', value: 3 }).trimEnd());
  const all = new StageRows('U', { from: 'U' });
  await readStageRows(file, null, all);
  assert.deepEqual(all.drain().map((t) => t.id), ['a', 'b']);
  const durable = new StageRows('U', { from: 'U' });
  await readStageRows(file, Buffer.byteLength(first), durable);
  assert.deepEqual(durable.drain().map((t) => t.id), ['a']);
  const none = new StageRows('U', { from: 'U' });
  await readStageRows(join(suite.dir, 'missing.jsonl'), null, none);
  assert.deepEqual(none.drain(), []);
});

test('two rows deriving the same id: the later one (in output order) gets <id>~<n>, each row still once', () => {
  const clashes: Array<[string, string]> = [];
  const r = new StageRows('U', { from: 'U' }, Infinity, (id, instead) => clashes.push([id, instead]));
  const rows = row({ task: 'a', status: 'ok', index: 0, of: 2, value: 'a0' }) + row({ task: 'a', status: 'ok', index: 1, of: 2, value: 'a1' }) + row({ task: 'a.1', status: 'ok', value: 'plain' }) + row({ task: 'a.1~1', status: 'ok', value: 'tilde' });
  r.text(rows);
  r.text(rows); // read again (the file, then a commit): nothing new
  const t = r.drain();
  assert.deepEqual(t.map((x) => [x.id, (x.ref as { v: unknown }).v]), [['a.0', 'a0'], ['a.1', 'a1'], ['a.1~1', 'plain'], ['a.1~1~1', 'tilde']]);
  assert.deepEqual(clashes, [['a.1', 'a.1~1'], ['a.1~1', 'a.1~1~1']]);
  // The same output read by a resumed stage gives the same ids.
  const again = new StageRows('U', { from: 'U' });
  again.text(rows);
  assert.deepEqual(again.drain().map((x) => x.id), t.map((x) => x.id));
});

test('a value too big to travel in a task gives an E_TOO_LARGE task that does not carry it', () => {
  const r = new StageRows('U', { from: 'U' }, 2000);
  r.text(row({ task: 'small', status: 'ok', value: 'x'.repeat(100) }) + row({ task: 'big', status: 'ok', value: 'x'.repeat(5000) }));
  const [small, big] = r.drain();
  assert.equal(small!.upstreamError, undefined);
  assert.equal(big!.upstreamError?.code, 'E_TOO_LARGE');
  assert.match(big!.upstreamError!.message, /upstream job U task big is about \d+ bytes encoded; a task carries at most 2000 .*write large values to a file/);
  assert.equal((big!.ref as { v: unknown }).v, null);
  assert.ok(big!.bytes! < 2000);
});
