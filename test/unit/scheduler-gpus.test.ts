/**
 * GPUs in the scheduling core: a task goes only to an agent with as many GPUs free as it needs
 * (as its pull says, less what the same dispatch took), GPUs freed are used again, a bundle
 * holds one count of GPUs, and a task needing more GPUs than any agent that joined has
 * becomes an error row naming both numbers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Bundle } from '../../protocol/index.js';
import { agentInfo, commit, newScheduler, ofKind, pullParams, replies, rng, submit, taskIds, tasks } from '../helpers/sched.js';

const gpuTasks = (n: number, gpus: number | ((i: number) => number)) => tasks(n, () => 1, (i) => ({ gpus: typeof gpus === 'number' ? gpus : gpus(i) }));

test('a task needing 2 GPUs never goes to an agent with 1 free; the one with 2 free gets it', () => {
  const s = newScheduler();
  submit(s, 'J', gpuTasks(1, 2), { granularity: 1 });
  const a = s.onHello('a', agentInfo({ gpus: 1 }), [], 0);
  const b = s.onHello('b', agentInfo({ gpus: 4 }), [], 0);
  // Agent a has one GPU; agent b has four, three of them busy.
  assert.equal(replies(s.onPull('a', pullParams(a.epoch, a.seq, 2, { freeGpus: 1, waitMs: 0 }), 'pa', 1))[0]!.bundles.length, 0);
  assert.equal(replies(s.onPull('b', pullParams(b.epoch, b.seq, 2, { freeGpus: 1, waitMs: 0 }), 'pb', 2))[0]!.bundles.length, 0);
  s.check();
  const r = replies(s.onPull('b', pullParams(b.epoch, b.seq, 2, { freeGpus: 2, waitMs: 0 }), 'pb2', 3))[0]!;
  assert.deepEqual(r.bundles.map((x) => [taskIds([x]), x.gpus]), [[['t0'], 2]]);
  s.check();
});

test('a pull gets GPU bundles only up to its free GPUs; freed GPUs are used again', () => {
  const s = newScheduler();
  submit(s, 'J', gpuTasks(5, 1), { granularity: 1 });
  const a = s.onHello('a', agentInfo({ slots: 8, gpus: 2 }), [], 0);
  const first = replies(s.onPull('a', pullParams(a.epoch, a.seq, 8, { freeGpus: 2 }), 'p1', 1))[0]!;
  assert.deepEqual(first.bundles.map((b) => b.gpus), [1, 1]);
  assert.equal(s.status(1).agents[0]!.freeGpus, 0);
  // Both GPUs busy: the next pull parks.
  assert.equal(replies(s.onPull('a', pullParams(a.epoch, first.seq, 8, { freeGpus: 0 }), 'p2', 2)).length, 0);
  s.check();
  // One task commits: the parked pull is served with the GPU it freed, not at its expiry.
  const done = taskIds(first.bundles.slice(0, 1));
  const served = replies(s.onCommitted(commit('J', done.map((id) => [id, 'ok', 1, 'a', 5])), 3));
  assert.equal(served.length, 1);
  assert.deepEqual(served[0]!.bundles.map((b) => b.gpus), [1]);
  assert.ok(!taskIds(served[0]!.bundles).some((id) => taskIds(first.bundles).includes(id)));
  s.check();
});

test('tasks share a bundle only with tasks needing as many GPUs; the bundle holds that many', () => {
  const s = newScheduler();
  submit(s, 'J', gpuTasks(6, (i) => (i < 3 ? 1 : i < 5 ? 2 : 0)), { granularity: 4 });
  const a = s.onHello('a', agentInfo({ slots: 4, gpus: 4 }), [], 0);
  const r = replies(s.onPull('a', pullParams(a.epoch, a.seq, 4, { freeGpus: 3 }), 'p', 1))[0]!;
  const shape = (b: Bundle): [number, number] => [b.tasks.length, b.gpus ?? 0];
  // 1 GPU for three tasks, then 2 for two: all three GPUs; the CPU task needs none.
  assert.deepEqual(r.bundles.map(shape), [[3, 1], [2, 2], [1, 0]]);
  s.check();
});

test('an agent without GPUs gets no GPU task while one with GPUs may take it', () => {
  const s = newScheduler();
  submit(s, 'J', gpuTasks(3, 1), { granularity: 1 });
  s.onHello('g', agentInfo({ gpus: 1 }), [], 0);
  const c = s.onHello('c', agentInfo({ slots: 8 }), [], 0);
  const cmds = s.onPull('c', pullParams(c.epoch, c.seq, 8, { waitMs: 0 }), 'pc', 1);
  assert.equal(replies(cmds)[0]!.bundles.length, 0);
  assert.equal(ofKind(cmds, 'error-rows').length, 0);
  s.check();
});

test('a task needing more GPUs than any agent that joined has is an error row naming both numbers', () => {
  const s = newScheduler();
  submit(s, 'J', gpuTasks(2, 4), { granularity: 1 });
  const a = s.onHello('a', agentInfo({ gpus: 2 }), [], 0);
  const cmds = s.onPull('a', pullParams(a.epoch, a.seq, 2, { freeGpus: 2, waitMs: 0 }), 'p', 1);
  const rows = ofKind(cmds, 'error-rows').flatMap((c) => c.rows);
  assert.deepEqual(rows.map((r) => [r.id, r.error.code]).sort(), [['t0', 'E_UNSCHEDULABLE'], ['t1', 'E_UNSCHEDULABLE']]);
  assert.match(rows[0]!.error.message, /needs 4 GPUs; the agent with the most GPUs that joined has 2/);
  s.check();
  // The error rows committed, the job ends.
  s.onCommitted(commit('J', rows.map((r) => [r.id, 'error', r.attempt, 'coordinator', 0])), 2);
  assert.equal(s.jobState('J'), 'done');
  assert.equal(s.status(2).jobs[0]!.failed, 2);
  s.check();
});

test('an agent that joined once counts: its GPUs make a task wait, not fail, while it is lost', () => {
  const s = newScheduler({ agentTimeoutMs: 10 });
  s.onHello('big', agentInfo({ gpus: 4 }), [], 0);
  s.onTick(100);
  assert.equal(s.status(100).agents[0]!.state, 'lost');
  submit(s, 'J', gpuTasks(1, 4), { granularity: 1, now: 100 });
  const a = s.onHello('a', agentInfo({ gpus: 2 }), [], 100);
  const cmds = s.onPull('a', pullParams(a.epoch, a.seq, 2, { freeGpus: 2, waitMs: 0 }), 'p', 101);
  assert.equal(ofKind(cmds, 'error-rows').length, 0);
  assert.equal(replies(cmds)[0]!.bundles.length, 0);
  s.check();
});

test('simulation: agents with GPUs are never given more GPUs than their pulls say are free', () => {
  const rand = rng(7);
  const s = newScheduler();
  submit(s, 'J', gpuTasks(400, (i) => 1 + (i % 3)), { granularity: 2 });
  const agents = Array.from({ length: 6 }, (_, k) => ({ id: `a${k}`, gpus: 1 + k, free: 1 + k, seq: 0, epoch: 0, running: [] as Array<{ ids: string[]; gpus: number }> }));
  for (const g of agents) g.epoch = s.onHello(g.id, agentInfo({ slots: 4, gpus: g.gpus }), [], 0).epoch;
  let now = 1;
  for (let step = 0; step < 3000 && s.jobState('J') === 'running'; step++, now++) {
    const g = agents[Math.floor(rand() * agents.length)]!;
    if (g.running.length > 0 && rand() < 0.5) {
      const b = g.running.shift()!;
      g.free += b.gpus;
      s.onCommitted(commit('J', b.ids.map((id) => [id, 'ok', 1, g.id, 1])), now);
    } else {
      for (const r of replies(s.onPull(g.id, pullParams(g.epoch, g.seq, 4, { freeGpus: g.free, waitMs: 0 }), `p${step}`, now))) {
        g.seq = r.seq;
        for (const b of r.bundles) {
          assert.ok((b.gpus ?? 0) <= g.free, `agent ${g.id} got a bundle of ${b.gpus} GPUs with ${g.free} free`);
          g.free -= b.gpus ?? 0;
          g.running.push({ ids: taskIds([b]), gpus: b.gpus ?? 0 });
        }
      }
    }
    s.check();
  }
  assert.equal(s.jobState('J'), 'done');
});

test("a straggler's speculative copy goes only to an idle agent with its GPUs free, and says how many", () => {
  const s = newScheduler({ speculate: true, speculateFactor: 2 });
  submit(s, 'J', gpuTasks(2, 1).map((t) => ({ ...t, cost: 10 })), { granularity: 1 });
  const a = s.onHello('a', agentInfo({ slots: 2, gpus: 2 }), [], 0);
  const ra = replies(s.onPull('a', pullParams(a.epoch, a.seq, 2, { freeGpus: 2 }), 'pa', 0))[0]!;
  const [t0, t1] = taskIds(ra.bundles);
  s.onCommitted(commit('J', [[t0!, 'ok', 1, 'a', 100]]), 100);
  // Two idle agents: one without a free GPU (its pull says so), one with.
  const busy = s.onHello('busy', agentInfo({ slots: 1, gpus: 1 }), [], 100);
  s.onPull('busy', pullParams(busy.epoch, busy.seq, 1, { freeGpus: 0, waitMs: 60_000 }), 'pbusy', 100);
  const none = replies(s.onTick(1000));
  assert.equal(none.length, 0, 'no agent with a free GPU: no copy');
  const free = s.onHello('free', agentInfo({ slots: 1, gpus: 1 }), [], 1000);
  s.onPull('free', pullParams(free.epoch, free.seq, 1, { freeGpus: 1, waitMs: 60_000 }), 'pfree', 1000);
  const copy = replies(s.onTick(2000));
  assert.deepEqual(copy.map((r) => [r.token, taskIds(r.bundles), r.bundles[0]!.gpus]), [['pfree', [t1], 1]]);
  s.check();
});

test('an agent saying hello holding a task that needs more GPUs than it now has is told to abort it; the task runs elsewhere', () => {
  const s = newScheduler();
  submit(s, 'J', gpuTasks(1, 2), { granularity: 1 });
  const a = s.onHello('a', agentInfo({ gpus: 2 }), [], 0);
  const r = replies(s.onPull('a', pullParams(a.epoch, a.seq, 1, { freeGpus: 2 }), 'pa', 0))[0]!;
  assert.deepEqual(taskIds(r.bundles), ['t0']);
  // Back with one GPU, still claiming the task.
  const again = s.onHello('a', agentInfo({ gpus: 1 }), [['J', 't0', 1]], 10);
  assert.deepEqual(ofKind(again.commands, 'abort').map((c) => c.tasks), [['t0']]);
  s.check();
  const b = s.onHello('b', agentInfo({ gpus: 2 }), [], 10);
  assert.deepEqual(taskIds(replies(s.onPull('b', pullParams(b.epoch, b.seq, 1, { freeGpus: 2 }), 'pb', 11))[0]!.bundles), ['t0']);
  s.check();
});
