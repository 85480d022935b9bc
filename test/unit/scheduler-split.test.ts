/** Splitting tasks while dispatching: when, how the halves are named, and how a restart finds them again. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Scheduler } from '../../coordinator/index.js';
import { agentInfo, commit, halving, handback, newScheduler, pullParams, replies, submit, taskIds, tasks } from '../helpers/sched.js';

const SPLIT = { split: halving(1) };

/** Runs four 10-unit tasks on a 1-slot agent, one per pull, and commits them as 10 s each (1 s per unit). */
function measured(s: Scheduler, n = 8): { epoch: number; seq: number } {
  submit(s, 'J', tasks(n, () => 10), SPLIT);
  const a = s.onHello('a', agentInfo({ slots: 1 }), [], 0);
  let seq = a.seq;
  for (let k = 0; k < 4; k++) {
    // Asking for 3 bundles: a 1-slot agent gets one of these (unmeasured, then 10 s) tasks.
    const r = replies(s.onPull('a', pullParams(a.epoch, seq, 3, { freeSlots: 1 }), 'pa', k))[0]!;
    assert.deepEqual(taskIds(r.bundles), [`t${k}`], 'one task at a time, nothing split with one slot');
    seq = r.seq;
    s.onCommitted(commit('J', [[`t${k}`, 'ok', 1, 'a', 10_000]]), k);
  }
  return { epoch: a.epoch, seq };
}

test('when more slots join, queued tasks over a fair share of what is left are split in halves', () => {
  const s = newScheduler();
  measured(s);
  // 40 units queued; 9 slots now: a task over 40 / 9 units is split while it runs ≥ 2 s (1 s per unit).
  const b = s.onHello('b', agentInfo({ slots: 8 }), [], 2);
  // An agent gets no more long bundles than it has free slots: pull (and commit) until all are out.
  const got: Array<{ id: string; cost: number }> = [];
  for (let seq = b.seq, k = 0; k < 10; k++) {
    const r = replies(s.onPull('b', pullParams(b.epoch, seq, 64, { waitMs: 0 }), 'pb', 2))[0]!;
    seq = r.seq;
    if (r.bundles.length === 0) break;
    got.push(...r.bundles.flatMap((x) => x.tasks));
    s.check();
  }
  assert.ok(got.length > 4, `the four queued tasks were split: ${got.map((t) => t.id).join(' ')}`);
  for (const t of got) {
    assert.match(t.id, /^t[4-7](\/[01])+$/);
    assert.ok(t.cost >= 1 && t.cost <= 40 / 9, `${t.id}: cost ${t.cost}`);
  }
  const status = s.status(3).jobs[0]!;
  assert.equal(status.split, got.length - 4);
  assert.equal(status.total, 8 + status.split!);
  // Every queued task's halves cover it: 4 × 10 units.
  assert.equal(got.reduce((sum, t) => sum + t.cost, 0), 40);
  s.onCommitted(commit('J', got.map((t) => [t.id, 'ok', 1, 'b', t.cost * 1000])), 4);
  s.check();
  assert.equal(s.jobState('J'), 'done');
});

test('no split without a measurement, with a fixed granularity, or for a kind that cannot split', () => {
  for (const opts of [{ ...SPLIT, granularity: 4 }, { granularity: 'auto' as const }]) {
    const s = newScheduler();
    submit(s, 'J', tasks(8, () => 10), opts);
    const a = s.onHello('a', agentInfo({ slots: 1 }), [], 0);
    const r = replies(s.onPull('a', pullParams(a.epoch, a.seq, 1), 'pa', 0))[0]!;
    s.onCommitted(commit('J', taskIds(r.bundles).map((id) => [id, 'ok', 1, 'a', 10_000])), 1);
    const b = s.onHello('b', agentInfo({ slots: 8 }), [], 2);
    const rb = replies(s.onPull('b', pullParams(b.epoch, b.seq, 64), 'pb', 2))[0]!;
    assert.ok(taskIds(rb.bundles).every((id) => !id.includes('/')), `nothing split with ${JSON.stringify(opts.granularity)}`);
    assert.equal(s.status(3).jobs[0]!.split, 0);
  }
});

test('a task that was leased once is never split (a copy of it may still be running)', () => {
  const s = newScheduler();
  const a = measured(s, 5);
  // t4 goes to a, which hands it back (drain): queued again, but started.
  const r = replies(s.onPull('a', pullParams(a.epoch, a.seq, 1), 'pa2', 2))[0]!;
  assert.deepEqual(taskIds(r.bundles), ['t4']);
  s.onPull('a', pullParams(a.epoch, r.seq, 0, { waitMs: 0, reports: [handback('J', 't4')] }), 'pa3', 3);
  const b = s.onHello('b', agentInfo({ slots: 8 }), [], 4);
  const rb = replies(s.onPull('b', pullParams(b.epoch, b.seq, 64), 'pb', 4))[0]!;
  assert.deepEqual(taskIds(rb.bundles), ['t4']);
  s.check();
});

test('a resumed job splits again the tasks whose halves its output holds', () => {
  const s = newScheduler();
  const done = new Map<string, 'ok' | 'error'>([
    ['t0/0', 'ok'],
    ['t0/1/1', 'error'],
    ['t1', 'ok'],
  ]);
  submit(s, 'J', tasks(3, () => 8), { ...SPLIT, done });
  s.check();
  const st = s.status(0).jobs[0]!;
  assert.deepEqual([st.total, st.done, st.failed, st.queued, st.split], [5, 3, 1, 2, 2]);
  const a = s.onHello('a', agentInfo({ slots: 2 }), [], 0);
  const r = replies(s.onPull('a', pullParams(a.epoch, a.seq, 2), 'pa', 0))[0]!;
  assert.deepEqual(taskIds(r.bundles).sort(), ['t0/1/0', 't2']);
  assert.deepEqual(
    r.bundles.flatMap((b) => b.tasks).map((t) => [t.id, t.cost]).sort(),
    [['t0/1/0', 2], ['t2', 8]],
  );
});

test('halves held by agents after a coordinator restart are split out and adopted, before or after the job loads', () => {
  for (const early of [true, false]) {
    const s = newScheduler();
    // The job is one a restarted coordinator is loading again: what agents hold of it is adopted.
    s.expect(['J']);
    const hello = (): void => void s.onHello('a', agentInfo({ slots: 2 }), [['J', 't0/1', 1]], 0);
    if (early) hello();
    submit(s, 'J', tasks(2, () => 8), { ...SPLIT, adoptHeld: true });
    if (!early) hello();
    s.check();
    const st = s.status(0).jobs[0]!;
    assert.deepEqual([st.total, st.running, st.queued], [3, 1, 2], `early=${early}`);
    const b = s.onHello('b', agentInfo({ slots: 2 }), [], 1);
    const r = replies(s.onPull('b', pullParams(b.epoch, b.seq, 2), 'pb', 1))[0]!;
    assert.deepEqual(taskIds(r.bundles).sort(), ['t0/0', 't1']);
  }
});

test('a committed half the coordinator did not know of (it restarted) splits its queued task', () => {
  const s = newScheduler();
  submit(s, 'J', tasks(1, () => 8), SPLIT);
  s.onCommitted(commit('J', [['t0/1/0', 'ok', 1, 'a', 5]]), 1);
  s.check();
  const st = s.status(1).jobs[0]!;
  assert.deepEqual([st.total, st.done, st.queued], [3, 1, 2]);
  // Once a task has started, a half of it cannot be split out: the commit is ignored.
  const s2 = newScheduler();
  submit(s2, 'J', tasks(1, () => 8), SPLIT);
  const a = s2.onHello('a', agentInfo({ slots: 1 }), [], 0);
  replies(s2.onPull('a', pullParams(a.epoch, a.seq, 1), 'pa', 0));
  s2.onCommitted(commit('J', [['t0/1', 'ok', 1, 'x', 5]]), 1);
  s2.check();
  assert.deepEqual([s2.status(1).jobs[0]!.total, s2.status(1).jobs[0]!.running], [1, 1]);
});
