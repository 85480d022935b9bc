import assert from 'node:assert/strict';
import { test } from 'node:test';
import { shouldCollect } from '../../coordinator/memory-giver.js';

const o = { growth: 1.15, minBytes: 8 << 20, delayMs: 6000, maxTries: 3, restMs: 60_000 };
const MB = 1 << 20;

test('collects only while the process holds clearly more than at its start', () => {
  assert.equal(shouldCollect(100 * MB, 64 * MB, 0, null, o), true);
  assert.equal(shouldCollect(70 * MB, 64 * MB, 0, null, o), false, 'under 15% over the start');
  assert.equal(shouldCollect(16 * MB, 10 * MB, 0, null, o), false, '60% over the start but under 8 MB over it');
});

test('stops after its tries, or once a collection gave back under 1%', () => {
  assert.equal(shouldCollect(100 * MB, 64 * MB, 3, null, o), false);
  assert.equal(shouldCollect(100 * MB, 64 * MB, 1, 0.2, o), true);
  assert.equal(shouldCollect(100 * MB, 64 * MB, 1, 0.005, o), false);
});
