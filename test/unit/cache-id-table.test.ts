/** The cache's id table: ids found where they were set across growth, misses for others, the `keep` rule on a second copy. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { IdTable } from '../../coordinator/cache/id-table.js';

/** `n` sha256 ids laid out as records of `stride` words after `base` words, as a pack's index holds them. */
function list(n: number, salt: string, base = 3, stride = 11): { buf: Buffer; words: Uint32Array; base: number; stride: number } {
  const buf = Buffer.alloc((base + n * stride) * 4);
  for (let i = 0; i < n; i++) createHash('sha256').update(`${salt}${i}`).digest().copy(buf, (base + i * stride) * 4);
  return { buf, words: new Uint32Array(buf.buffer, buf.byteOffset, buf.length / 4), base, stride };
}

const idOf = (l: ReturnType<typeof list>, i: number): Buffer => l.buf.subarray((l.base + i * l.stride) * 4, (l.base + i * l.stride) * 4 + 32);

describe('cache id table', () => {
  it('finds every id of two lists through growth; ids not set are not found', () => {
    const t = new IdTable();
    const a = list(3000, 'a');
    const b = list(2000, 'b', 0, 8);
    t.list(0, a);
    t.list(1, b);
    for (let i = 0; i < 3000; i++) t.set(0, i);
    for (let i = 0; i < 2000; i++) t.set(1, i);
    assert.equal(t.size, 5000);
    for (let i = 0; i < 3000; i += 7) {
      const s = t.find(idOf(a, i));
      assert.deepEqual([t.packAt(s), t.recAt(s)], [0, i]);
    }
    for (let i = 0; i < 2000; i += 7) {
      const s = t.find(Buffer.concat([Buffer.from([9]), idOf(b, i)]), 1);
      assert.deepEqual([t.packAt(s), t.recAt(s)], [1, i], 'an id at an odd offset');
    }
    assert.equal(t.find(createHash('sha256').update('c1').digest()), -1);
  });

  it('a second copy of an id replaces the first unless `keep` says so', () => {
    const t = new IdTable(10);
    const a = list(5, 'same');
    const b = list(5, 'same');
    t.list(0, a);
    t.list(1, b);
    for (let i = 0; i < 5; i++) t.set(0, i);
    t.set(1, 0, () => true);
    t.set(1, 1, () => false);
    t.set(1, 2);
    assert.equal(t.size, 5);
    assert.equal(t.packAt(t.find(idOf(a, 0))), 0);
    assert.equal(t.packAt(t.find(idOf(a, 1))), 1);
    assert.equal(t.packAt(t.find(idOf(a, 2))), 1);
    t.reserve(100_000);
    assert.equal(t.packAt(t.find(idOf(a, 2))), 1, 'found after reserve rehashed');
  });
});
