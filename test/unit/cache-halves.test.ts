/**
 * Split tasks in the result cache: a task committed as halves is stored as each half and, once
 * both are, as its whole; a later job finds the whole, and a task whose whole misses is looked
 * up as its halves, where jobs keyed as it stored halves before. Where none did, a miss is not
 * looked up as halves (their keys would read and hash its input a second time).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ResultCache } from '../../coordinator/cache/index.js';
import type { JobOptions, NewTask, TaskSource } from '../../coordinator/index.js';
import { splitterFor } from '../../coordinator/jobs/expand.js';
import type { JobSpec } from '../../protocol/index.js';
import { getKind } from '../../src/kinds/index.js';
import { silentLogger } from '../../src/log.js';
import { okRow } from '../../src/rows/index.js';
import { spinTasks } from '../helpers/kinds.js';
import { tempSuite } from '../helpers/suite.js';

const scratch = tempSuite('shoal-cache-halves-');
const spin = getKind('spin')!;
const params = { tasks: 4, ms: 10, splittable: true };

const source = (): Promise<TaskSource> => spinTasks(params);

/** The job's splitter, counting the tasks it is asked to split. */
function counted(): { split: NonNullable<JobOptions['split']>; calls: number } {
  const real = splitterFor({ job: 'J', kind: 'spin', params } as JobSpec, spin)!;
  const c = { calls: 0, split: (t: NewTask) => (c.calls++, real(t)) };
  return c;
}

async function admit(rc: ResultCache, job: string, dir: string, tasks: TaskSource, split: JobOptions['split']): Promise<string[]> {
  const hits: string[] = [];
  await rc.admit({ job, kindName: 'spin', kind: spin, params, cache: { dir }, tasks, split, fileHash: () => '', inputs: [] }, new Set<string>(), async (own) => {
    hits.push(...own.ids);
  });
  return hits;
}

/** Commits tasks (ids, halves among them) as agent a1 does, one ok row each. */
function commit(rc: ResultCache, job: string, ids: string[]): void {
  const text = ids.map((id) => okRow({ job, task: id, kind: 'spin', attempt: 1, agent: 'a1', host: 'h', worker: 1, start: 1, end: 2 }, JSON.stringify({ ms: 5, id }))).join('');
  rc.committed([{ job, from: 'a1', ids, status: 'o'.repeat(ids.length), attempts: ids.map(() => 1), ms: ids.map(() => 5), errorRecords: 0 }], [text], 'coordinator');
}

describe('split tasks in the result cache', () => {
  it('halves are stored as halves and, both there, as their whole; a whole that misses is looked up as its halves', async () => {
    const dir = join(scratch.dir, 'cache');
    const tasks = await source();
    const [t0, t1, t2] = [0, 1, 2].map((i) => tasks.at(i).id);
    const first = new ResultCache(silentLogger(), { agent: 'coordinator', host: 'h' });
    assert.deepEqual(await admit(first, 'J1', dir, tasks, counted().split), []);
    // t0 ran as its two halves, t1 whole, t2 only its first half (the run stopped there).
    commit(first, 'J1', [`${t0}/0`, `${t0}/1`, t1!, `${t2}/0`]);
    assert.equal((await first.finish('J1'))!.stored, 5, 'three halves, the whole of t0, t1');

    const again = new ResultCache(silentLogger(), { agent: 'coordinator', host: 'h' });
    const split = counted();
    // t2's halves are the same ref (5 ms of task 2): its second half finds the first's entry.
    assert.deepEqual(await admit(again, 'J2', dir, tasks, split.split), [t0, t1, `${t2}/0`, `${t2}/1`]);
    assert.equal(split.calls, 2, 'the misses t2 and t3 looked up as halves');
    await again.finish('J2');
  });

  it('where no job keyed as this one stored halves, a miss is not looked up as halves', async () => {
    const dir = join(scratch.dir, 'cache-wholes');
    const tasks = await source();
    const first = new ResultCache(silentLogger(), { agent: 'coordinator', host: 'h' });
    await admit(first, 'W1', dir, tasks, counted().split);
    commit(first, 'W1', [tasks.at(0).id]);
    await first.finish('W1');

    const again = new ResultCache(silentLogger(), { agent: 'coordinator', host: 'h' });
    const split = counted();
    assert.deepEqual(await admit(again, 'W2', dir, tasks, split.split), [tasks.at(0).id]);
    assert.equal(split.calls, 0);
    await again.finish('W2');
  });
});
