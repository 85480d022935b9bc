import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_AUTO_CHUNK, planChunk, planThreads, type JobShape } from '../../src/kinds/frames/plan.js';
import { ZENO_BLOCK } from '../../src/kinds/frames/zeno.js';

const shape = (o: Partial<JobShape>): JobShape => ({ frames: 100, atoms: 1000, zeno: true, walks: 100_000, slots: 8, ...o });

test('threads auto: many cheap frames get one thread each', () => {
  assert.equal(planThreads(shape({ frames: 10_000 }), 'auto').value, 1);
  assert.equal(planThreads(shape({ frames: 16 }), 'auto').value, 1);
});

test('threads auto: fewer frames than slots keep every slot busy on them', () => {
  assert.equal(planThreads(shape({ frames: 1, walks: 64 * ZENO_BLOCK }), 'auto').value, 8);
  // Two frames on four slots: both at once with two threads each beats one after the other with four.
  assert.equal(planThreads(shape({ frames: 2, walks: 64 * ZENO_BLOCK, slots: 4 }), 'auto').value, 2);
  assert.equal(planThreads(shape({ frames: 3, walks: 64 * ZENO_BLOCK, slots: 12 }), 'auto').value, 4);
});

test('threads auto: in between, a mix', () => {
  const t = planThreads(shape({ frames: 10, walks: 64 * ZENO_BLOCK }), 'auto').value;
  assert.ok(t > 1 && t < 8, `got ${t}`);
});

test('threads auto: unknown slots count as 2; a single block or no zeno means one thread', () => {
  const p = planThreads(shape({ frames: 1, slots: 0 }), 'auto');
  assert.equal(p.value, 2);
  assert.match(p.reason, /assuming 2/);
  assert.equal(planThreads(shape({ frames: 1, walks: ZENO_BLOCK }), 'auto').value, 1);
  assert.equal(planThreads(shape({ frames: 1, zeno: false }), 'auto').value, 1);
  assert.equal(planThreads(shape({ frames: 1, zeno: false }), 4).value, 1);
  assert.equal(planThreads(shape({ frames: 1 }), 3).value, 3);
});

test('chunk auto: a few tasks per concurrent slot, within bounds', () => {
  assert.equal(planChunk(shape({ frames: 3200, zeno: false }), 1, 'auto').value, 100); // 3200 / (4 × 8)
  assert.equal(planChunk(shape({ frames: 3200, zeno: false, slots: 0 }), 1, 'auto').value, 400); // assumes 2 slots
  assert.equal(planChunk(shape({ frames: 10, zeno: false, atoms: 100_000 }), 1, 'auto').value, 1);
  assert.equal(planChunk(shape({ frames: 10, zeno: false, atoms: 100 }), 1, 'auto').value, 10); // at least 50k atom-frames
  assert.equal(planChunk(shape({ frames: 10_000_000, zeno: false }), 1, 'auto').value, MAX_AUTO_CHUNK);
  assert.equal(planChunk(shape({ frames: 100_000, walks: 100_000 }), 1, 'auto').value, 20); // at most 2e6 walks per task
  assert.equal(planChunk(shape({ frames: 3, walks: 100_000 }), 8, 'auto').value, 1);
  assert.equal(planChunk(shape({ frames: 3 }), 1, 7).value, 3);
  assert.equal(planChunk(shape({ frames: 300 }), 1, 7).value, 7);
});
