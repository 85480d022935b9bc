/** The agent's core driven by events, without a bus or a pool: bundles, deaths, aborts, memory, rejoins. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AgentCore, moveSession, bundleFlags } from '../../agents/index.js';
import { IllegalMoveError } from '../../src/errors.js';
import { dispatch, done, kinds, newCore, reported, runs, tasks, welcome, epochOf } from '../helpers/agent-core.js';

const { isMarked, runningIndex } = bundleFlags;

test('a bundle runs when its slot is free and the next one starts when it ends', () => {
  const core = newCore({ slots: 1 });
  const [a] = runs(dispatch(core, tasks(2, 'a'), tasks(2, 'b')));
  assert.equal(a!.job, 'J');
  assert.equal(runningIndex(a!.flags), -1, 'no task began yet');
  assert.equal(core.bundles.queued.length, 1, 'b waits for the slot');
  assert.equal(core.want(false), 1, 'one slot and two prefetched, two held: one more');
  const cmds = core.bundleEnded(a!, done(a!, ['a0', 'a1']), 10, 1e6);
  core.check();
  assert.deepEqual(kinds(cmds), ['send', 'run', 'wake']);
  assert.equal(core.done, 2);
  assert.equal(core.takeReports().length, 0, 'nothing to hand back');
});

test('a bundle ends with a failure and a task left over: the failure and the leftover are reported', () => {
  const core = newCore();
  const [a] = runs(dispatch(core, tasks(3)));
  const cmds = core.bundleEnded(a!, done(a!, ['t0'], ['t1']), 10, 1e6);
  core.check();
  assert.deepEqual(kinds(cmds), ['send', 'wake', 'report-if-parked']);
  const r = core.takeReports();
  assert.deepEqual(r.map((x) => [x.id, x.error?.code ?? null]), [['t1', 'E_TASK'], ['t2', null]]);
});

test('a result too large for the bus becomes an error row', () => {
  const core = newCore();
  const [a] = runs(dispatch(core, tasks(1)));
  const cmds = core.bundleEnded(a!, done(a!, ['t0']), 10, 5, new Map([['t0', { line: 3, text: 'x.sdf' }]]));
  const sent = cmds.find((c) => c.kind === 'send');
  assert.ok(sent && sent.kind === 'send');
  assert.equal(sent.group.status, 'e');
  assert.match(sent.group.text, /E_TOO_LARGE|too large|exceeds/i);
  assert.deepEqual(JSON.parse(sent.group.text).input, { line: 3, text: 'x.sdf' }, 'the row says what the task was given, as the shell read it');
});

test('a worker thread dies: only the running task is charged, the others go back', () => {
  const core = newCore();
  const [a] = runs(dispatch(core, tasks(3)));
  const cmds = core.bundleEnded(a!, { kind: 'died', error: { code: 'E_WORKER', message: 'worker thread died' }, runningIndex: 1 }, 10, 1e6);
  core.check();
  assert.ok(!kinds(cmds).includes('send'));
  const r = core.takeReports();
  assert.deepEqual(r.map((x) => [x.id, x.error?.code ?? null]), [['t0', null], ['t1', 'E_WORKER'], ['t2', null]]);
});

test('a worker thread dies on a final attempt: the agent writes its error row', () => {
  const core = newCore();
  const [a] = runs(dispatch(core, tasks(2, 't', true)));
  const cmds = core.bundleEnded(a!, { kind: 'died', error: { code: 'E_WORKER', message: 'heap' }, runningIndex: 0 }, 10, 1e6, new Map([['t0', { record: 0, line: 1, text: 'C1CC1' }]]));
  const sent = cmds.find((c) => c.kind === 'send');
  assert.ok(sent && sent.kind === 'send');
  assert.deepEqual(sent.group.ids, ['t0']);
  assert.equal(sent.group.status, 'e');
  assert.deepEqual(JSON.parse(sent.group.text).input, { record: 0, line: 1, text: 'C1CC1' });
  assert.deepEqual(reported(core), ['t1']);
});

test('a cancelled job: queued bundles are dropped, running ones aborted, and nothing of them is reported', () => {
  const core = newCore({ slots: 1 });
  const [a] = runs(dispatch(core, tasks(2, 'a'), tasks(2, 'b')));
  const cmds = core.abort('J', null);
  core.check();
  assert.deepEqual(cmds, [{ kind: 'abort', bundle: a }]);
  assert.equal(core.bundles.queued.length, 0);
  const end = core.bundleEnded(a!, { kind: 'aborted' }, 10, 1e6);
  core.check();
  assert.ok(!kinds(end).includes('send'));
  assert.equal(core.takeReports().length, 0);
  assert.equal(core.bundles.held, 0);
});

test('an abort of some tasks marks them; the bundle is aborted only when all are', () => {
  const core = newCore({ slots: 1 });
  const [a] = runs(dispatch(core, tasks(2, 'a'), tasks(2, 'b')));
  assert.deepEqual(core.abort('J', ['a0', 'b0']), []);
  assert.ok(isMarked(a!.flags, 0) && !isMarked(a!.flags, 1));
  assert.deepEqual(core.bundles.queued[0]!.tasks.map((t) => t.id), ['b1'], 'b0 left the queued bundle');
  assert.deepEqual(core.abort('J', ['a1']), [{ kind: 'abort', bundle: a }]);
  core.check();
});

test('free memory below the floor stops pulls and is told in heartbeats', () => {
  const core = newCore({ minFreeMemory: 100 });
  assert.deepEqual(core.memoryMeasured(50), [{ kind: 'memory', low: true, free: 50 }, { kind: 'wake' }]);
  assert.equal(core.want(false), 0);
  assert.equal(core.load().state, 'paused');
  assert.deepEqual(core.memoryMeasured(60), [], 'still low: nothing to say');
  assert.equal(core.memoryMeasured(500).length, 2);
  assert.equal(core.load().state, 'active');
  assert.ok(core.want(false) > 0);
});

test('a rejoin (coordinator lost, new epoch): what is held is announced again and pulls resume under the new epoch', () => {
  const core = newCore({ slots: 1 });
  dispatch(core, tasks(2, 'a'), tasks(1, 'b'));
  assert.equal(core.rejoinAsked(1000), 0, 'first rejoin: at once');
  core.check();
  assert.equal(core.state, 'joining');
  assert.equal(core.link, null);
  assert.equal(core.want(false), 0, 'no pull before the welcome');
  assert.deepEqual(core.heldTasks(), [['J', 'b0', 1], ['J', 'a0', 1], ['J', 'a1', 1]]);
  assert.deepEqual(core.welcomed(welcome(7), 1100), [{ kind: 'heartbeat-every', ms: 2000 }]);
  assert.equal(core.state, 'active');
  assert.equal(epochOf(core), 7);
  assert.equal(core.bundles.held, 2, 'the bundles are kept across the rejoin');
  // Asked again at once: the agent joins again no faster than this.
  assert.equal(core.rejoinAsked(1200), 100);
  assert.equal(core.rejoinAsked(1300), 200);
  assert.equal(core.rejoinAsked(9000), 0);
});

test('two coordinators welcoming in turns: the agent exits with code 2', () => {
  const core = newCore();
  core.rejoinAsked(10);
  assert.equal(core.welcomed(welcome(1, 'boot-b'), 20).length, 1);
  core.rejoinAsked(30);
  const cmds = core.welcomed(welcome(2, 'boot-a'), 40);
  assert.equal(cmds.length, 1);
  assert.equal(cmds[0]!.kind, 'exit');
  assert.equal(cmds[0]!.kind === 'exit' && cmds[0]!.code, 2);
});

test('a welcome after the agent stopped changes nothing', () => {
  const core = new AgentCore({ agent: 'h-1', host: 'h', slots: 1, prefetch: 1, depth: 1, memoryLimit: 1, minFreeMemory: 0, freeMemory: 1 });
  core.start();
  core.stopped();
  assert.deepEqual(core.welcomed(welcome(1), 0), []);
  assert.equal(core.state, 'stopped');
  assert.equal(core.pulling, false);
});

test('the session moves only through its table', () => {
  assert.throws(() => moveSession({ s: 'stopped' }, { s: 'joining' }, 'test'), IllegalMoveError);
  assert.throws(() => moveSession({ s: 'draining', link: null }, { s: 'active', link: { epoch: 1, seq: 0 } }, 'test'), /draining → active/);
  assert.deepEqual(moveSession({ s: 'joining' }, { s: 'draining', link: null }, 'test'), { s: 'draining', link: null });
});
