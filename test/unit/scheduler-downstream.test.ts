/**
 * Cancelling a job with the jobs downstream of it in the scheduling core (`onCancelDownstream`,
 * behind `shoal cancel JOB --downstream`): stages fed by it, jobs waiting for it, and so on,
 * through jobs that already ended; ended jobs stay as they are; a job waiting `--after-any`
 * is cancelled, never released; unrelated jobs run on. Invariants are checked after each step.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Scheduler } from '../../coordinator/index.js';
import { agentInfo, BUILTIN, newScheduler, ofKind, pullParams, replies, submit, taskIds, tasks } from '../helpers/sched.js';

/** Submits a job after `after` (--after-ok unless `any`). */
function submitAfter(s: Scheduler, job: string, after: string[], n: number, any = false): void {
  s.onSubmit({ job, kind: 'spin', params: {}, after, ...(any ? { afterAny: true } : {}) }, tasks(n), new Map(), BUILTIN, 0);
  s.check();
}

const stateOf = (s: Scheduler, job: string): string => {
  const j = s.status(10, job).jobs[0]!;
  return j.waitingFor ? 'waiting' : j.state;
};

test('cancel --downstream: every job fed by the job or waiting for it, transitively, is cancelled in one event; ended and unrelated jobs are left alone', () => {
  const s = newScheduler();
  const hello = s.onHello('a1', agentInfo({ slots: 4 }), [], 0);
  submit(s, 'A', tasks(20));
  submit(s, 'B', [], { upstream: 'A' }); // a stage fed by A's rows
  submitAfter(s, 'C', ['B'], 3); // waits for the stage
  submitAfter(s, 'D', ['A'], 3, true); // waits for A however it ends
  submit(s, 'E', tasks(5)); // unrelated
  submit(s, 'H', [], { upstream: 'A' }); // another stage of A, cancelled on its own first
  submitAfter(s, 'I', ['H'], 2, true); // runs once H has ended, however
  s.check();
  s.onCancel('H', 1);
  s.check();
  assert.equal(stateOf(s, 'H'), 'cancelled');
  assert.equal(stateOf(s, 'I'), 'running', 'precondition: I runs, H having ended');
  assert.equal(stateOf(s, 'C'), 'waiting');
  assert.equal(stateOf(s, 'D'), 'waiting');

  const r = s.onCancelDownstream('A', 2);
  s.check();
  // Each downstream job once, each after its upstream jobs; H had ended, so it is not among them.
  assert.deepEqual(r.also, ['B', 'C', 'D', 'I']);
  for (const j of ['A', 'B', 'C', 'D', 'I']) assert.equal(stateOf(s, j), 'cancelled', j);
  assert.equal(stateOf(s, 'H'), 'cancelled');
  assert.equal(stateOf(s, 'E'), 'running');
  assert.deepEqual(ofKind(r.commands, 'job-ended').map((c) => `${c.job}:${c.state}`).sort(), ['A:cancelled', 'B:cancelled', 'C:cancelled', 'D:cancelled', 'I:cancelled']);
  // Cancelled by the request, not by their upstream's end: no reason recorded.
  for (const j of ['C', 'D']) assert.equal(s.status(10, j).jobs[0]!.error, undefined, j);

  // D (--after-any) was never released: the next pull gets E's tasks only.
  const cmds = s.onPull('a1', pullParams(hello.epoch, hello.seq, 4, { waitMs: 0 }), 'p', 3);
  s.check();
  const got = replies(cmds).flatMap((x) => x.bundles.map((b) => b.job));
  assert.ok(got.length > 0 && got.every((j) => j === 'E'), `only E is dispatched: ${JSON.stringify(got)}`);
  assert.ok(taskIds(replies(cmds).flatMap((x) => x.bundles)).length > 0);
});

test('cancel --downstream of a job that ended cancels what still runs below it; of a job with nothing below, only the job', () => {
  const s = newScheduler();
  submit(s, 'A', tasks(3));
  submit(s, 'B', [], { upstream: 'A' });
  s.onCancel('A', 1); // A ends; its stage B keeps what it has and waits for its feed's end
  s.check();
  assert.equal(stateOf(s, 'B'), 'running');
  const r = s.onCancelDownstream('A', 2);
  s.check();
  assert.deepEqual(r.also, ['B']);
  assert.equal(stateOf(s, 'A'), 'cancelled');
  assert.equal(stateOf(s, 'B'), 'cancelled');

  submit(s, 'L', tasks(2));
  const lone = s.onCancelDownstream('L', 3);
  s.check();
  assert.deepEqual(lone.also, []);
  assert.equal(stateOf(s, 'L'), 'cancelled');
});

test('cancel --downstream through a diamond: the job below both branches is cancelled once', () => {
  const s = newScheduler();
  submit(s, 'A', tasks(4));
  submit(s, 'B', [], { upstream: 'A' });
  submitAfter(s, 'C', ['A'], 2);
  submitAfter(s, 'D', ['B', 'C'], 2);
  const r = s.onCancelDownstream('A', 1);
  s.check();
  // D after both of its upstream jobs.
  assert.deepEqual(r.also, ['B', 'C', 'D']);
  assert.equal(ofKind(r.commands, 'job-ended').filter((c) => c.job === 'D').length, 1);
});
