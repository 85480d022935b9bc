/**
 * A job whose task list grows while it runs (a stage fed by another job's rows): tasks added
 * with onGrow are dispatched, ids it has are ignored, a task carrying an upstream error is not
 * run (its error row is asked for), tasks the output held before are done, and the job ends only
 * once the upstream has ended and every task is done. The invariants hold after every step.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LateTask } from '../../coordinator/index.js';
import { agentInfo, BUILTIN, commit, newScheduler, ofKind, pullParams, replies, submit, taskIds, tasks } from '../helpers/sched.js';

const late = (ids: string[], o: Partial<LateTask> = {}): LateTask[] => ids.map((id) => ({ id, cost: 1, ref: { up: id, v: id }, ...o }));

test('a fed job with no tasks yet waits for its upstream; tasks that come are dispatched; it ends once the upstream ended and all are done', () => {
  const s = newScheduler();
  const ended = (cmds: ReturnType<typeof s.onGrow>) => ofKind(cmds, 'job-ended').map((c) => c.job);
  assert.deepEqual(ended(submit(s, 'D', [], { upstream: 'U' })), [], 'no tasks, but more may come: still running');
  s.check();
  assert.equal(s.jobState('D'), 'running');
  assert.match(s.status(0, 'D').jobs[0]!.notes.join(' '), /'U'/);
  const a = s.onHello('a', agentInfo({ slots: 2 }), [], 0);
  assert.equal(replies(s.onPull('a', pullParams(a.epoch, a.seq, 2, { waitMs: 1000 }), 'p1', 0)).length, 0, 'nothing to serve: the pull parks');
  // Tasks arrive: the parked pull is served with them.
  const got = s.onGrow('D', late(['u0', 'u1']), false, 1);
  s.check();
  const r = replies(got)[0];
  assert.ok(r, 'the parked pull is served once tasks came');
  assert.deepEqual(taskIds(r.bundles).sort(), ['u0', 'u1']);
  // The same ids again (a row seen in the file and in a commit) are ignored.
  s.onGrow('D', late(['u0', 'u1']), false, 2);
  assert.equal(s.jobCounts('D')!.total, 2);
  assert.deepEqual(ended(s.onCommitted(commit('D', [['u0', 'ok', 1, 'a', 5], ['u1', 'ok', 1, 'a', 5]]), 3)), [], 'all done, the upstream still runs: not ended');
  s.check();
  assert.equal(s.jobState('D'), 'running');
  assert.deepEqual(ended(s.onGrow('D', [], true, 4)), ['D'], 'the upstream ended with every task done: the job ends');
  s.check();
  assert.equal(s.jobState('D'), 'done');
});

test('a task carrying an upstream error runs nowhere: its error row is asked for, and its commit ends the job', () => {
  const s = newScheduler();
  submit(s, 'D', [], { upstream: 'U' });
  const cmds = s.onGrow('D', late(['u0'], { upstreamError: { code: 'E_UPSTREAM', message: 'upstream job U task u0 failed' } }), true, 1);
  s.check();
  const rows = ofKind(cmds, 'error-rows');
  assert.equal(rows.length, 1);
  assert.deepEqual(rows[0]!.rows.map((r) => [r.id, r.error.code]), [['u0', 'E_UPSTREAM']]);
  const a = s.onHello('a', agentInfo(), [], 1);
  assert.equal(replies(s.onPull('a', pullParams(a.epoch, a.seq, 2, { waitMs: 0 }), 'p', 1))[0]!.bundles.length, 0, 'nothing to run');
  const end = s.onCommitted(commit('D', [['u0', 'error', 1, 'coordinator', 0]]), 2);
  s.check();
  assert.deepEqual(ofKind(end, 'job-ended').map((c) => c.state), ['done']);
  assert.equal(s.status(2, 'D').jobs[0]!.failed, 1);
});

test('a resumed fed job: tasks its output held are done as they come, the others queued', () => {
  const s = newScheduler();
  submit(s, 'D', tasks(2), { upstream: 'U', done: new Map([['t0', 'ok'], ['u5', 'ok'], ['u6', 'error']]) });
  s.check();
  s.onGrow('D', late(['u5', 'u6', 'u7']), false, 1);
  s.check();
  const st = s.status(1, 'D').jobs[0]!;
  assert.deepEqual([st.total, st.done, st.failed, st.queued], [5, 3, 1, 2]);
});

test('a job not fed by another ignores onGrow, and a cancelled fed job takes no more tasks', () => {
  const s = newScheduler();
  submit(s, 'J', tasks(1));
  s.onGrow('J', late(['x']), false, 1);
  assert.equal(s.jobCounts('J')!.total, 1);
  submit(s, 'D', [], { upstream: 'U' });
  s.onCancel('D', 2);
  s.check();
  assert.equal(s.jobState('D'), 'cancelled');
  s.onGrow('D', late(['u0']), false, 3);
  assert.equal(s.jobCounts('D')!.total, 0);
  s.check();
});

test('a fed job that also waits (--after) keeps the tasks that come while it waits, and runs them once released', () => {
  const s = newScheduler();
  submit(s, 'A', tasks(1));
  s.onSubmit({ job: 'D', kind: 'spin', params: {}, after: ['A'] }, [], new Map(), { ...BUILTIN, upstream: 'U' }, 0);
  s.check();
  const phase = (): string => (s.status(0, 'D').jobs[0]!.waitingFor ? 'waiting' : 'running');
  assert.equal(phase(), 'waiting');
  s.onGrow('D', late(['u0']), false, 1);
  s.check();
  assert.equal(s.jobCounts('D')!.total, 1);
  s.onCommitted(commit('A', [['t0', 'ok', 1, 'a', 5]]), 2);
  s.check();
  assert.equal(phase(), 'running');
  const a = s.onHello('a', agentInfo(), [], 3);
  assert.deepEqual(taskIds(replies(s.onPull('a', pullParams(a.epoch, a.seq, 2, { waitMs: 0 }), 'p', 3))[0]!.bundles), ['u0']);
});
