/**
 * The worker pool hands each thread its next bundle while it runs one (pool.ts, PIPELINE):
 * the bundles run one after the other, and an abort kills only the thread running the
 * aborted bundle; a bundle queued behind it on that thread comes back unstarted. A bundle is
 * held behind another only where that one's job is known to be short (thread-choice.ts): the
 * tests of a held bundle run a bundle of its job first.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WorkerPool, type BundleEnd } from '../../agents/pool.js';
import type { BundleInput } from '../../agents/worker-types.js';
import { spinKind } from '../../src/kinds/spin/index.js';
import { until } from '../helpers/wait.js';

const params = spinKind.checkParams({ tasks: 100, ms: 0 });

function bundle(name: string, ms: number[]): BundleInput {
  return {
    job: 'pipe',
    kind: 'spin',
    params,
    threads: 1,
    agent: 'a',
    host: 'h',
    tasks: ms.map((m, i) => ({ id: `${name}${i}`, attempt: 1, cost: m, final: true, ref: { ms: m, i } })),
    flags: new Int32Array(new SharedArrayBuffer(4 * (ms.length + 2))),
  };
}

/** A pool whose job 'pipe' is known to be short (one bundle of it has run). */
async function poolOfShortJob(opts: { recycleAfter: number } = { recycleAfter: 0 }): Promise<WorkerPool> {
  const pool = new WorkerPool({ workers: 1, recycleAfter: opts.recycleAfter, workerHeapMb: 0, handlers: [], inputCacheMb: 0 });
  assert.equal((await pool.run(bundle('w', [0]), new AbortController().signal)).kind, 'done');
  return pool;
}

const ids = (end: BundleEnd): string[] => (end.kind === 'done' ? [...end.out.group.ids] : []);
/** Whether the bundle's thread is running its first task (flags[n] is the index running, see worker.ts). */
const onFirstTask = (b: BundleInput): boolean => Atomics.load(b.flags, b.tasks.length) === 0;

test('one thread holds two bundles and runs them one after the other', async () => {
  const pool = await poolOfShortJob();
  try {
    assert.equal(pool.depth, 2);
    const a = bundle('a', [30, 30]);
    const b = bundle('b', [5, 5, 5]);
    const [ea, eb] = await Promise.all([pool.run(a, new AbortController().signal), pool.run(b, new AbortController().signal)]);
    assert.deepEqual(ids(ea), ['a0', 'a1']);
    assert.deepEqual(ids(eb), ['b0', 'b1', 'b2']);
    if (ea.kind !== 'done' || eb.kind !== 'done') return;
    // b began only when a had ended.
    const end = (e: typeof ea): number => Number(/"end":(\d+)/.exec(e.out.group.text.slice(e.out.group.ends.at(-2) ?? 0))![1]);
    const start = (e: typeof eb): number => Number(/"start":(\d+)/.exec(e.out.group.text)![1]);
    assert.ok(start(eb) >= end(ea), `b began at ${start(eb)}, before a ended at ${end(ea)}`);
    assert.equal(pool.replaced, 0);
  } finally {
    await pool.close();
  }
});

test('aborting the running bundle kills its thread; the bundle queued behind it comes back unstarted', async () => {
  const pool = await poolOfShortJob();
  try {
    const a = bundle('a', [2000, 2000]);
    const b = bundle('b', [5, 5]);
    const ac = new AbortController();
    const pa = pool.run(a, ac.signal);
    const pb = pool.run(b, new AbortController().signal);
    await until('a running its first task', () => onFirstTask(a), 5_000, 10);
    ac.abort();
    assert.equal((await pa).kind, 'aborted');
    const eb = await pb;
    assert.equal(eb.kind, 'requeue', JSON.stringify(eb));
    assert.equal(Atomics.load(b.flags, 2), -1, 'no task of b began');
    // The pool has its thread back.
    const c = await pool.run(bundle('c', [1]), new AbortController().signal);
    assert.deepEqual(ids(c), ['c0']);
  } finally {
    await pool.close();
  }
});

test('aborting a bundle that has not begun leaves the thread running the one before it', async () => {
  const pool = await poolOfShortJob();
  try {
    const a = bundle('a', [100, 100, 100]);
    const b = bundle('b', [5, 5]);
    const ac = new AbortController();
    const pa = pool.run(a, new AbortController().signal);
    const pb = pool.run(b, ac.signal);
    // b waits behind a on the thread once a runs.
    await until('a running its first task', () => onFirstTask(a), 5_000, 10);
    ac.abort();
    assert.equal((await pb).kind, 'aborted');
    const ea = await pa;
    assert.deepEqual(ids(ea), ['a0', 'a1', 'a2'], JSON.stringify(ea));
    assert.equal(pool.replaced, 0);
  } finally {
    await pool.close();
  }
});

test('a thread that dies in a bundle blames that bundle only, not the one it ended just before', async () => {
  const crash = spinKind.checkParams({ tasks: 100, ms: 0, crashTasks: [7] });
  // Whether a is held behind \`before\` or waits for the thread, it runs on it right after.
  const pool = new WorkerPool({ workers: 1, recycleAfter: 0, workerHeapMb: 0, handlers: [], inputCacheMb: 0 });
  try {
    for (let round = 0; round < 5; round++) {
      const before = { ...bundle(`b${round}_`, [1, 1]), params: crash };
      const a = { ...bundle(`a${round}_`, [0, 1]), params: crash };
      a.tasks[0]!.ref = { ms: 0, i: 7 };
      const [eb, ea] = await Promise.all([pool.run(before, new AbortController().signal), pool.run(a, new AbortController().signal)]);
      // Its results may or may not have come out before the thread died; either way no attempt is charged.
      assert.ok(eb.kind === 'done' || eb.kind === 'requeue', JSON.stringify(eb));
      assert.equal(ea.kind, 'died', JSON.stringify(ea));
      if (ea.kind === 'died') assert.equal(ea.runningIndex, 0);
      assert.equal(pool.replaced, round + 1);
    }
  } finally {
    await pool.close();
  }
});

test('recycling threads: one bundle per thread at a time', async () => {
  const pool = new WorkerPool({ workers: 1, recycleAfter: 100, workerHeapMb: 0, handlers: [], inputCacheMb: 0 });
  try {
    assert.equal(pool.depth, 1);
    const ends = await Promise.all([pool.run(bundle('a', [1]), new AbortController().signal), pool.run(bundle('b', [1]), new AbortController().signal)]);
    assert.deepEqual(ends.map(ids), [['a0'], ['b0']]);
  } finally {
    await pool.close();
  }
});
