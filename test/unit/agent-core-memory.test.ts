/**
 * Interpreters' memory in the agent's core: a python job's first bundle runs alone until its
 * interpreter is measured; then its bundles start only while every job's interpreters fit the
 * agent's memory (its limit, or the node's free memory plus what they hold), so 300 MB
 * interpreters under a 700 MB limit run at most 2 at a time. Other kinds are not held back.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { JobInfo, TaskMsg } from '../../protocol/index.js';
import type { AgentCore, Bundle } from '../../agents/index.js';
import { done, JOB, newCore, runs, tasks } from '../helpers/agent-core.js';
import { rng } from '../helpers/sched.js';

const MB = 2 ** 20;
const PY: JobInfo = { job: 'P', kind: 'python', params: {} };
const PY2: JobInfo = { job: 'Q', kind: 'python', params: {} };

/** Dispatches one-task bundles of `job` and returns those started. */
function give(core: AgentCore, job: JobInfo, ...bundles: TaskMsg[][]): Bundle[] {
  const started = runs(core.dispatched(1, [job], bundles.map((t) => ({ job: job.job, threads: 1, tasks: t }))));
  core.check();
  return started;
}

/** Running bundles per job. */
function running(core: AgentCore): Record<string, number> {
  const out: Record<string, number> = {};
  for (const b of core.bundles.running) out[b.job] = (out[b.job] ?? 0) + 1;
  return out;
}

test('an unmeasured python job runs one bundle; once its interpreter is measured, as many as the memory holds', () => {
  const core = newCore({ slots: 4, depth: 1, prefetch: 4, memoryLimit: 700 * MB, freeMemory: 8000 * MB });
  const first = give(core, PY, tasks(1, 'a'), tasks(1, 'b'), tasks(1, 'c'), tasks(1, 'd'));
  assert.equal(first.length, 1, 'one interpreter until one is measured');
  assert.equal(core.want(false), 0, 'no pulls while bundles wait for memory');
  const second = runs(core.interpretersMeasured([{ pid: 10, job: 'P', rss: 300 * MB }]));
  core.check();
  assert.equal(second.length, 1, '2 × 300 MB fit 700 MB; 3 do not');
  assert.deepEqual(running(core), { P: 2 });
  assert.equal(core.load().memory, 400 * MB, 'free memory reported less what interpreters hold');
  assert.deepEqual(core.load().interpreters, [{ job: 'P', count: 1, rss: 300 * MB, maxRss: 300 * MB }]);
  // A bundle ends: the next one takes its place, never a third beside the two.
  const third = runs(core.bundleEnded(first[0]!, done(first[0]!, ['a0']), 1, 1e6));
  core.check();
  assert.equal(third.length, 1);
  assert.deepEqual(running(core), { P: 2 });
});

test('the node\'s free memory bounds it too; a larger interpreter lowers the count; other kinds are not held back', () => {
  const core = newCore({ slots: 4, depth: 1, prefetch: 8, memoryLimit: 64_000 * MB, freeMemory: 1000 * MB });
  const [a] = give(core, PY, tasks(1, 'a'), tasks(1, 'b'), tasks(1, 'c'), tasks(1, 'd'));
  core.interpretersMeasured([{ pid: 10, job: 'P', rss: 400 * MB }]);
  core.check();
  // 1000 MB free with 400 MB held: a budget of 1400 MB holds 3 interpreters of 400 MB, not 4.
  assert.deepEqual(running(core), { P: 3 });
  // The model grew to 600 MB in one, and the node has 200 MB free: 1600 MB for 600 MB each.
  core.memoryMeasured(200 * MB);
  core.interpretersMeasured([{ pid: 10, job: 'P', rss: 600 * MB }, { pid: 11, job: 'P', rss: 400 * MB }, { pid: 12, job: 'P', rss: 400 * MB }]);
  assert.deepEqual(running(core), { P: 3 }, '4 × 600 MB exceed 1600 MB');
  core.check();
  runs(core.bundleEnded(a!, done(a!, ['a0']), 1, 1e6));
  core.check();
  assert.deepEqual(running(core), { P: 2 }, '3 × 600 MB exceed 1600 MB: the fourth still waits');
  assert.equal(give(core, JOB, tasks(1, 's')).length, 1, 'a spin bundle starts beside them');
});

test('another job\'s interpreters count against the budget; a bundle alone in the pool always starts', () => {
  const core = newCore({ slots: 4, depth: 1, prefetch: 8, memoryLimit: 1000 * MB, freeMemory: 8000 * MB });
  const [p] = give(core, PY, tasks(1, 'a'));
  core.interpretersMeasured([{ pid: 10, job: 'P', rss: 700 * MB }]);
  const [q] = give(core, PY2, tasks(1, 'q'));
  assert.ok(q, 'an unmeasured job still gets its one bundle');
  core.interpretersMeasured([{ pid: 10, job: 'P', rss: 700 * MB }, { pid: 11, job: 'Q', rss: 200 * MB }]);
  assert.equal(give(core, PY2, tasks(1, 'r')).length, 0, '700 + 2 × 200 MB exceed 1000 MB');
  core.bundleEnded(p!, done(p!, ['a0']), 1, 1e6);
  core.check();
  assert.deepEqual(running(core), { Q: 1 }, 'P\'s idle interpreter still holds 700 MB');
  // P's interpreter is gone (its thread took Q's next bundle, or it was recycled).
  const after = runs(core.interpretersMeasured([{ pid: 11, job: 'Q', rss: 200 * MB }]));
  core.check();
  assert.equal(after.length, 1);
  assert.deepEqual(running(core), { Q: 2 });
  core.bundleEnded(q!, done(q!, ['q0']), 2, 1e6);
  core.bundleEnded(after[0]!, done(after[0]!, ['r0']), 3, 1e6);
  // Measured larger than the whole budget: it runs alone rather than never.
  core.interpretersMeasured([{ pid: 12, job: 'P', rss: 2000 * MB }]);
  assert.equal(give(core, PY, tasks(1, 'x'), tasks(1, 'y')).length, 1);
  core.check();
});

test('random events: a job\'s bundles in the pool never exceed what its measured interpreters allow', () => {
  const r = rng(7);
  for (let round = 0; round < 200; round++) {
    const limit = (500 + Math.floor(r() * 4000)) * MB;
    const core = newCore({ slots: 8, depth: 1, prefetch: 16, memoryLimit: limit, freeMemory: 64_000 * MB });
    const rss = (50 + Math.floor(r() * 1000)) * MB;
    let pid = 100;
    let n = 0;
    for (let step = 0; step < 60; step++) {
      const x = r();
      if (x < 0.4) give(core, PY, tasks(1, `t${n++}-`));
      else if (x < 0.7) {
        const live = [...core.bundles.running];
        const b = live[Math.floor(r() * live.length)];
        if (b) core.bundleEnded(b, done(b, [b.tasks[0]!.id]), step, 1e6);
      } else {
        // One interpreter per running bundle, each measured at `rss`.
        const list = [...core.bundles.running].map(() => ({ pid: pid++, job: 'P', rss }));
        core.interpretersMeasured(list);
      }
      core.check();
      const inPool = core.bundles.running.size;
      if (inPool > 1) assert.ok(inPool * rss <= limit, `round ${round}: ${inPool} × ${rss / MB} MB > ${limit / MB} MB`);
    }
  }
});
