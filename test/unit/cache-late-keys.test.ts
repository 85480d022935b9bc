/**
 * A job keyed as none the cache stored before is not looked up: its tasks are misses from the
 * start, and each ok task's key is made as it is stored (while the job runs, not before its first
 * task). The first store marks the job's key; a later job so keyed is looked up and finds them.
 * A mark lost (an earlier version's packs, a crash between mark and pack) costs misses only.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { decodePack, packsDir, ResultCache } from '../../coordinator/cache/index.js';
import type { TaskSource } from '../../coordinator/index.js';
import { getKind, type Kind } from '../../src/kinds/index.js';
import { silentLogger } from '../../src/log.js';
import { okRow } from '../../src/rows/index.js';
import { spinTasks } from '../helpers/kinds.js';
import { tempSuite } from '../helpers/suite.js';

const scratch = tempSuite('shoal-cache-late-keys-');
const spin = getKind('spin')!;

/** The spin kind, counting the tasks whose key content it is asked for. */
function counted(): { kind: Kind<unknown>; keyed: number } {
  const c = { keyed: 0, kind: spin };
  const content = spin.cache!.content;
  c.kind = { ...spin, cache: { ...spin.cache!, content: (ref, p) => (c.keyed++, content(ref, p)) } };
  return c;
}

async function admit(rc: ResultCache, job: string, dir: string, tasks: TaskSource, kind: Kind<unknown>, params: object, done = new Set<string>()): Promise<string[]> {
  const hits: string[] = [];
  await rc.admit({ job, kindName: 'spin', kind, params, cache: { dir }, tasks, split: undefined, fileHash: () => '', inputs: [] }, done, async (own) => {
    hits.push(...own.ids);
  });
  return hits;
}

function commit(rc: ResultCache, job: string, ids: string[], value?: string): void {
  const text = ids.map((id) => okRow({ job, task: id, kind: 'spin', attempt: 1, agent: 'a1', host: 'h', worker: 1, start: 1, end: 2 }, value ?? JSON.stringify({ id }))).join('');
  rc.committed([{ job, from: 'a1', ids, status: 'o'.repeat(ids.length), attempts: ids.map(() => 1), ms: ids.map(() => 5), errorRecords: 0 }], [text], 'coordinator');
}

const fresh = (): ResultCache => new ResultCache(silentLogger(), { agent: 'coordinator', host: 'h' });

describe('a job keyed as none stored before', () => {
  it('is not looked up; its keys are made as its tasks are stored, and a later job finds them', async () => {
    const dir = join(scratch.dir, 'cache');
    const params = { tasks: 5, ms: 3 };
    const tasks = await spinTasks(params);
    const ids = [0, 1, 2, 3, 4].map((i) => tasks.at(i).id);

    const first = fresh();
    const k1 = counted();
    assert.deepEqual(await admit(first, 'J1', dir, tasks, k1.kind, params), []);
    assert.equal(k1.keyed, 0, 'no key made before the first task');
    assert.deepEqual(first.counts('J1'), { hits: 0, misses: 5 });
    commit(first, 'J1', [ids[0]!, ids[3]!]);
    assert.equal(k1.keyed, 2, 'a key per task stored');
    assert.equal((await first.finish('J1'))!.stored, 2);
    assert.equal(readdirSync(join(dir, 'v2', 'jobs')).length, 1, 'the job key marked');

    const again = fresh();
    const k2 = counted();
    assert.deepEqual(await admit(again, 'J2', dir, tasks, k2.kind, params), [ids[0], ids[3]]);
    assert.equal(k2.keyed, 5, 'every task looked up');
    assert.deepEqual(again.counts('J2'), { hits: 2, misses: 3 });
    await again.finish('J2');

    // Other params are another job key: the packs there hold none of it, so nothing is looked up.
    const other = fresh();
    const k3 = counted();
    const otherParams = { tasks: 5, ms: 4 };
    const t3 = await spinTasks(otherParams);
    // Resumed: the two tasks its output holds are neither looked up nor misses.
    assert.deepEqual(await admit(other, 'J3', dir, t3, k3.kind, otherParams, new Set([t3.at(1).id, t3.at(4).id])), []);
    assert.equal(k3.keyed, 0);
    assert.deepEqual(other.counts('J3'), { hits: 0, misses: 3 });
    await other.finish('J3');
  });

  it('a mark lost costs misses, never a wrong row: the next store marks the key again', async () => {
    const dir = join(scratch.dir, 'cache-lost');
    const params = { tasks: 3, ms: 2 };
    const tasks = await spinTasks(params);
    const ids = [0, 1, 2].map((i) => tasks.at(i).id);
    const first = fresh();
    await admit(first, 'L1', dir, tasks, spin, params);
    commit(first, 'L1', ids);
    await first.finish('L1');
    rmSync(join(dir, 'v2', 'jobs'), { recursive: true });

    const unmarked = fresh();
    assert.deepEqual(await admit(unmarked, 'L2', dir, tasks, spin, params), [], 'stored, but not looked up');
    commit(unmarked, 'L2', [ids[1]!]);
    assert.equal((await unmarked.finish('L2'))!.stored, 1);
    assert.ok(existsSync(join(dir, 'v2', 'jobs')));

    const marked = fresh();
    assert.deepEqual(await admit(marked, 'L3', dir, tasks, spin, params), ids, 'all three found again, the first run\'s packs included');
    await marked.finish('L3');
  });

  it('stores no value a pack already holds, looked up or not', async () => {
    const dir = join(scratch.dir, 'cache-values');
    const packs = (): Array<{ entries: number; values: number }> =>
      readdirSync(packsDir(dir)).map((n) => {
        const p = decodePack(readFileSync(join(packsDir(dir), n)));
        assert.ok(!('why' in p));
        return { entries: p.entries.length, values: p.values.length };
      });
    const a = { tasks: 2, ms: 5 };
    const first = fresh();
    const ta = await spinTasks(a);
    await admit(first, 'V1', dir, ta, spin, a);
    commit(first, 'V1', [ta.at(0).id, ta.at(1).id], '{"same":1}');
    await first.finish('V1');
    assert.deepEqual(packs(), [{ entries: 2, values: 1 }]);
    // Another job key: not looked up, yet its stores find the value in the pack above.
    const b = { tasks: 2, ms: 6 };
    const tb = await spinTasks(b);
    const second = fresh();
    await admit(second, 'V2', dir, tb, spin, b);
    assert.equal(second.counts('V2')!.misses, 2);
    commit(second, 'V2', [tb.at(0).id, tb.at(1).id], '{"same":1}');
    await second.finish('V2');
    assert.deepEqual(packs().sort((x, y) => x.values - y.values), [{ entries: 2, values: 0 }, { entries: 2, values: 1 }]);
  });
});
