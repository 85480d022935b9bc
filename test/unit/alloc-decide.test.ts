/**
 * The allocation decision (coordinator/alloc/decide.ts) over backlog shapes and walltime edges:
 * what is submitted, what is not and why; tasks idle agents can serve, tasks no allocation
 * could run, the limits, the back-off after failures.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AllocQueueSpec } from '../../protocol/index.js';
import type { JobDemand } from '../../coordinator/alloc/index.js';
import { backoffMs, decide, type QueueFacts } from '../../coordinator/alloc/index.js';
import { agent, job, spec } from '../helpers/alloc.js';

const facts = (o: Partial<QueueFacts> = {}): QueueFacts => ({ live: 0, waiting: 0, slurmJobs: new Set(), slotsPerNode: 4, paused: false, started: true, failuresInRow: 0, lastFailureAt: null, ...o });

test('a backlog with no agents: allocations for the work beyond what one can do, up to --max-jobs', () => {
  // 100 tasks × 10 s = 1000 slot-s; one allocation: 4 slots × 540 s = 2160 slot-s → 1.
  assert.equal(decide(spec(), facts(), { jobs: [job()], agents: [] }, 0).submit, 1);
  // 1000 tasks × 10 s = 10,000 slot-s → 5 wanted, 4 allowed.
  const d = decide(spec(), facts(), { jobs: [job({ queued: 1000 })], agents: [] }, 0);
  assert.equal(d.submit, 4);
  assert.match(d.reason, /submitting 4/);
  // Three live: one more at most.
  assert.equal(decide(spec(), facts({ live: 3 }), { jobs: [job({ queued: 1000 })], agents: [] }, 0).submit, 1);
  assert.match(decide(spec(), facts({ live: 4 }), { jobs: [job({ queued: 1000 })], agents: [] }, 0).reason, /--max-jobs 4/);
});

test('allocations not started count as capacity: a second decision does not submit again', () => {
  const w = { jobs: [job({ queued: 300 })], agents: [] };
  const first = decide(spec(), facts(), w, 0);
  assert.equal(first.submit, 2);
  const again = decide(spec(), facts({ live: 2, waiting: 2 }), w, 1000);
  assert.equal(again.submit, 0);
  assert.match(again.reason, /2 allocation\(s\) not started/);
});

test('tasks that fit on idle agents: no allocation, however long they take', () => {
  const d = decide(spec(), facts(), { jobs: [job({ queued: 3, taskSeconds: 500 })], agents: [agent({ busy: 0 })] }, 0);
  assert.equal(d.submit, 0);
  assert.match(d.reason, /fit on 4 idle slot/);
  // Busy agents that will be free soon enough: none either.
  assert.equal(decide(spec(), facts(), { jobs: [job({ queued: 50, taskSeconds: 10 })], agents: [agent()] }, 0).submit, 0);
  // Busy agents whose walltime ends in 30 s: they cannot do 500 slot-seconds.
  assert.equal(decide(spec(), facts(), { jobs: [job({ queued: 50, taskSeconds: 10 })], agents: [agent({ endsAt: 90_000 })] }, 0).submit, 1);
});

test('tasks no allocation could run: reported with why, nothing submitted', () => {
  const cases: Array<[Partial<JobDemand>, Partial<AllocQueueSpec>, RegExp]> = [
    [{ timeoutS: 541 }, {}, /may run 541 s \(--timeout\).*540 s/],
    [{ taskSeconds: 900 }, {}, /expected to run 900 s/],
    [{ gpus: 1 }, {}, /need 1 GPUs.*0 \(--gpus-per-node\)/],
    [{ gpus: 4 }, { gpusPerNode: 2 }, /need 4 GPUs.*2 \(--gpus-per-node\)/],
    [{ threads: 8 }, {}, /8 slots each/],
    [{ memory: 8 * 2 ** 30 }, { memPerNode: 4 * 2 ** 30 }, /8\.0 GiB each.*4\.0 GiB/],
    [{ needsCommand: true }, {}, /--allow-command/],
  ];
  for (const [j, s, why] of cases) {
    const d = decide(spec(s), facts(), { jobs: [job(j)], agents: [] }, 0);
    assert.equal(d.submit, 0, JSON.stringify(j));
    assert.match(d.unservable.get('J') ?? '', why);
  }
  // The walltime edge: a --timeout of exactly the usable time fits.
  assert.equal(decide(spec(), facts(), { jobs: [job({ timeoutS: 540 })], agents: [] }, 0).submit, 1);
  assert.equal(decide(spec({ agentArgs: ['--allow-command'] }), facts(), { jobs: [job({ needsCommand: true })], agents: [] }, 0).submit, 1);
  // One servable job beside an unservable one: allocations for the servable one only.
  const mixed = decide(spec(), facts(), { jobs: [job({ job: 'big', timeoutS: 9999, queued: 10_000 }), job({ queued: 10 })], agents: [] }, 0);
  assert.equal(mixed.submit, 1);
  assert.deepEqual([...mixed.unservable.keys()], ['big']);
});

test('the queue empties: no submission, and allocations not started are cancelled', () => {
  const d = decide(spec(), facts({ live: 2, waiting: 1 }), { jobs: [job({ queued: 0, running: 5 })], agents: [agent()] }, 0);
  assert.equal(d.submit, 0);
  assert.equal(d.cancelWaiting, true);
  assert.equal(decide(spec(), facts({ live: 1 }), { jobs: [], agents: [] }, 0).cancelWaiting, false);
  // Only unservable work left: the same.
  assert.equal(decide(spec(), facts({ live: 1, waiting: 1 }), { jobs: [job({ timeoutS: 9999 })], agents: [] }, 0).cancelWaiting, true);
});

test('unknown task lengths count a slot for a whole allocation each', () => {
  assert.equal(decide(spec(), facts(), { jobs: [job({ queued: 9, taskSeconds: null })], agents: [] }, 0).submit, 3);
  assert.equal(decide(spec(), facts(), { jobs: [job({ queued: 9, taskSeconds: null })], agents: [agent({ busy: 0 })] }, 0).submit, 2);
  // Slots per node unknown (no --cpus-per-node, no agent yet): one slot each, bounded by --max-jobs.
  assert.equal(decide(spec({ cpusPerNode: undefined }), facts({ slotsPerNode: null }), { jobs: [job({ queued: 9, taskSeconds: null })], agents: [] }, 0).submit, 4);
});

test('--max-workers-total bounds nodes, counting the agents the queue brought', () => {
  const s = spec({ nodes: 2, maxWorkersTotal: 5 });
  assert.equal(decide(s, facts(), { jobs: [job({ queued: 10_000 })], agents: [] }, 0).submit, 2);
  const mine = [agent({ agent: 'x', slurmJob: '7' }), agent({ agent: 'y', slurmJob: '7' })];
  const d = decide(s, facts({ live: 1, slurmJobs: new Set(['7']) }), { jobs: [job({ queued: 10_000 })], agents: mine }, 0);
  assert.equal(d.submit, 1);
  assert.match(decide(s, facts({ live: 2, waiting: 1, slurmJobs: new Set(['7']) }), { jobs: [job({ queued: 10_000 })], agents: mine }, 0).reason, /--max-workers-total 5/);
});

test('after failures: one at a time, after a back-off that doubles; paused: nothing', () => {
  const w = { jobs: [job({ queued: 10_000 })], agents: [] };
  assert.equal(decide(spec(), facts({ failuresInRow: 1, lastFailureAt: 0 }), w, 5_000).submit, 0);
  assert.equal(decide(spec(), facts({ failuresInRow: 1, lastFailureAt: 0 }), w, 10_000).submit, 1);
  assert.equal(decide(spec(), facts({ failuresInRow: 2, lastFailureAt: 0 }), w, 10_000).submit, 0);
  assert.equal(decide(spec(), facts({ failuresInRow: 1, lastFailureAt: 0, live: 1, waiting: 1 }), w, 60_000).submit, 0);
  assert.deepEqual([1, 2, 3, 10].map(backoffMs), [10_000, 20_000, 40_000, 300_000]);
  const p = decide(spec(), facts({ paused: true }), w, 0);
  assert.equal(p.submit, 0);
  assert.equal(p.reason, 'paused');
});

test('until an allocation of the queue has started: one at a time, then up to the count', () => {
  const w = { jobs: [job({ queued: 1000 })], agents: [] };
  const first = decide(spec(), facts({ started: false }), w, 0);
  assert.equal(first.submit, 1);
  assert.match(first.reason, /at a time until one has started/);
  // That one submitted, pending or running without agents yet: nothing more, however large the backlog.
  for (const f of [{ live: 1, waiting: 1 }, { live: 1, waiting: 0 }]) {
    const d = decide(spec(), facts({ started: false, ...f }), w, 60_000);
    assert.equal(d.submit, 0);
    assert.match(d.reason, /at a time until one has started/);
  }
  // Its agents joined: the rest of the count at once.
  assert.equal(decide(spec(), facts({ started: true, live: 1, slurmJobs: new Set(['7']) }), { jobs: [job({ queued: 1000 })], agents: [agent({ slurmJob: '7' })] }, 60_000).submit, 3);
});
