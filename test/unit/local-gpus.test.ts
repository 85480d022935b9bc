/**
 * The local agent of an embedded `shoal run` asks nvidia-smi for the node's GPUs only when its
 * job can hold some (a built-in kind given --gpus N, or a kind from --handlers): starting
 * nvidia-smi forks the whole process, which costs the main thread ~10 ms of every run.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { gpusAsked } from '../../src/kinds/index.js';
import { runShoal } from '../helpers/shoal.js';

const dir = mkdtempSync(join(tmpdir(), 'shoal-local-gpus-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** What the agent says once it has asked nvidia-smi: none found (debug), or the GPUs it found. */
const PROBED = /no GPUs: nvidia-smi did not list any|GPUs for tasks/;

test('GPUs a job asks per task: its params\' gpus field, 0 when absent or not a count', () => {
  assert.equal(gpusAsked({ gpus: 2, threads: 1 }), 2);
  assert.equal(gpusAsked({ gpus: 0 }), 0);
  assert.equal(gpusAsked({ tasks: 5 }), 0);
  assert.equal(gpusAsked(null), 0);
  assert.equal(gpusAsked({ gpus: '3' }), 0);
});

test('an embedded run of a job without GPUs does not ask nvidia-smi; one with --gpus 1 does', async () => {
  const spin = await runShoal(['run', 'spin', '--tasks', '1', '--out', join(dir, 'spin.jsonl'), '--log-level', 'debug'], { cwd: dir });
  assert.equal(spin.code, 0, spin.describe());
  assert.doesNotMatch(spin.stderr, PROBED, spin.describe());

  writeFileSync(join(dir, 'args.txt'), 'a\n');
  // On a node without GPUs the task fails as unschedulable (exit 1); with one it runs (exit 0).
  const gpu = await runShoal(['run', 'command', '--gpus', '1', '--args', 'args.txt', '--out', join(dir, 'gpu.jsonl'), '--log-level', 'debug', '--', 'true'], { cwd: dir });
  assert.ok(gpu.code === 0 || gpu.code === 1, gpu.describe());
  assert.match(gpu.stderr, PROBED, gpu.describe());
});
