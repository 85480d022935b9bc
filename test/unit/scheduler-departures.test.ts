/**
 * How the scheduler tells an agent that left from one that was lost, and how long each stays
 * listed: a draining agent that falls silent holding nothing has left (busy 0, nothing taken
 * back), one that falls silent still holding leases is lost; an agent that left is forgotten
 * after leftRetentionMs, a lost one after lostRetentionMs. And an ended job's rate: its average
 * over the time it ran, the same however long after its end status is asked.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AGENT_TRANSITIONS, type Scheduler } from '../../coordinator/index.js';
import { IllegalMoveError } from '../../src/errors.js';
import { agentInfo, commit, handback, newScheduler, ofKind, pullParams, replies, submit, taskIds, tasks } from '../helpers/sched.js';

const state = (s: Scheduler, id: string, now: number): string | undefined => s.status(now).agents.find((a) => a.agent === id)?.state;
const busy = (s: Scheduler, id: string, now: number): number | undefined => s.status(now).agents.find((a) => a.agent === id)?.busy;

/** Ticks every 100 ms from `from` to `to` (inclusive), checking the invariants at each. */
function tickThrough(s: Scheduler, from: number, to: number): void {
  for (let t = from; t <= to; t += 100) {
    s.onTick(t);
    s.check();
  }
}

/** Agent `id` joined at 0 with 2 slots, took two tasks of J and runs them (its heartbeat says so); returns its epoch and the tasks. */
function running(s: Scheduler, id: string): { epoch: number; leased: string[] } {
  const h = s.onHello(id, agentInfo({ slots: 2 }), [], 0);
  const leased = taskIds(replies(s.onPull(id, pullParams(h.epoch, h.seq, 2), `p-${id}`, 0))[0]!.bundles);
  assert.equal(leased.length, 2);
  assert.ok(s.onHeartbeat(id, h.epoch, 2, 2 ** 30, false, 10));
  return { epoch: h.epoch, leased };
}

test('the agent states table: only a draining agent leaves, and one that left comes back only by a hello', () => {
  assert.deepEqual(AGENT_TRANSITIONS.left, ['active']);
  assert.ok(AGENT_TRANSITIONS.draining.includes('left'));
  assert.ok(!AGENT_TRANSITIONS.active.includes('left'), 'an active agent that falls silent is lost, never left');
  assert.ok(!AGENT_TRANSITIONS.lost.includes('left'));
  const s = newScheduler();
  s.onHello('a', agentInfo(), [], 0);
  const roster = s.internalsForTests().agents;
  assert.throws(() => roster.move(roster.get('a')!, { s: 'left', since: 0 }), IllegalMoveError);
});

test('a drained agent that falls silent holding nothing has left: busy 0, nothing requeued, forgotten after leftRetentionMs', () => {
  const s = newScheduler({ agentTimeoutMs: 1000, leftRetentionMs: 3000, lostRetentionMs: 60_000 });
  submit(s, 'J', tasks(4), { granularity: 1 });
  const { epoch, leased } = running(s, 'a');
  s.onDrain('a', null, 20);
  assert.equal(state(s, 'a', 20), 'draining');
  assert.equal(busy(s, 'a', 20), 2, 'while it drains its slots are busy');
  // It finishes one task and hands the other back, then exits: its last heartbeat still said busy.
  s.onCommitted(commit('J', [[leased[0]!, 'ok', 1, 'a', 5]]), 100);
  s.onPull('a', pullParams(epoch, 1, 0, { reports: [handback('J', leased[1]!)], reportsOnly: true }), 'last', 150);
  assert.ok(s.onHeartbeat('a', epoch, 1, 2 ** 30, true, 200));
  s.check();
  const before = s.status(200).jobs[0]!;
  tickThrough(s, 300, 1300);
  assert.equal(state(s, 'a', 1300), 'left');
  assert.equal(busy(s, 'a', 1300), 0, 'an agent that left runs nothing');
  const after = s.status(1300).jobs[0]!;
  assert.equal(after.retried, before.retried, 'nothing was taken back from it');
  assert.equal(after.queued, before.queued);
  // Still listed a while (its seen time grows), then gone.
  tickThrough(s, 1400, 4200);
  assert.equal(state(s, 'a', 4200), 'left');
  tickThrough(s, 4300, 4400);
  assert.equal(state(s, 'a', 4400), undefined, 'forgotten 3 s after it left');
});

test("a drained agent's goodbye makes it left at once; one that still holds a lease, or speaks with an old epoch, is judged by its silence as before", () => {
  const s = newScheduler({ agentTimeoutMs: 1000 });
  submit(s, 'J', tasks(4), { granularity: 1 });
  const { epoch, leased } = running(s, 'a');
  s.onDrain('a', null, 20);
  s.onCommitted(commit('J', [[leased[0]!, 'ok', 1, 'a', 5]]), 100);
  assert.deepEqual(s.onGoodbye('a', epoch, 120), [], 'a lease is still held here: nothing happens');
  assert.equal(state(s, 'a', 120), 'draining');
  s.onPull('a', pullParams(epoch, 1, 0, { reports: [handback('J', leased[1]!)], reportsOnly: true }), 'last', 150);
  assert.deepEqual(s.onGoodbye('a', epoch + 1, 160), [], 'another epoch: not this agent');
  assert.equal(state(s, 'a', 160), 'draining');
  const before = s.status(160).jobs[0]!;
  const said = s.onGoodbye('a', epoch, 170);
  assert.ok(said.some((c) => c.kind === 'log' && c.msg === 'agent left after draining'), JSON.stringify(said));
  assert.equal(state(s, 'a', 170), 'left', 'left at once, not agentTimeoutMs later');
  assert.equal(busy(s, 'a', 170), 0);
  assert.equal(s.status(170).jobs[0]!.retried, before.retried, 'nothing was taken back from it');
  s.check();

  // An active agent that says goodbye with nothing held (its drain was its own, by SIGTERM) has left too.
  const h = s.onHello('b', agentInfo(), [], 200);
  s.onGoodbye('b', h.epoch, 210);
  assert.equal(state(s, 'b', 210), 'left');
  s.check();
});

test('a draining agent that falls silent still holding leases is lost: its tasks are requeued, and it stays listed for lostRetentionMs', () => {
  const s = newScheduler({ agentTimeoutMs: 1000, leftRetentionMs: 3000, lostRetentionMs: 8000 });
  submit(s, 'J', tasks(4), { granularity: 1 });
  running(s, 'a');
  s.onDrain('a', null, 20); // and then it is killed mid-drain
  tickThrough(s, 100, 1100);
  assert.equal(state(s, 'a', 1100), 'lost');
  assert.equal(busy(s, 'a', 1100), 0, 'its leases were taken back: nothing runs there for us');
  assert.equal(s.status(1100).jobs[0]!.queued, 4, 'both leases back in the queue');
  tickThrough(s, 1200, 9000);
  assert.equal(state(s, 'a', 9000), 'lost', 'a lost agent is kept longer than one that left');
  tickThrough(s, 9100, 9200);
  assert.equal(state(s, 'a', 9200), undefined);
});

test('an active agent that falls silent is lost even when it holds nothing', () => {
  const s = newScheduler({ agentTimeoutMs: 1000 });
  s.onHello('a', agentInfo(), [], 0);
  tickThrough(s, 100, 1100);
  assert.equal(state(s, 'a', 1100), 'lost');
});

test('an agent taken to have left that speaks again is told to say hello, and is active after it', () => {
  const s = newScheduler({ agentTimeoutMs: 1000 });
  const h = s.onHello('a', agentInfo(), [], 0);
  s.onDrain('a', null, 0);
  tickThrough(s, 100, 1100);
  assert.equal(state(s, 'a', 1100), 'left');
  assert.equal(s.onHeartbeat('a', h.epoch, 0, 2 ** 30, false, 1200), false);
  assert.match(ofKind(s.onPull('a', pullParams(h.epoch, 0, 1), 'p', 1200), 'rejoin')[0]?.reason ?? '', /left/);
  assert.deepEqual(s.onDrain('a', null, 1200), [], 'an agent that left cannot be drained');
  s.onHello('a', agentInfo(), [], 1300);
  assert.equal(state(s, 'a', 1300), 'active');
  s.check();
});

test('agents that left make room at maxAgents like lost ones', () => {
  const s = newScheduler({ agentTimeoutMs: 1000, maxAgents: 1 });
  s.onHello('a', agentInfo(), [], 0);
  s.onDrain('a', null, 0);
  assert.match(s.refusesHello('b', 0) ?? '', /knows 1 agents/);
  tickThrough(s, 100, 1100);
  assert.equal(s.refusesHello('b', 1100), null);
});

test("an ended job's rate is its average over the time it ran, and stays so", () => {
  const s = newScheduler({ agentTimeoutMs: 1e9 });
  // 10 tasks, 4 of them found done in the output (a resume): only the 6 run now count.
  const done = new Map<string, 'ok'>(['t0', 't1', 't2', 't3'].map((id) => [id, 'ok']));
  submit(s, 'J', tasks(10), { granularity: 1, done, now: 1000 });
  const h = s.onHello('a', agentInfo({ slots: 6 }), [], 1000);
  const leased = taskIds(replies(s.onPull('a', pullParams(h.epoch, h.seq, 6), 'p', 1000))[0]!.bundles);
  assert.equal(leased.length, 6);
  // A fast burst at the end: a recent window would report far more than the average.
  s.onTick(2000);
  s.onCommitted(commit('J', [[leased[0]!, 'ok', 1, 'a', 5]]), 2500);
  tickThrough(s, 3000, 3900);
  s.onCommitted(commit('J', leased.slice(1).map((id) => [id, 'ok', 1, 'a', 5] as [string, 'ok', number, string, number])), 4000);
  assert.equal(s.jobState('J'), 'done');
  const rates = [4000, 4500, 10_000, 60_000, 600_000].map((now) => {
    s.onTick(now);
    return s.status(now).jobs[0]!;
  });
  for (const j of rates) {
    assert.equal(j.rate, 6 / 3, `6 tasks run in 3 s, asked at ${JSON.stringify(j)}`);
    assert.equal(j.endedAt, 4000);
  }
});

test("a job that waited (--after) is timed from its release; one cancelled while waiting has rate 0", () => {
  const s = newScheduler({ agentTimeoutMs: 1e9 });
  submit(s, 'U', tasks(1), { granularity: 1, now: 0 });
  s.onSubmit({ job: 'D', kind: 'spin', params: {}, after: ['U'] }, tasks(2), new Map(), { granularity: 1, needsCommand: false, builtin: true }, 0);
  s.onSubmit({ job: 'X', kind: 'spin', params: {}, after: ['U'] }, tasks(2), new Map(), { granularity: 1, needsCommand: false, builtin: true }, 0);
  s.onCancel('X', 500);
  const h = s.onHello('a', agentInfo({ slots: 4 }), [], 0);
  const u = taskIds(replies(s.onPull('a', pullParams(h.epoch, h.seq, 4), 'p1', 0))[0]!.bundles);
  s.onCommitted(commit('U', u.map((id) => [id, 'ok', 1, 'a', 5] as [string, 'ok', number, string, number])), 10_000);
  assert.equal(s.jobState('D'), 'running');
  const d = replies(s.onPull('a', pullParams(h.epoch, 1, 4), 'p2', 10_000)).flatMap((r) => taskIds(r.bundles));
  assert.deepEqual(d.sort(), ['t0', 't1']);
  s.onCommitted(commit('D', d.map((id) => [id, 'ok', 1, 'a', 5] as [string, 'ok', number, string, number])), 11_000);
  const st = s.status(20_000).jobs;
  assert.equal(st.find((j) => j.job === 'D')!.rate, 2, '2 tasks in the 1 s since U ended, not over the 11 s since D was submitted');
  assert.equal(st.find((j) => j.job === 'X')!.state, 'cancelled');
  assert.equal(st.find((j) => j.job === 'X')!.rate, 0);
});
