/** The encoded-size bound the scheduler counts against a dispatch's bytes is never below the real encoding, and not far above it for tasks' refs. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encode, encodedSizeBound } from '../../protocol/index.js';
import { rng } from '../helpers/sched.js';

const refs: unknown[] = [
  { ms: 0, i: 0 },
  { ms: 12.345, i: 4_000_000_000 },
  { input: 'CCO', line: 7 },
  { file: '/data/ligands/set-01.sdf', ranges: [[0, 1200], [1200, 2400]], mol: 'mol_00017', heavy: 31 },
  { argv: ['python3', '-c', 'print("héllo wörld ✓")'], cwd: '/tmp', threads: 2, memory: 2 ** 31 },
  { nested: { a: [1, 2.5, -3, null, true, false], b: { c: 'x'.repeat(300) } } },
  { bytes: new Uint8Array(100), when: new Date(0), m: new Map([['k', 1]]), s: new Set([1, 2]) },
  [],
  'just a string',
  null,
];

test('the bound is at or above the encoded size of every kind of ref, and within 3× for small ones', () => {
  for (const ref of refs) {
    const msg = { id: 'task_000123', ref };
    const real = encode(msg).byteLength;
    const bound = encodedSizeBound(msg);
    assert.ok(bound >= real, `${JSON.stringify(msg)}: bound ${bound} < encoded ${real}`);
    assert.ok(bound <= 3 * real + 40, `${JSON.stringify(msg)}: bound ${bound} far above encoded ${real}`);
  }
});

test('random plain data: the bound never falls below the encoding', () => {
  const r = rng(11);
  const value = (depth: number): unknown => {
    const k = Math.floor(r() * (depth > 3 ? 4 : 7));
    if (k === 0) return r() < 0.5 ? Math.floor(r() * 2 ** (r() * 40)) : r() * 1e6 - 5e5;
    if (k === 1) return String.fromCodePoint(...Array.from({ length: Math.floor(r() * 40) }, () => 32 + Math.floor(r() * (r() < 0.9 ? 90 : 60000))));
    if (k === 2) return r() < 0.5;
    if (k === 3) return null;
    if (k === 4) return Array.from({ length: Math.floor(r() * 6) }, () => value(depth + 1));
    return Object.fromEntries(Array.from({ length: Math.floor(r() * 6) }, (_, i) => [`k${i}${'é'.repeat(Math.floor(r() * 3))}`, value(depth + 1)]));
  };
  for (let n = 0; n < 2000; n++) {
    const msg = { id: `t${n}`, ref: value(0) };
    assert.ok(encodedSizeBound(msg) >= encode(msg).byteLength, JSON.stringify(msg));
  }
});
