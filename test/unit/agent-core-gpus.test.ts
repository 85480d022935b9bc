/**
 * GPUs in the agent's core: a bundle that needs GPUs holds that many of the agent's while it
 * runs, never one another running bundle holds, and gives them back however it ends (done,
 * failed, aborted, requeued, thread died, job cancelled). A pull tells the free ones.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TaskMsg } from '../../protocol/index.js';
import type { AgentCore, Bundle, BundleEnd } from '../../agents/index.js';
import { done, JOB, kinds, newCore, reported, runs, tasks } from '../helpers/agent-core.js';
import { rng } from '../helpers/sched.js';

/** Dispatches bundles of [tasks, GPUs] (one thread each) and checks the core. */
function dispatchGpu(core: AgentCore, ...bundles: Array<[TaskMsg[], number]>): Bundle[] {
  const cmds = core.dispatched(1, [JOB], bundles.map(([t, gpus]) => ({ job: JOB.job, threads: 1, ...(gpus > 0 ? { gpus } : {}), tasks: t })));
  core.check();
  return runs(cmds);
}

/** GPUs held by the running bundles, in order. */
const held = (core: AgentCore): number[][] => [...core.bundles.running].map((b) => [...b.gpus]);

test('bundles get distinct GPUs; one waiting for a GPU starts on the GPU the first one frees', () => {
  const core = newCore({ slots: 4, depth: 2, gpus: [0, 1] });
  const [a, b, more] = dispatchGpu(core, [tasks(1, 'a'), 1], [tasks(1, 'b'), 1], [tasks(1, 'c'), 1]);
  assert.equal(more, undefined, 'two GPUs, two bundles running');
  assert.deepEqual([a!.gpus, b!.gpus], [[0], [1]]);
  assert.deepEqual([core.load().busyGpus, core.load().freeGpus], [2, 0]);
  const started = runs(core.bundleEnded(b!, done(b!, ['b0']), 10, 1e6));
  core.check();
  assert.deepEqual(started.map((x) => [x.tasks[0]!.id, [...x.gpus]]), [['c0', [1]]]);
  assert.deepEqual(held(core), [[0], [1]]);
});

test('a bundle of two GPUs waits for two free ones; the bundles behind it that need fewer start', () => {
  const core = newCore({ slots: 4, depth: 1, gpus: [0, 1, 2] });
  const [a] = dispatchGpu(core, [tasks(1, 'a'), 2]);
  const next = dispatchGpu(core, [tasks(1, 'b'), 2], [tasks(1, 'c'), 0], [tasks(1, 'd'), 1]);
  assert.deepEqual(next.map((x) => [x.tasks[0]!.id, [...x.gpus]]), [['c0', []], ['d0', [2]]]);
  assert.deepEqual(core.load().freeGpus, 0, 'the free GPU count leaves out what the queued bundle waits for');
  const after = runs(core.bundleEnded(a!, done(a!, ['a0']), 10, 1e6));
  core.check();
  assert.deepEqual(after.map((x) => [x.tasks[0]!.id, [...x.gpus]]), [['b0', [0, 1]]]);
});

test('a GPU bundle does not wait behind another on a thread while holding GPUs', () => {
  const core = newCore({ slots: 1, depth: 2, gpus: [0] });
  const [cpu] = dispatchGpu(core, [tasks(1, 'a'), 0]);
  assert.equal(dispatchGpu(core, [tasks(1, 'g'), 1]).length, 0, 'the only thread is busy');
  assert.equal(core.load().busyGpus, 0);
  const after = runs(core.bundleEnded(cpu!, done(cpu!, ['a0']), 10, 1e6));
  assert.deepEqual(after.map((x) => [...x.gpus]), [[0]]);
  core.check();
});

const ENDS: Record<string, (b: Bundle) => BundleEnd> = {
  done: (b) => done(b, b.tasks.map((t) => t.id)),
  failed: (b) => done(b, [], b.tasks.map((t) => t.id)),
  aborted: () => ({ kind: 'aborted' }),
  requeue: () => ({ kind: 'requeue' }),
  died: () => ({ kind: 'died', error: { code: 'E_WORKER', message: 'worker thread died' }, runningIndex: 0 }),
};

for (const [how, end] of Object.entries(ENDS)) {
  test(`a bundle that ended ${how} gives its GPUs back`, () => {
    const core = newCore({ slots: 2, gpus: [3, 5] });
    const [b] = dispatchGpu(core, [tasks(2), 2]);
    assert.deepEqual([...b!.gpus], [3, 5]);
    core.bundleEnded(b!, end(b!), 10, 1e6);
    core.check();
    assert.deepEqual([core.load().busyGpus, core.load().freeGpus, b!.gpus.length], [0, 2, 0]);
  });
}

test("a bundle of a cancelled job gives its GPUs back when it ends; a queued one never held any", () => {
  const core = newCore({ slots: 2, gpus: [0] });
  const [b] = dispatchGpu(core, [tasks(1, 'a'), 1], [tasks(1, 'q'), 1]);
  assert.equal(core.bundles.queued.length, 1);
  assert.deepEqual(kinds(core.abort('J', null)), ['abort']);
  core.check();
  assert.equal(core.bundles.queued.length, 0, 'the queued bundle is dropped');
  assert.equal(core.load().busyGpus, 1, 'the running one holds its GPU until it ends');
  core.bundleEnded(b!, { kind: 'aborted' }, 10, 1e6);
  core.check();
  assert.equal(core.load().freeGpus, 1);
});

test('a bundle needing more GPUs than the agent has is handed back, not held forever', () => {
  const core = newCore({ slots: 2, gpus: [0] });
  assert.equal(dispatchGpu(core, [tasks(2), 2]).length, 0);
  assert.equal(core.bundles.held, 0);
  assert.deepEqual(reported(core), ['t0', 't1']);
});

test('random dispatches and ends: no GPU is ever held by two running bundles, all are free at the end', () => {
  const rand = rng(11);
  const core = newCore({ slots: 6, depth: 2, prefetch: 4, gpus: [0, 1, 2, 3] });
  let n = 0;
  const ends = Object.values(ENDS);
  for (let step = 0; step < 2000; step++) {
    const running = [...core.bundles.running];
    if (running.length > 0 && rand() < 0.5) {
      const b = running[Math.floor(rand() * running.length)]!;
      core.bundleEnded(b, ends[Math.floor(rand() * ends.length)]!(b), step, 1e6);
    } else if (core.bundles.held < 12) {
      dispatchGpu(core, [tasks(1 + Math.floor(rand() * 3), `s${n++}_`), Math.floor(rand() * 4)]);
    }
    core.check();
    core.takeReports();
  }
  while (core.bundles.held > 0) {
    const b = [...core.bundles.running][0]!;
    core.bundleEnded(b, done(b, b.tasks.map((t) => t.id)), 1e4, 1e6);
    core.check();
  }
  assert.deepEqual([core.load().busyGpus, core.load().freeGpus], [0, 4]);
});
