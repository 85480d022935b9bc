/**
 * A job's tasks without an object per task: a million tasks submitted hold objects only for
 * what was dispatched; the dispatch order is largest first and stable; a resumed job's
 * committed tasks, a finished job's counts and a cancelled job's late results come out as they
 * did with an object per task.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { costOrder, sourceOf, type NewTask, type TaskSource } from '../../coordinator/scheduler/index.js';
import { TaskStatusSet } from '../../src/sink/index.js';
import { BUILTIN, agentInfo, commit, newScheduler, pullParams, replies, rng, spec, taskIds } from '../helpers/sched.js';

/** n tasks `t<i>` whose cost is `cost(i)`, built from their numbers. */
function numbered(n: number, cost: (i: number) => number = () => 1): TaskSource & { built: number } {
  const src = {
    built: 0,
    length: n,
    costAt: cost,
    indexOf: (id: string) => (/^t\d+$/.test(id) && Number(id.slice(1)) < n ? Number(id.slice(1)) : -1),
    at(i: number): NewTask {
      src.built++;
      return { id: `t${i}`, cost: cost(i), bytes: 16, ref: { i } };
    },
  };
  return src;
}

/** A cost as the order sees it: its double's high word (within about one part in a million). */
function coarse(c: number): number {
  const v = new DataView(new ArrayBuffer(8));
  v.setFloat64(0, Math.max(c, 1e-9));
  return v.getUint32(0);
}

test('the order is largest cost first, costs within a part in a million by task number, as a stable comparison sort gives', () => {
  const r = rng(7);
  const costs = Array.from({ length: 5000 }, () => [0.5, 1, 2, 1e-12, 3.25, 1 + 1e-9, r() * 10, r() * 1e6][Math.floor(r() * 8)]!);
  const { order, cost } = costOrder(numbered(costs.length, (i) => costs[i]!));
  const expected = costs.map((_, i) => i).sort((a, b) => coarse(costs[b]!) - coarse(costs[a]!));
  assert.deepEqual([...order!], expected);
  assert.ok(Math.abs(cost - costs.reduce((s, c) => s + Math.max(c, 1e-9), 0)) < 1e-6);
  assert.equal(costOrder(numbered(10)).order, null, 'equal costs: the numbers are the order');
});

test('a million queued tasks build objects only for the tasks dispatched', () => {
  const s = newScheduler();
  const src = numbered(1_000_000);
  s.onSubmit(spec('J'), src, new Map(), { ...BUILTIN, granularity: 3 }, 0);
  assert.equal(src.built, 0, 'nothing is built at submit');
  const a = s.onHello('a', agentInfo({ slots: 2 }), [], 0);
  const ids = taskIds(replies(s.onPull('a', pullParams(a.epoch, a.seq, 2), 'p', 0))[0]!.bundles);
  assert.deepEqual(ids, ['t0', 't1', 't2', 't3', 't4', 't5']);
  assert.ok(src.built <= 8, `built ${src.built}`);
  assert.deepEqual(s.jobCounts('J'), { total: 1_000_000, done: 0 });
  s.onCommitted(commit('J', ids.map((id) => [id, 'ok', 1, 'a', 1])), 1);
  assert.deepEqual(s.jobCounts('J'), { total: 1_000_000, done: 6 });
  const q = s.internalsForTests().jobs.get('J')!.queue;
  assert.equal([...q.objects()].length, 0, 'committed tasks let their objects go');
  // A committed task's copy from its agent is a duplicate; from a stranger, refused.
  assert.equal(s.leasedTo('J', 'a')('t0'), true);
  assert.equal(s.leasedTo('J', 'b')('t0'), false);
  assert.equal(s.leasedTo('J', 'a')('t9'), false, 'a task never leased');
  s.check();
});

test("a resumed job takes the sink's compact set: committed tasks are done, the rest queued", () => {
  const s = newScheduler();
  const src = numbered(1000);
  const done = new TaskStatusSet({ length: 1000, indexOf: src.indexOf, idOf: (i) => `t${i}` });
  for (let i = 0; i < 1000; i += 2) done.set(`t${i}`, i % 10 === 0 ? 'error' : 'ok');
  done.set('stray', 'ok');
  s.onSubmit(spec('J'), src, done, BUILTIN, 0);
  const st = s.status(0, 'J').jobs[0]!;
  assert.deepEqual([st.total, st.done, st.failed, st.queued], [1000, 500, 100, 500]);
  assert.equal(src.built, 0);
  s.check();
});

test('a job that ends keeps its counts and writes nothing more; a cancelled job still counts a leased task committed late', () => {
  const s = newScheduler();
  s.onSubmit(spec('D'), sourceOf([{ id: 'x', cost: 1, ref: null }, { id: 'y', cost: 1, ref: null }]), new Map(), { ...BUILTIN, granularity: 2 }, 0);
  const a = s.onHello('a', agentInfo({ slots: 1 }), [], 0);
  s.onPull('a', pullParams(a.epoch, a.seq, 1), 'p', 0);
  s.onCommitted(commit('D', [['x', 'ok', 1, 'a', 1], ['y', 'error', 1, 'a', 1]]), 1);
  assert.equal(s.jobState('D'), 'done');
  assert.deepEqual(s.jobCounts('D'), { total: 2, done: 2 });
  assert.equal(s.leasedTo('D', 'a')('x'), false, 'its tasks let go: nothing more of it is written');
  assert.equal(s.leasedTo('D', 'a')('made-up'), false);
  s.check();

  const c = newScheduler();
  c.onSubmit(spec('C'), numbered(100), new Map(), { ...BUILTIN, granularity: 1 }, 0);
  const b = c.onHello('b', agentInfo({ slots: 1 }), [], 0);
  const [leased] = taskIds(replies(c.onPull('b', pullParams(b.epoch, b.seq, 1), 'p', 0))[0]!.bundles);
  c.onCancel('C', 1);
  assert.equal(c.jobState('C'), 'cancelled');
  assert.equal(c.leasedTo('C', 'b')(leased!), true, 'its holder may still send it');
  assert.equal(c.leasedTo('C', 'b')('t99'), false, 'a task never leased');
  c.onCommitted(commit('C', [[leased!, 'ok', 1, 'b', 1]]), 2);
  const st = c.status(2, 'C').jobs[0]!;
  assert.deepEqual([st.total, st.done], [100, 1]);
  c.check();
});
