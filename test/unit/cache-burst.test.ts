/**
 * A burst of commits faster than packs are written: every ok row is stored, none left out.
 * 20,000 tasks commit in one call, before any pack write can end (the writes are on the event
 * loop, this test holds it); the cache then holds every task, and a new job finds every one.
 * Past 64 MB of rows not yet written, the rest are left out, counted and said once.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { join } from 'node:path';
import { ResultCache } from '../../coordinator/cache/index.js';
import type { TaskSource } from '../../coordinator/index.js';
import { getKind } from '../../src/kinds/index.js';
import { createLogger, silentLogger } from '../../src/log.js';
import { okRow } from '../../src/rows/index.js';
import { spinTasks } from '../helpers/kinds.js';
import { tempSuite } from '../helpers/suite.js';

const scratch = tempSuite('shoal-cache-burst-');
const N = 20_000;
const spin = getKind('spin')!;
const params = { tasks: N, ms: 0 };

const source = (): Promise<TaskSource> => spinTasks(params);

async function admit(rc: ResultCache, job: string, dir: string, tasks: TaskSource): Promise<string[]> {
  const hits: string[] = [];
  await rc.admit({ job, kindName: 'spin', kind: spin, params, cache: { dir }, tasks, split: undefined, fileHash: () => '', inputs: [] }, new Set<string>(), async (own) => {
    hits.push(...own.ids);
  });
  return hits;
}

test('20,000 ok rows committed at once are all stored, and all found by the next job', async () => {
  const dir = join(scratch.dir, 'cache');
  const tasks = await source();
  const rc = new ResultCache(silentLogger(), { agent: 'coordinator', host: 'h' });
  assert.deepEqual(await admit(rc, 'J1', dir, tasks), []);
  const ids: string[] = [];
  let text = '';
  for (let i = 0; i < N; i++) {
    const id = tasks.at(i).id;
    ids.push(id);
    text += okRow({ job: 'J1', task: id, kind: 'spin', attempt: 1, agent: 'a1', host: 'h', worker: 1, start: 1, end: 2 }, JSON.stringify({ ms: 0, i }));
  }
  rc.committed([{ job: 'J1', from: 'a1', ids, status: 'o'.repeat(N), attempts: ids.map(() => 1), ms: ids.map(() => 0), errorRecords: 0 }], [text], 'coordinator');
  const run = (await rc.finish('J1'))!;
  assert.equal(run.unstored, 0);
  assert.equal(run.stored, N);

  const again = new ResultCache(silentLogger(), { agent: 'coordinator', host: 'h' });
  const hits = await admit(again, 'J2', dir, tasks);
  assert.equal(hits.length, N);
  assert.equal(new Set(hits).size, N);
  await again.finish('J2');
});

test('past 64 MB of rows not yet written, ok rows are left out, counted and said once', async () => {
  const dir = join(scratch.dir, 'cache-big');
  const tasks = await source();
  const lines: string[] = [];
  const log = createLogger('info', {}, { stream: { write: (l: string) => void lines.push(l) }, format: 'json' });
  const rc = new ResultCache(log, { agent: 'coordinator', host: 'h' });
  await admit(rc, 'B1', dir, tasks);
  // 80 tasks of 1 MiB values, each its own: 80 MiB waiting before any pack is written.
  const n = 80;
  const ids = Array.from({ length: n }, (_, i) => tasks.at(i).id);
  const text = ids.map((id, i) => okRow({ job: 'B1', task: id, kind: 'spin', attempt: 1, agent: 'a1', host: 'h', worker: 1, start: 1, end: 2 }, JSON.stringify(`${i}:${'v'.repeat(1 << 20)}`))).join('');
  rc.committed([{ job: 'B1', from: 'a1', ids, status: 'o'.repeat(n), attempts: ids.map(() => 1), ms: ids.map(() => 0), errorRecords: 0 }], [text], 'coordinator');
  const run = (await rc.finish('B1'))!;
  assert.ok(run.unstored > 0 && run.unstored < n, `unstored ${run.unstored}`);
  assert.equal(run.stored + run.unstored, n);
  assert.equal(lines.filter((l) => l.includes('slower than tasks end')).length, 1, lines.join(''));
});
