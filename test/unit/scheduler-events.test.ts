/** The scheduling core event by event: what each event returns, and the invariants after it. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AGENT_TRANSITIONS, moveTask, TRANSITIONS, TransitionLog } from '../../coordinator/index.js';
import { IllegalMoveError } from '../../src/errors.js';
import { agentInfo, commit, failure, handback, newScheduler, ofKind, pullParams, queuedTask, replies, submit, taskIds, tasks } from '../helpers/sched.js';

test('largest tasks are dispatched first', () => {
  const s = newScheduler();
  submit(s, 'J', tasks(10, (i) => i + 1));
  const a = s.onHello('a', agentInfo({ slots: 1 }), [], 0);
  const r = replies(s.onPull('a', pullParams(a.epoch, a.seq, 1), 't', 0))[0]!;
  assert.equal(r.bundles[0]!.tasks[0]!.id, 't9');
  s.check();
});

test('a pull with no work is parked and answered when work arrives, or empty when it expires', () => {
  const s = newScheduler();
  const a = s.onHello('a', agentInfo(), [], 0);
  assert.equal(replies(s.onPull('a', pullParams(a.epoch, a.seq, 2, { waitMs: 1000 }), 'p1', 0)).length, 0);
  const sub = replies(submit(s, 'J', tasks(2), { now: 10 }));
  assert.equal(sub.length, 1);
  assert.equal(sub[0]!.token, 'p1');
  assert.ok(sub[0]!.bundles.length > 0);
  s.check();
  const b = s.onHello('b', agentInfo(), [], 20);
  s.onPull('b', pullParams(b.epoch, b.seq, 2, { waitMs: 1000 }), 'p2', 20);
  const expired = replies(s.onTick(1021));
  assert.deepEqual(expired.map((r) => [r.token, r.bundles.length]), [['p2', 0]]);
});

test('a failure report retries the task on another agent with attempt+1', () => {
  const s = newScheduler();
  submit(s, 'J', tasks(1));
  const a = s.onHello('a', agentInfo(), [], 0);
  const b = s.onHello('b', agentInfo(), [], 0);
  const r = replies(s.onPull('a', pullParams(a.epoch, a.seq, 1), 'pa', 0))[0]!;
  assert.deepEqual(taskIds(r.bundles), ['t0']);
  // a reports the failure; it is not offered the task again while b exists.
  const back = s.onPull('a', pullParams(a.epoch, r.seq, 1, { reports: [failure('J', 't0', 'boom')] }), 'pa2', 1);
  assert.equal(replies(back).length, 0);
  s.check();
  const rb = replies(s.onPull('b', pullParams(b.epoch, b.seq, 1), 'pb', 2))[0]!;
  assert.deepEqual(rb.bundles[0]!.tasks.map((t) => [t.id, t.attempt]), [['t0', 2]]);
  assert.equal(s.status(2).jobs[0]!.retried, 1);
});

test('a hand-back (drain) requeues without costing an attempt', () => {
  const s = newScheduler();
  submit(s, 'J', tasks(2));
  const a = s.onHello('a', agentInfo(), [], 0);
  const r = replies(s.onPull('a', pullParams(a.epoch, a.seq, 2), 'pa', 0))[0]!;
  const ids = taskIds(r.bundles);
  const cmds = s.onDrain('a', null, 1);
  assert.equal(ofKind(cmds, 'drain-agent').length, 1);
  s.onPull('a', pullParams(a.epoch, r.seq, 0, { waitMs: 0, reports: ids.map((id) => handback('J', id)) }), 'pa2', 2);
  s.check();
  const b = s.onHello('b', agentInfo(), [], 3);
  const rb = replies(s.onPull('b', pullParams(b.epoch, b.seq, 2), 'pb', 3))[0]!;
  assert.deepEqual(rb.bundles.flatMap((x) => x.tasks.map((t) => t.attempt)), ids.map(() => 1));
  // The draining agent gets nothing more.
  const more = replies(s.onPull('a', pullParams(a.epoch, r.seq, 2, { waitMs: 0 }), 'pa3', 4));
  assert.equal(more[0]!.bundles.length, 0);
});

test('a dispatch the agent never received (seq gap) is requeued at its next pull', () => {
  const s = newScheduler();
  submit(s, 'J', tasks(2, () => 1, () => ({})), { granularity: 1 });
  const a = s.onHello('a', agentInfo({ slots: 2 }), [], 0);
  const lost = replies(s.onPull('a', pullParams(a.epoch, a.seq, 1), 'p1', 0))[0]!;
  assert.equal(lost.seq, a.seq + 1);
  // The agent pulls again still reporting the old seq: the reply was lost.
  const cmds = s.onPull('a', pullParams(a.epoch, a.seq, 2), 'p2', 1);
  s.check();
  assert.ok(ofKind(cmds, 'log').some((l) => l.msg.includes('dispatch lost')));
  assert.deepEqual(taskIds(replies(cmds)[0]!.bundles).sort(), ['t0', 't1']);
});

test('a speculative copy the agent never received is taken back from it: the task stays leased to its first holder alone', () => {
  const s = newScheduler({ speculate: true, speculateFactor: 2 });
  submit(s, 'J', tasks(2, () => 10), { granularity: 1 });
  const a = s.onHello('a', agentInfo({ slots: 2 }), [], 0);
  const b = s.onHello('b', agentInfo({ slots: 1 }), [], 0);
  const ra = replies(s.onPull('a', pullParams(a.epoch, a.seq, 2), 'pa', 0))[0]!;
  const [t0, t1] = taskIds(ra.bundles);
  s.onCommitted(commit('J', [[t0!, 'ok', 1, 'a', 100, 10]]), 100);
  s.onPull('b', pullParams(b.epoch, b.seq, 1, { waitMs: 60_000 }), 'pb', 100);
  const copy = replies(s.onTick(1000))[0]!;
  assert.deepEqual(taskIds(copy.bundles), [t1]);
  // B pulls again at its old seq: the copy never reached it.
  const cmds = s.onPull('b', pullParams(b.epoch, b.seq, 1, { waitMs: 60_000 }), 'pb2', 1100);
  s.check();
  assert.ok(ofKind(cmds, 'log').some((l) => l.msg.includes('dispatch lost')));
  // A now fails the task: it is queued again and dispatched to B's parked pull (not left
  // leased to B, which never had it).
  const after = s.onPull('a', pullParams(a.epoch, ra.seq, 0, { waitMs: 0, reports: [failure('J', t1!, 'died')], reportsOnly: true }), 'ra2', 1200);
  s.check();
  const toB = replies(after).filter((r) => r.token === 'pb2');
  assert.deepEqual(toB.map((r) => taskIds(r.bundles)), [[t1]], 'the failed task goes to B in a dispatch of its own');
});

test('reports sent beside a pull carry a seq that may lag a dispatch on its way: no requeue, the parked pull stays', () => {
  const s = newScheduler();
  submit(s, 'J', tasks(3, () => 1, () => ({})), { granularity: 1 });
  const a = s.onHello('a', agentInfo({ slots: 2 }), [], 0);
  const first = replies(s.onPull('a', pullParams(a.epoch, a.seq, 1), 'p1', 0))[0]!;
  const [t0] = taskIds(first.bundles);
  // The agent parks a pull; the coordinator answers it with a dispatch (seq + 2) ...
  const second = replies(s.onPull('a', pullParams(a.epoch, first.seq, 1, { waitMs: 1000 }), 'p2', 1))[0]!;
  assert.equal(second.seq, first.seq + 1);
  const inFlight = taskIds(second.bundles);
  // ... and before that reply arrives, a thread dies: the agent sends the failure beside the pull
  // it believes parked, still at the old seq.
  const fail = failure('J', t0!, 'died', { code: 'E_WORKER' });
  const cmds = s.onPull('a', pullParams(a.epoch, first.seq, 0, { waitMs: 0, reports: [fail], reportsOnly: true }), 'r1', 2);
  s.check();
  assert.ok(!ofKind(cmds, 'log').some((l) => l.msg.includes('dispatch lost')), 'the dispatch on its way is not taken for lost');
  const answered = replies(cmds);
  assert.deepEqual(answered.map((r) => [r.token, r.bundles.length]), [['r1', 0]], 'only the reports message is answered');
  const st = s.status(2).jobs[0]!;
  assert.equal(st.retried, 1, 'the failure counted');
  // The tasks of the dispatch on its way stay leased to the agent; the next real pull acknowledges them.
  const next = s.onPull('a', pullParams(a.epoch, second.seq, 1, { waitMs: 0 }), 'p3', 3);
  s.check();
  assert.ok(!ofKind(next, 'log').some((l) => l.msg.includes('dispatch lost')));
  assert.ok(!taskIds(replies(next)[0]!.bundles).some((id) => inFlight.includes(id)), 'tasks on their way are not dispatched twice');
});

test('cancel stops dispatch at once and aborts the job on every agent holding it', () => {
  const s = newScheduler();
  submit(s, 'J', tasks(10), { granularity: 1 });
  submit(s, 'K', tasks(2));
  const a = s.onHello('a', agentInfo(), [], 0);
  replies(s.onPull('a', pullParams(a.epoch, a.seq, 2), 'pa', 0));
  const cmds = s.onCancel('J', 1);
  s.check();
  assert.deepEqual(ofKind(cmds, 'abort').map((c) => [c.agent, c.job, c.tasks]), [['a', 'J', null]]);
  assert.deepEqual(ofKind(cmds, 'job-ended').map((c) => c.state), ['cancelled']);
  const after = replies(s.onPull('a', pullParams(a.epoch, a.seq + 1, 5), 'pa2', 2))[0]!;
  assert.ok(after.bundles.every((b) => b.job === 'K'), 'only the other job is dispatched');
  // A result that finished before the cancel and lands after it is in the output: it counts
  // as done (status agrees with the rows), and the job stays cancelled.
  const doneBefore = s.status(3, 'J').jobs[0]!.done;
  s.onCommitted(commit('J', [['t0', 'ok', 1, 'a', 1, 1]]), 3);
  s.onCommitted(commit('J', [['t0', 'ok', 1, 'b', 1, 1]]), 3); // a duplicate changes nothing
  s.check();
  assert.equal(s.jobState('J'), 'cancelled');
  assert.equal(s.status(3, 'J').jobs[0]!.done, doneBefore + 1);
});

test('the first committed copy wins and the other holder is told to abort', () => {
  const s = newScheduler({ speculate: true, speculateFactor: 2 });
  submit(s, 'J', tasks(1, () => 10));
  const a = s.onHello('a', agentInfo({ slots: 1 }), [], 0);
  const b = s.onHello('b', agentInfo({ slots: 1 }), [], 0);
  replies(s.onPull('a', pullParams(a.epoch, a.seq, 1), 'pa', 0));
  // Teach the job its speed with a finished sibling? Single task: give it a measurement via another job.
  submit(s, 'M', tasks(1, () => 10));
  const rb = replies(s.onPull('b', pullParams(b.epoch, b.seq, 1), 'pb', 0))[0]!;
  s.onCommitted(commit('M', [[rb.bundles[0]!.tasks[0]!.id, 'ok', 1, 'b', 100, 10]]), 100);
  // Job J has no measurement of its own, so no speculation yet; measure it through M's kind? Each job measures itself:
  // park b and let time pass far beyond any estimate.
  s.onPull('b', pullParams(b.epoch, rb.seq, 1, { waitMs: 60_000 }), 'pb2', 100);
  let spec2 = replies(s.onTick(5_000));
  assert.equal(spec2.filter((r) => r.bundles.length > 0).length, 0, 'no speculation without a measurement of the job');
  // With a measurement for J (another of its tasks done), the straggler gets a copy.
  const s2 = newScheduler({ speculate: true, speculateFactor: 2 });
  submit(s2, 'J', tasks(2, () => 10), { granularity: 1 });
  const a2 = s2.onHello('a', agentInfo({ slots: 2 }), [], 0);
  const b2 = s2.onHello('b', agentInfo({ slots: 1 }), [], 0);
  const ra = replies(s2.onPull('a', pullParams(a2.epoch, a2.seq, 2), 'pa', 0))[0]!;
  const [t0, t1] = taskIds(ra.bundles);
  s2.onCommitted(commit('J', [[t0!, 'ok', 1, 'a', 100, 10]]), 100);
  s2.onPull('b', pullParams(b2.epoch, b2.seq, 1, { waitMs: 60_000 }), 'pb', 100);
  spec2 = replies(s2.onTick(1000));
  assert.deepEqual(taskIds(spec2[0]!.bundles), [t1], 'the straggler is copied to the idle agent');
  assert.equal(s2.status(1000).jobs[0]!.speculated, 1);
  s2.check();
  const win = s2.onCommitted(commit('J', [[t1!, 'ok', 1, 'b', 50, 10]]), 1100);
  assert.deepEqual(ofKind(win, 'abort').map((c) => [c.agent, c.tasks]), [['a', [t1]]]);
  assert.equal(s2.jobState('J'), 'done');
  s2.check();
});

test('memory-aware admission: a task goes only to an agent with room; one too big for every agent is an error row', () => {
  const s = newScheduler();
  const GB = 2 ** 30;
  submit(s, 'J', tasks(2, () => 1, (i) => ({ memory: i === 0 ? 8 * GB : 64 * GB })));
  const small = s.onHello('small', agentInfo({ memoryGB: 4 }), [], 0);
  const big = s.onHello('big', agentInfo({ memoryGB: 16 }), [], 0);
  const rs = s.onPull('small', pullParams(small.epoch, small.seq, 2, { memory: 4 * GB, waitMs: 0 }), 'ps', 0);
  assert.equal(replies(rs)[0]!.bundles.length, 0, 'the small agent gets nothing');
  const errs = ofKind(rs, 'error-rows');
  assert.deepEqual(errs.flatMap((e) => e.rows.map((r) => [r.id, r.error.code])), [['t1', 'E_UNSCHEDULABLE']]);
  const rb = replies(s.onPull('big', pullParams(big.epoch, big.seq, 2, { memory: 16 * GB }), 'pb', 0))[0]!;
  assert.deepEqual(taskIds(rb.bundles), ['t0']);
  s.check();
});

test('a task needing several threads is a bundle of its own', () => {
  const s = newScheduler();
  submit(s, 'J', tasks(3, () => 1, (i) => ({ threads: i === 1 ? 2 : 1 })));
  const a = s.onHello('a', agentInfo({ slots: 2 }), [], 0);
  const r = replies(s.onPull('a', pullParams(a.epoch, a.seq, 3), 'p', 0))[0]!;
  const multi = r.bundles.find((b) => b.threads === 2)!;
  assert.deepEqual(multi.tasks.map((t) => t.id), ['t1']);
  s.check();
});

test('command tasks go only to agents started with --allow-command; status says why', () => {
  const s = newScheduler();
  submit(s, 'C', tasks(1), { kind: 'command', needsCommand: true });
  const a = s.onHello('a', agentInfo(), [], 0);
  assert.equal(replies(s.onPull('a', pullParams(a.epoch, a.seq, 1, { waitMs: 0 }), 'p', 0))[0]!.bundles.length, 0);
  assert.match(s.status(0).jobs[0]!.notes.join('\n'), /--allow-command/);
  const b = s.onHello('b', agentInfo({ allowCommand: true }), [], 0);
  assert.equal(replies(s.onPull('b', pullParams(b.epoch, b.seq, 1), 'p', 0))[0]!.bundles.length, 1);
});

test('resume: tasks already in the output are not dispatched; a fully done job ends at once', () => {
  const s = newScheduler();
  const done = new Map<string, 'ok' | 'error'>([['t0', 'ok'], ['t1', 'error']]);
  submit(s, 'J', tasks(3), { done });
  const a = s.onHello('a', agentInfo(), [], 0);
  assert.deepEqual(taskIds(replies(s.onPull('a', pullParams(a.epoch, a.seq, 3), 'p', 0))[0]!.bundles), ['t2']);
  const ended = submit(s, 'K', tasks(1), { done: new Map([['t0', 'ok' as const]]) });
  assert.deepEqual(ofKind(ended, 'job-ended').map((e) => e.state), ['done']);
  s.check();
});

test('an agent that comes back (restart of the coordinator or a rejoin) keeps the tasks it still holds', () => {
  const s = newScheduler();
  // A job loaded again after a restart: what agents say they hold of it is adopted.
  submit(s, 'J', tasks(3), { adoptHeld: true });
  const cmds = s.onHello('a', agentInfo(), [['J', 't1', 1], ['J', 'gone', 1]], 0).commands;
  s.check();
  assert.equal(s.status(0).jobs[0]!.running, 1);
  assert.ok(ofKind(cmds, 'log').some((l) => l.fields.adopted === 1));
});

test('an illegal transition throws naming the task, both states and its history', () => {
  const t = queuedTask('x');
  const log = new TransitionLog(4);
  moveTask(t, { s: 'done', status: 'ok' }, 7, log);
  assert.throws(
    () => moveTask(t, { s: 'queued' }, 8, log),
    (err: unknown) => err instanceof IllegalMoveError && /J\/x: done → queued/.test(err.message) && /queued>done@7/.test(err.message),
  );
  assert.deepEqual(TRANSITIONS.done, []);
  assert.deepEqual(TRANSITIONS.split, []);
  // A task that ran once may still run somewhere: it is never split.
  const y = queuedTask('y');
  moveTask(y, { s: 'leased', agent: 'a', since: 0, dispatch: 1, copy: null }, 9, log);
  moveTask(y, { s: 'queued' }, 10, log);
  assert.throws(() => moveTask(y, { s: 'split' }, 11, log), (err: unknown) => err instanceof IllegalMoveError && /J\/y: queued → split/.test(err.message));
});

test('an illegal agent move throws naming the agent and both states', () => {
  const s = newScheduler({ agentTimeoutMs: 1000 });
  s.onHello('a', agentInfo(), [], 0);
  s.onTick(500);
  s.onTick(1600); // a is lost
  const roster = s.internalsForTests().agents;
  assert.throws(
    () => roster.move(roster.get('a')!, { s: 'draining' }),
    (err: unknown) => err instanceof IllegalMoveError && /agent a: lost → draining/.test(err.message),
  );
  assert.deepEqual(AGENT_TRANSITIONS.lost, ['active']);
});

test('a task expected to outlast an agent\'s Slurm walltime goes to another agent', () => {
  const s = newScheduler();
  submit(s, 'J', tasks(3, (i) => (i === 0 ? 100 : 1)), { granularity: 1 });
  const m = s.onHello('m', agentInfo({ slots: 1 }), [], 0);
  // Measure the job: 1 cost unit = 1 s.
  const first = replies(s.onPull('m', pullParams(m.epoch, m.seq, 1), 'pm', 0))[0]!;
  const id = taskIds(first.bundles)[0]!;
  assert.equal(id, 't0', 'largest first');
  s.onCommitted(commit('J', [[id, 'ok', 1, 'm', 100_000]]), 1000);
  submit(s, 'K', tasks(2, (i) => (i === 0 ? 100 : 1)), { granularity: 1, now: 1000 });
  s.onCommitted(commit('K', []), 1000);
  const short = s.onHello('short', agentInfo({ slots: 1, endTime: 1000 + 50_000 }), [], 1000);
  const r = replies(s.onPull('short', pullParams(short.epoch, short.seq, 1), 'ps', 1000))[0]!;
  // t1 of J (1 s) fits the 50 s left; nothing of 100 s is handed to it.
  for (const b of r.bundles) for (const t of b.tasks) assert.ok(t.cost < 50, `task ${b.job}/${t.id} of cost ${t.cost} does not fit 50 s`);
  s.check();
});

test('--no-speculate: a job can opt out of speculative copies', () => {
  const s = newScheduler({ speculate: true, speculateFactor: 2 });
  submit(s, 'J', tasks(2, () => 10), { granularity: 1, speculate: false });
  const a = s.onHello('a', agentInfo({ slots: 2 }), [], 0);
  const b = s.onHello('b', agentInfo({ slots: 1 }), [], 0);
  const ra = replies(s.onPull('a', pullParams(a.epoch, a.seq, 2), 'pa', 0))[0]!;
  s.onCommitted(commit('J', [[taskIds(ra.bundles)[0]!, 'ok', 1, 'a', 100]]), 100);
  s.onPull('b', pullParams(b.epoch, b.seq, 1, { waitMs: 60_000 }), 'pb', 100);
  assert.equal(replies(s.onTick(1000)).length, 0);
  assert.equal(s.status(1000).jobs[0]!.speculated, 0);
});

test('a failure of one copy of a speculated task uses up an attempt; the other copy keeps it leased', () => {
  const s = newScheduler({ speculate: true, speculateFactor: 2, maxAttempts: 2 });
  submit(s, 'J', tasks(2, () => 10), { granularity: 1 });
  const a = s.onHello('a', agentInfo({ slots: 2 }), [], 0);
  const b = s.onHello('b', agentInfo({ slots: 1 }), [], 0);
  const ra = replies(s.onPull('a', pullParams(a.epoch, a.seq, 2), 'pa', 0))[0]!;
  const [t0, t1] = taskIds(ra.bundles);
  s.onCommitted(commit('J', [[t0!, 'ok', 1, 'a', 100]]), 100);
  s.onPull('b', pullParams(b.epoch, b.seq, 1, { waitMs: 60_000 }), 'pb', 100);
  const copy = replies(s.onTick(1000))[0]!;
  assert.deepEqual(taskIds(copy.bundles), [t1]);
  // a's copy fails: b's copy goes on, and the attempt is used up.
  s.onPull('a', pullParams(a.epoch, ra.seq, 1, { waitMs: 0, reports: [failure('J', t1!, 'boom')] }), 'pa2', 1100);
  s.check();
  assert.equal(s.status(1100).jobs[0]!.running, 1);
  assert.equal(s.status(1100).jobs[0]!.retried, 1);
  // b's copy fails too: out of attempts, the task becomes an error row.
  const end = s.onPull('b', pullParams(b.epoch, copy.seq, 0, { waitMs: 0, reports: [failure('J', t1!, 'boom again')] }), 'pb2', 1200);
  s.check();
  assert.deepEqual(ofKind(end, 'error-rows').flatMap((e) => e.rows.map((r) => [r.id, r.error.message])), [[t1, 'boom again']]);
});

test('tasks an agent holds for a job the coordinator has not loaded yet are adopted when it is', () => {
  const s = newScheduler();
  s.expect(['J']);
  const a = s.onHello('a', agentInfo(), [['J', 't1', 2]], 0);
  submit(s, 'J', tasks(3), { adoptHeld: true, now: 10 });
  s.check();
  const st = s.status(10).jobs[0]!;
  assert.equal(st.running, 1, 'the held task is leased to its agent, not queued again');
  const r = replies(s.onPull('a', pullParams(a.epoch, a.seq, 3), 'p', 20))[0]!;
  assert.deepEqual(taskIds(r.bundles).sort(), ['t0', 't2']);
});

test('long tasks are not prefetched beyond the free slots; short ones are, sized from the kind\'s speed until measured', () => {
  // The kind says 1 ms per cost unit: 0.5 s tasks are long, 1 ms tasks are short.
  for (const [cost, bundles, perBundle] of [[500, 1, 1], [1, 3, 50]] as const) {
    const s = newScheduler();
    submit(s, 'J', tasks(1000, () => cost), { secondsPerCost: 1e-3 });
    const a = s.onHello('a', agentInfo({ slots: 1 }), [], 0);
    const r = replies(s.onPull('a', pullParams(a.epoch, a.seq, 3, { freeSlots: 1 }), 'pa', 0))[0]!;
    assert.equal(r.bundles.length, bundles, `cost ${cost}`);
    assert.ok(r.bundles.every((b) => Math.abs(b.tasks.length - perBundle) <= 1), `cost ${cost}: ${r.bundles.map((b) => b.tasks.length)}`);
    // Its slot busy, it asks again: long tasks wait (the pull is parked), short ones are prefetched.
    const again = replies(s.onPull('a', pullParams(a.epoch, r.seq, 2, { freeSlots: 0 }), 'pa2', 1));
    assert.equal(again.length, cost === 500 ? 0 : 1, `cost ${cost}`);
    s.check();
  }
  // Without a measurement or an estimate: one task per bundle, free slots only.
  const s = newScheduler();
  submit(s, 'J', tasks(10));
  const a = s.onHello('a', agentInfo({ slots: 2 }), [], 0);
  const r = replies(s.onPull('a', pullParams(a.epoch, a.seq, 6, { freeSlots: 2 }), 'pa', 0))[0]!;
  assert.deepEqual(r.bundles.map((b) => b.tasks.length), [1, 1]);
});

test('a pull parked while the agent was busy with long tasks is served when one of them commits', () => {
  const s = newScheduler();
  submit(s, 'J', tasks(3, () => 500), { secondsPerCost: 1e-3 });
  const a = s.onHello('a', agentInfo({ slots: 1 }), [], 0);
  const r = replies(s.onPull('a', pullParams(a.epoch, a.seq, 3, { freeSlots: 1 }), 'pa', 0))[0]!;
  assert.equal(taskIds(r.bundles).length, 1);
  assert.equal(replies(s.onPull('a', pullParams(a.epoch, r.seq, 2, { freeSlots: 0 }), 'pa2', 1)).length, 0);
  const served = replies(s.onCommitted(commit('J', [[taskIds(r.bundles)[0]!, 'ok', 1, 'a', 500]]), 500));
  assert.deepEqual(served.map((x) => [x.token, taskIds(x.bundles).length]), [['pa2', 1]]);
  s.check();
});
