/** The agent core's drain, driven by events: hand-backs, the grace period, a second signal. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AgentCore, bundleFlags } from '../../agents/index.js';
import { dispatch, done, kinds, newCore, reported, runs, tasks, welcome, epochOf } from '../helpers/agent-core.js';

const { bundleAborted, setRunning, TaskMark } = bundleFlags;

test('a drain with work queued: unstarted leases go back at once, the running task finishes, then the agent exits', () => {
  const core = newCore({ slots: 1 });
  const [a] = runs(dispatch(core, tasks(3, 'a'), tasks(2, 'b')));
  setRunning(a!.flags, 0);
  const cmds = core.drain(5000);
  core.check();
  assert.deepEqual(cmds, [{ kind: 'heartbeat' }, { kind: 'report' }, { kind: 'grace', ms: 5000 }]);
  assert.equal(core.state, 'draining');
  assert.equal(core.load().state, 'draining');
  assert.equal(core.want(false), 0, 'a draining agent pulls nothing');
  assert.equal(core.pulling, true, 'but carries its reports');
  assert.deepEqual(reported(core).sort(), ['a1', 'a2', 'b0', 'b1']);
  assert.equal(Atomics.load(a!.flags, 1), TaskMark.HandedBack, 'the worker skips a handed-back task');
  assert.equal(core.bundles.queued.length, 0);
  // The running task ends with its result; the handed-back ones are not reported twice.
  const end = core.bundleEnded(a!, done(a!, ['a0']), 100, 1e6);
  core.check();
  assert.deepEqual(kinds(end), ['send', 'wake', 'flush']);
  assert.equal(core.state, 'stopping');
  assert.equal(core.takeReports().length, 0);
  core.stopped();
  assert.equal(core.state, 'stopped');
});

test('a drain with nothing running flushes at once', () => {
  const core = newCore();
  assert.deepEqual(kinds(core.drain(5000)), ['heartbeat', 'report', 'flush']);
  assert.equal(core.state, 'stopping');
});

test('the grace period ends: running bundles are aborted and their unfinished tasks handed back', () => {
  const core = newCore({ slots: 2 });
  const [a, b] = runs(dispatch(core, tasks(1, 'a'), tasks(1, 'b')));
  setRunning(a!.flags, 0);
  setRunning(b!.flags, 0);
  assert.deepEqual(kinds(core.drain(1000)), ['heartbeat', 'report', 'grace']);
  assert.deepEqual(reported(core), [], 'both tasks had begun: nothing to hand back yet');
  assert.deepEqual(core.graceOver(), [
    { kind: 'abort', bundle: a },
    { kind: 'abort', bundle: b },
  ]);
  assert.ok(bundleAborted(a!.flags) && bundleAborted(b!.flags));
  assert.deepEqual(kinds(core.bundleEnded(a!, { kind: 'aborted' }, 1000, 1e6)), ['wake']);
  assert.deepEqual(kinds(core.bundleEnded(b!, { kind: 'aborted' }, 1000, 1e6)), ['wake', 'flush']);
  core.check();
  assert.deepEqual(reported(core), ['a0', 'b0']);
  assert.deepEqual(core.graceOver(), [], 'a grace timer firing late does nothing');
});

test('a second drain signal ends the grace period now', () => {
  const core = newCore({ slots: 1 });
  const [a] = runs(dispatch(core, tasks(1)));
  setRunning(a!.flags, 0);
  assert.deepEqual(kinds(core.drain(30_000)), ['heartbeat', 'report', 'grace']);
  assert.deepEqual(core.drain(30_000), [{ kind: 'abort', bundle: a }], 'no second grace period, no second hand-back');
  assert.equal(core.state, 'draining');
  assert.deepEqual(kinds(core.bundleEnded(a!, { kind: 'aborted' }, 10, 1e6)), ['wake', 'flush']);
  assert.deepEqual(core.drain(30_000), [], 'draining again while flushing: nothing left to abort');
  assert.equal(core.state, 'stopping');
});

test('a rejoin while draining keeps the drain and takes the new link', () => {
  const core = newCore({ slots: 1 });
  const [a] = runs(dispatch(core, tasks(1)));
  setRunning(a!.flags, 0);
  core.drain(1000);
  core.rejoinAsked(50);
  assert.equal(core.state, 'draining');
  assert.equal(core.link, null);
  assert.deepEqual(core.heldTasks(), [['J', 't0', 1]]);
  core.welcomed(welcome(3), 60);
  assert.equal(core.state, 'draining');
  assert.equal(epochOf(core), 3);
  core.check();
});

test('a drain before the agent started still drains, and start does not undo it; a stopped agent does not drain', () => {
  const core = new AgentCore({ agent: 'h-1', host: 'h', slots: 1, prefetch: 1, depth: 1, memoryLimit: 1, minFreeMemory: 0, freeMemory: 1 });
  assert.deepEqual(kinds(core.drain(1000)), ['heartbeat', 'report', 'flush']);
  assert.equal(core.link, null);
  core.start();
  assert.equal(core.state, 'stopping');
  core.stopped();
  assert.deepEqual(core.drain(1000), []);
});
