/**
 * The scheduling core against agents that ask too much, claim too much or go away, and against
 * a coordinator that was paused: bounded state, believable claims, leases remembered for the
 * sink, a stalled output, and a clock that jumped.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { agentInfo, commit, newScheduler, ofKind, pullParams, replies, submit, taskIds, tasks } from '../helpers/sched.js';

test('a pull is served no more bundles than three per slot the agent has, whatever it asks for', () => {
  const s = newScheduler();
  submit(s, 'J', tasks(100), { granularity: 1, secondsPerCost: 1e-4 });
  const a = s.onHello('a', agentInfo({ slots: 2 }), [], 0);
  const r = replies(s.onPull('a', pullParams(a.epoch, a.seq, 1e9, { freeSlots: 1e9 }), 'p', 0))[0]!;
  assert.equal(r.bundles.length, 6);
  s.check();
});

test('a fresh job adopts no task an agent claims it holds; the agent is told to drop the claim', () => {
  const s = newScheduler();
  submit(s, 'J', tasks(3));
  const cmds = s.onHello('forger', agentInfo(), [['J', 't0', 1], ['J', 't1', 1]], 0).commands;
  s.check();
  assert.equal(s.status(0).jobs[0]!.running, 0, 'nothing was leased to the claimant');
  assert.deepEqual(ofKind(cmds, 'abort').map((c) => [c.agent, c.tasks]), [['forger', ['t0', 't1']]]);
  assert.equal(s.leasedTo('J', 'forger')('t0'), false);
});

test('a task leased to an agent stays believable from it after a requeue, beside the new holder', () => {
  const s = newScheduler({ agentTimeoutMs: 1000, tickGapMs: 1e9 });
  submit(s, 'J', tasks(1));
  const a = s.onHello('a', agentInfo({ slots: 1 }), [], 0);
  assert.deepEqual(taskIds(replies(s.onPull('a', pullParams(a.epoch, a.seq, 1), 'pa', 0))[0]!.bundles), ['t0']);
  s.onTick(500);
  s.onTick(1600); // a is lost: t0 back in the queue
  const b = s.onHello('b', agentInfo({ slots: 1 }), [], 1600);
  assert.deepEqual(taskIds(replies(s.onPull('b', pullParams(b.epoch, b.seq, 1), 'pb', 1600))[0]!.bundles), ['t0']);
  assert.equal(s.leasedTo('J', 'a')('t0'), true, 'the cut-off agent may still deliver its late result');
  assert.equal(s.leasedTo('J', 'b')('t0'), true);
  assert.equal(s.leasedTo('J', 'c')('t0'), false);
  assert.equal(s.leasedTo('NOJOB', 'a')('t0'), false);
  s.check();
});

test('after a restart, a task an agent still runs but another took first (its hello came first) is stopped on the late one', () => {
  const s = newScheduler();
  submit(s, 'J', tasks(1), { adoptHeld: true });
  const a = s.onHello('a', agentInfo(), [], 0);
  assert.deepEqual(taskIds(replies(s.onPull('a', pullParams(a.epoch, a.seq, 1), 'pa', 0))[0]!.bundles), ['t0']);
  // b ran t0 before the restart: its copy's result would be refused (no lease), so it stops.
  const cmds = s.onHello('b', agentInfo(), [['J', 't0', 1]], 1).commands;
  s.check();
  assert.deepEqual(ofKind(cmds, 'abort').map((c) => [c.agent, c.tasks]), [['b', ['t0']]]);
  assert.equal(s.leasedTo('J', 'a')('t0'), true, 'a keeps its lease');
  assert.equal(s.leasedTo('J', 'b')('t0'), false);
});

test('held tasks of jobs nobody is loading are stopped; of expected jobs, at most maxHeldEarly are kept', () => {
  const s = newScheduler({ maxHeldEarly: 3 });
  s.expect(['J']);
  const held = (job: string, n: number): Array<[string, string, number]> => Array.from({ length: n }, (_, i) => [job, `t${i}`, 1]);
  const cmds = s.onHello('a', agentInfo(), [...held('NOJOB', 1000), ...held('J', 5)], 0).commands;
  assert.ok(ofKind(cmds, 'log').some((l) => l.msg.includes('did not lease') && l.fields.unknownJobs === 1002), JSON.stringify(ofKind(cmds, 'log')));
  // A job that is not coming is stopped on the agent (nothing would take its results); an
  // expected one's tasks beyond the cap are not: the job may still adopt them.
  const aborts = ofKind(cmds, 'abort');
  assert.deepEqual(aborts.map((c) => [c.job, c.tasks?.length, c.reason]), [['NOJOB', 1000, 'no such job here']]);
  submit(s, 'J', tasks(5), { adoptHeld: true, now: 1 });
  assert.equal(s.status(1).jobs[0]!.running, 3, 'three of the five claims were kept');
  s.check();
});

test('lost agents are forgotten after lostRetentionMs; at maxAgents a new hello is refused unless a lost one can go', () => {
  const s = newScheduler({ agentTimeoutMs: 1000, lostRetentionMs: 5000, maxAgents: 2, tickGapMs: 1e9 });
  s.onHello('a', agentInfo(), [], 0);
  s.onHello('b', agentInfo(), [], 0);
  assert.match(s.refusesHello('c', 0) ?? '', /knows 2 agents/);
  assert.equal(s.refusesHello('a', 0), null, 'a known agent may always say hello again');
  s.onTick(500);
  s.onTick(1500); // both lost
  assert.equal(s.refusesHello('c', 1500), null, 'lost agents make room');
  const s2 = newScheduler({ agentTimeoutMs: 1000, lostRetentionMs: 5000, tickGapMs: 1e9 });
  s2.onHello('a', agentInfo(), [], 0);
  for (let t = 500; t <= 6000; t += 500) s2.onTick(t);
  assert.deepEqual(s2.status(6000).agents.map((x) => x.state), ['lost']);
  s2.onTick(7000);
  assert.deepEqual(s2.status(7000).agents, [], 'forgotten 5 s after it was lost');
});

test('a stalled job gets no dispatch; writable again, parked pulls are served', () => {
  const s = newScheduler();
  submit(s, 'J', tasks(4));
  s.onStall('J', 'cannot write x: ENOSPC', 0);
  assert.equal(s.status(0).jobs[0]!.state, 'stalled');
  assert.match(s.status(0).jobs[0]!.stalled ?? '', /ENOSPC/);
  const a = s.onHello('a', agentInfo({ slots: 1 }), [], 0);
  assert.deepEqual(replies(s.onPull('a', pullParams(a.epoch, a.seq, 1, { waitMs: 1000 }), 'pa', 0)), [], 'parked, not served');
  const resumed = replies(s.onStall('J', null, 10));
  assert.equal(resumed.length, 1);
  assert.ok(resumed[0]!.bundles.length > 0);
  assert.equal(s.status(10).jobs[0]!.state, 'running');
  s.check();
});

test('a gap between ticks longer than tickGapMs (the coordinator was paused) loses nobody; a silent agent is still lost later', () => {
  const s = newScheduler({ agentTimeoutMs: 1000, tickGapMs: 300 });
  submit(s, 'J', tasks(2));
  const a = s.onHello('a', agentInfo({ slots: 1 }), [], 0);
  replies(s.onPull('a', pullParams(a.epoch, a.seq, 1), 'pa', 0));
  s.onTick(200);
  const woke = s.onTick(3200); // three seconds without a tick: paused
  assert.deepEqual(ofKind(woke, 'log').filter((l) => l.msg.startsWith('agent lost')), []);
  assert.ok(ofKind(woke, 'log').some((l) => l.msg.startsWith('the coordinator was paused') && l.fields.gapMs === 3000));
  assert.equal(s.status(3200).agents[0]!.state, 'active');
  // Ticking on time again, the agent that stays silent is lost after the timeout as usual.
  let lost = false;
  for (let t = 3400; t <= 4600 && !lost; t += 200) lost = ofKind(s.onTick(t), 'log').some((l) => l.msg.startsWith('agent lost'));
  assert.ok(lost);
  s.check();
});

test('a commit counts its error records in the job status, from the output too when a job resumes', () => {
  const s = newScheduler();
  submit(s, 'J', tasks(2), { errorRecords: 3, done: new Map([['t0', 'error']]) });
  const a = s.onHello('a', agentInfo({ slots: 1 }), [], 0);
  replies(s.onPull('a', pullParams(a.epoch, a.seq, 1), 'pa', 0));
  s.onCommitted(commit('J', [['t1', 'error', 1, 'a', 5]]), 1);
  const st = s.status(1).jobs[0]!;
  assert.deepEqual([st.failed, st.failedRecords], [2, 4]);
});
