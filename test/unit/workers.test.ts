/** How many workers an agent runs: asked for, usable CPUs, Slurm's allocation, and the flags. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveWorkers } from '../../src/cli/actors.js';
import { silentLogger } from '../../src/log.js';
import type { NodeProbe } from '../../agents/index.js';

const probe = (usable: number, cpusOnNode?: number): NodeProbe => ({
  host: 'h',
  cpus: { logical: 8, physical: 4, usable },
  memory: { total: 2 ** 34, available: 2 ** 34, cgroupLimit: null },
  slurm: cpusOnNode === undefined ? null : { jobId: '1', cpusOnNode },
});

test('default: the usable CPUs, but no more than Slurm allocated', () => {
  assert.equal(resolveWorkers(undefined, probe(4), false, silentLogger()), 4);
  assert.equal(resolveWorkers(undefined, probe(4, 2), false, silentLogger()), 2);
});

test('asking for more than usable: the usable count, a refusal with --strict-affinity, exactly that with --oversubscribe', () => {
  assert.equal(resolveWorkers(8, probe(2), false, silentLogger()), 2);
  assert.throws(() => resolveWorkers(8, probe(2), true, silentLogger()), (e: Error) => /8 workers/.test(e.message) && /only 2 CPUs/.test(e.message));
  assert.equal(resolveWorkers(8, probe(2), false, silentLogger(), true), 8);
  assert.throws(() => resolveWorkers(8, probe(2), true, silentLogger(), true), /strict-affinity/);
});

test('GPUs: one thread each even on fewer CPUs (a GPU task mostly waits on its GPU); --strict-affinity still counts CPUs', () => {
  assert.equal(resolveWorkers(undefined, probe(2), false, silentLogger(), false, 4), 4);
  assert.equal(resolveWorkers(undefined, probe(8), false, silentLogger(), false, 4), 8);
  assert.equal(resolveWorkers(4, probe(2), false, silentLogger(), false, 4), 4);
  assert.equal(resolveWorkers(3, probe(2), false, silentLogger(), false, 4), 3);
  assert.equal(resolveWorkers(8, probe(2), false, silentLogger(), false, 4), 4);
  assert.equal(resolveWorkers(4, probe(4, 2), false, silentLogger(), false, 4), 4);
  assert.throws(() => resolveWorkers(4, probe(2), true, silentLogger(), false, 4), /strict-affinity/);
});
