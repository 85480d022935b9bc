/**
 * The inline pool runs bundles on the main thread, side by side, through the same runner as a
 * worker thread (bundle-run.ts): the same rows, the same flags, and an abort that ends a
 * waiting task at once.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InlinePool } from '../../agents/inline-pool.js';
import { handBackTask, newFlags, runningIndex } from '../../agents/flags.js';
import type { BundleEnd, BundleInput } from '../../agents/worker-types.js';
import { spinKind } from '../../src/kinds/spin/index.js';
import { conformersKind } from '../../src/kinds/conformers/index.js';
import { join } from 'node:path';
import { repoRoot } from '../helpers/paths.js';
import { until } from '../helpers/wait.js';

const params = spinKind.checkParams({ tasks: 100, ms: 0, sleep: true });
const FIXTURE = (name: string): string => join(repoRoot, 'test', 'fixtures', 'conformers', name);

function bundle(name: string, ms: number[]): BundleInput {
  return {
    job: 'inline',
    kind: 'spin',
    params,
    threads: 1,
    agent: 'a-1',
    host: 'a',
    tasks: ms.map((m, i) => ({ id: `${name}${i}`, attempt: 1, cost: m, final: true, ref: { ms: m, i } })),
    flags: newFlags(ms.length),
  };
}

const ids = (end: BundleEnd): string[] => (end.kind === 'done' ? [...end.out.group.ids] : []);
const begun = (b: BundleInput): boolean => runningIndex(b.flags) >= 0;

describe('inline pool', () => {
  it('runs a bundle to its rows, one per task, as a worker thread would', async () => {
    const pool = new InlinePool();
    const b = bundle('t', [1, 2, 1]);
    const end = await pool.run(b, new AbortController().signal);
    assert.equal(end.kind, 'done');
    assert.deepEqual(ids(end), ['t0', 't1', 't2']);
    if (end.kind !== 'done') return;
    assert.equal(end.out.group.status, 'ooo');
    const rows = end.out.group.text.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(rows.map((r) => [r.task, r.status, r.agent, r.worker]), [['t0', 'ok', 'a-1', 1], ['t1', 'ok', 'a-1', 1], ['t2', 'ok', 'a-1', 1]]);
    assert.equal(runningIndex(b.flags), 3, 'the bundle is marked ended');
    await pool.close();
  });

  it('runs bundles side by side on one thread, each in a lane of its own, and an abort ends a waiting bundle at once', async () => {
    const pool = new InlinePool();
    const long = Array.from({ length: 50 }, (_, i) => bundle(`long${i}-`, [600_000]));
    const acs = long.map(() => new AbortController());
    const ends = long.map((b, i) => pool.run(b, acs[i]!.signal));
    await until('every long bundle to have begun its task', () => long.every(begun));
    const short = await pool.run(bundle('s', [1]), new AbortController().signal);
    assert.deepEqual(ids(short), ['s0'], 'a bundle beside 50 waiting ones still runs');
    for (const ac of acs) ac.abort();
    const got = await Promise.all(ends);
    assert.ok(got.every((e) => e.kind === 'aborted'), JSON.stringify(got.map((e) => e.kind)));
    const lanes = new Set<number>();
    const again = await Promise.all(Array.from({ length: 3 }, (_, i) => pool.run(bundle(`x${i}-`, [1]), new AbortController().signal)));
    for (const e of again) if (e.kind === 'done') lanes.add(e.out.threadId);
    assert.equal(lanes.size, 3, 'bundles side by side have distinct lanes');
  });

  it('skips a task handed back before it begins', async () => {
    const pool = new InlinePool();
    const b = bundle('h', [1, 1, 1]);
    assert.ok(handBackTask(b.flags, 2));
    assert.deepEqual(ids(await pool.run(b, new AbortController().signal)), ['h0', 'h1']);
  });

  it('close aborts the bundles running, and refuses new ones', async () => {
    const pool = new InlinePool();
    const b = bundle('c', [600_000, 1]);
    const end = pool.run(b, new AbortController().signal);
    await until('the bundle to have begun', () => begun(b));
    await pool.close();
    assert.equal((await end).kind, 'aborted');
    assert.equal((await pool.run(bundle('d', [1]), new AbortController().signal)).kind, 'aborted');
  });

  it('a task failing on its last attempt gets an error row that says what it was given; ok rows stay as they were', async () => {
    const pool = new InlinePool();
    const b = { ...bundle('f', [1, 2]), params: spinKind.checkParams({ tasks: 100, ms: 0, sleep: true, failTasks: [1] }) };
    const end = await pool.run(b, new AbortController().signal);
    assert.equal(end.kind, 'done');
    if (end.kind !== 'done') return;
    const rows = end.out.group.text.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(rows.map((r) => [r.task, r.status, r.input ?? null]), [['f0', 'ok', null], ['f1', 'error', { number: 1, ms: 2 }]]);
    // A conformers task whose molecule is in one file only.
    const c = { ...bundle('c', [1]), kind: 'conformers', params: conformersKind.params({ ref: FIXTURE('ref.sdf'), gen: FIXTURE('gen.sdf') }) };
    c.tasks[0]!.ref = { key: 'lonely', error: 'molecule lonely is in ref.sdf but not in gen.sdf' };
    const ce = await pool.run(c, new AbortController().signal);
    assert.ok(ce.kind === 'done');
    const row = JSON.parse(ce.out.group.text) as Record<string, unknown>;
    assert.deepEqual([row.status, (row.error as { code: string }).code, row.input], ['error', 'E_INPUT', { molecule: 'lonely' }]);
    await pool.close();
  });
});
