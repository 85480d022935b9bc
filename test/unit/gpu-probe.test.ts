/**
 * Finding GPUs without a GPU: nvidia-smi's output as fixtures, narrowed by CUDA_VISIBLE_DEVICES
 * (indices or UUIDs) and Slurm's GPU lists, and `--gpus LIST`.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { narrowGpus, parseGpuList, parseNvidiaSmi, pickDevices } from '../../agents/gpu-probe.js';

const MIB = 2 ** 20;
/** Four GPUs as `nvidia-smi --query-gpu=index,uuid,memory.total --format=csv,noheader,nounits` prints them. */
const FOUR = [
  '0, GPU-0a1b2c3d-0000-1111-2222-333344445555, 81559',
  '1, GPU-1a1b2c3d-0000-1111-2222-333344445555, 81559',
  '2, GPU-2a1b2c3d-0000-1111-2222-333344445555, 81559',
  '3, GPU-3a1b2c3d-0000-1111-2222-333344445555, 81559',
  '',
].join('\n');

const indices = (gpus: ReadonlyArray<{ index: number }>): number[] => gpus.map((g) => g.index);

test('nvidia-smi output: index, UUID and memory in bytes per line', () => {
  const gpus = parseNvidiaSmi(FOUR);
  assert.deepEqual(indices(gpus), [0, 1, 2, 3]);
  assert.deepEqual(gpus[2], { index: 2, uuid: 'GPU-2a1b2c3d-0000-1111-2222-333344445555', memory: 81559 * MIB });
});

test('nvidia-smi output: unknown fields left out, lines that are not a GPU skipped', () => {
  const gpus = parseNvidiaSmi('0, [N/A], [N/A]\r\nNo devices were found\n1, MIG-abc, 40000\n');
  assert.deepEqual(gpus, [{ index: 0 }, { index: 1, uuid: 'MIG-abc', memory: 40000 * MIB }]);
  assert.deepEqual(parseNvidiaSmi(''), []);
});

test('CUDA_VISIBLE_DEVICES narrows by index or UUID (prefix), in its order, ending at the first unknown entry', () => {
  const all = parseNvidiaSmi(FOUR);
  assert.deepEqual(indices(narrowGpus(all, { CUDA_VISIBLE_DEVICES: '2,3' }).gpus), [2, 3]);
  assert.deepEqual(indices(narrowGpus(all, { CUDA_VISIBLE_DEVICES: 'GPU-3a1b2c3d-0000-1111-2222-333344445555,GPU-1a1b' }).gpus), [3, 1]);
  assert.deepEqual(indices(pickDevices(all, '0,7,1')), [0]);
  // An ambiguous UUID prefix names no GPU.
  assert.deepEqual(indices(pickDevices(all, 'GPU-')), []);
  // Set but empty (or Slurm's NoDevFiles): no GPU at all.
  assert.deepEqual(narrowGpus(all, { CUDA_VISIBLE_DEVICES: '' }).gpus, []);
  assert.deepEqual(narrowGpus(all, { CUDA_VISIBLE_DEVICES: 'NoDevFiles' }).gpus, []);
  assert.equal(narrowGpus(all, { CUDA_VISIBLE_DEVICES: '1' }).by, 'CUDA_VISIBLE_DEVICES');
});

test("Slurm's GPU lists narrow when CUDA_VISIBLE_DEVICES is not set, the step's before the job's", () => {
  const all = parseNvidiaSmi(FOUR);
  assert.deepEqual(narrowGpus(all, { SLURM_JOB_GPUS: '1,2' }), { gpus: all.slice(1, 3), by: 'SLURM_JOB_GPUS' });
  assert.deepEqual(narrowGpus(all, { SLURM_JOB_GPUS: '1,2', SLURM_STEP_GPUS: '2' }), { gpus: [all[2]!], by: 'SLURM_STEP_GPUS' });
  assert.deepEqual(indices(narrowGpus(all, { SLURM_JOB_GPUS: '1,2', CUDA_VISIBLE_DEVICES: '0' }).gpus), [0]);
  assert.deepEqual(narrowGpus(all, {}), { gpus: all, by: null });
});

test('--gpus LIST: indices or none; anything else is a usage error naming the option', () => {
  assert.deepEqual(parseGpuList('0,1, 2,3'), [{ index: 0 }, { index: 1 }, { index: 2 }, { index: 3 }]);
  assert.deepEqual(parseGpuList('none'), []);
  for (const bad of ['', 'a', '0,,1', '-1', '1.5', 'GPU-abc']) assert.throws(() => parseGpuList(bad), /--gpus/, bad);
  assert.throws(() => parseGpuList('1,1'), /GPU 1 is named twice/);
});
