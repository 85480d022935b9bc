import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InputError } from '../../src/errors.js';
import { indexXyzFrames, readXyzElements, XyzReader } from '../../src/io/xyz.js';
import { fixture } from '../helpers/paths.js';

const F = (name: string): string => fixture('frames', name);
const expected = JSON.parse(readFileSync(F('expected.json'), 'utf8')) as { n_atoms: number; elements: string[] };
const N = expected.n_atoms;
const tmp = (): string => mkdtempSync(join(tmpdir(), 'shoal-xyz-'));

function inputError(fn: () => unknown, ...parts: string[]): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof InputError, `expected InputError, got ${String(err)}`);
    for (const p of parts) assert.ok(err.message.includes(p), `'${err.message}' should name ${p}`);
    return true;
  });
}

test('index and elements of the fixture', () => {
  const index = indexXyzFrames(F('traj.xyz'));
  assert.equal(index.nFrames, 12);
  assert.equal(index.nAtoms, N);
  const els = readXyzElements(F('traj.xyz'), N, index.ranges[0]!, index.ranges[1]!);
  assert.deepEqual(els.elements, expected.elements);
  const r = XyzReader.open(F('traj.xyz'), N, [{ base: 0, ranges: index.ranges }]);
  const a = new Float64Array(3 * N);
  r.readFrame(11, a);
  const b = new Float64Array(3 * N);
  r.readFrame(10, b);
  assert.notDeepEqual(a, b);
  r.close();
});

test('empty XYZ is refused naming the file', () => {
  inputError(() => indexXyzFrames(F('empty.xyz')), 'empty.xyz', 'no frames');
  const path = join(tmp(), 'blank.xyz');
  writeFileSync(path, '\n  \n');
  inputError(() => indexXyzFrames(path), 'blank.xyz', 'no frames');
});

test('non-numeric coordinate fails its frame only, naming file, frame and atom', () => {
  const index = indexXyzFrames(F('badcoord.xyz'));
  assert.equal(index.nFrames, 12);
  const r = XyzReader.open(F('badcoord.xyz'), N, [{ base: 0, ranges: index.ranges }]);
  const xyz = new Float64Array(3 * N);
  for (let f = 0; f < 12; f++) {
    if (f === 3) inputError(() => r.readFrame(f, xyz), 'badcoord.xyz frame 3', 'atom 11', '1.2.3');
    else r.readFrame(f, xyz);
  }
  r.close();
});

test('truncated last frame and an unreadable count line fail their frames only', () => {
  const text = readFileSync(F('traj.xyz'), 'latin1');
  const lines = text.split('\n');
  const dir = tmp();
  // Cut in the middle of frame 5's atoms.
  const cut = join(dir, 'cut.xyz');
  writeFileSync(cut, lines.slice(0, 5 * (N + 2) + 40).join('\n') + '\n');
  let index = indexXyzFrames(cut);
  assert.equal(index.nFrames, 6);
  let r = XyzReader.open(cut, N, [{ base: 0, ranges: index.ranges }]);
  const xyz = new Float64Array(3 * N);
  for (let f = 0; f < 5; f++) r.readFrame(f, xyz);
  inputError(() => r.readFrame(5, xyz), 'cut.xyz frame 5', 'truncated');
  r.close();
  // Frame 4's count line replaced by garbage: frames 0-3 read, frame 4 reports it.
  const garbled = [...lines];
  garbled[4 * (N + 2)] = 'many';
  const bad = join(dir, 'garbled.xyz');
  writeFileSync(bad, garbled.join('\n'));
  index = indexXyzFrames(bad);
  assert.equal(index.nFrames, 5);
  r = XyzReader.open(bad, N, [{ base: 0, ranges: index.ranges }]);
  for (let f = 0; f < 4; f++) r.readFrame(f, xyz);
  inputError(() => r.readFrame(4, xyz), 'garbled.xyz frame 4', "'many'");
  r.close();
});

test('atomic numbers as element tokens, CRLF line ends, extra columns', () => {
  const path = join(tmp(), 'num.xyz');
  writeFileSync(path, '2\r\ncomment\r\n8 0.0 0.0 0.0 extra\r\n1 0.96 0 0\r\n2\r\n\r\nO 1 0 0\r\nH 2 0 0\r\n');
  const index = indexXyzFrames(path);
  assert.equal(index.nFrames, 2);
  assert.deepEqual(readXyzElements(path, 2, index.ranges[0]!, index.ranges[1]!).elements, ['O', 'H']);
  const r = XyzReader.open(path, 2, [{ base: 0, ranges: index.ranges }]);
  const xyz = new Float64Array(6);
  r.readFrame(1, xyz);
  assert.deepEqual([...xyz], [1, 0, 0, 2, 0, 0]);
  r.readFrame(0, xyz);
  assert.deepEqual([...xyz], [0, 0, 0, 0.96, 0, 0]);
  r.close();
});

test('a file larger than the scan chunk is indexed across chunk boundaries', () => {
  const atoms = 1500;
  const frames = 70; // about 6 MB, more than one 4 MB read
  const parts: string[] = [];
  for (let f = 0; f < frames; f++) {
    parts.push(`${atoms}\nframe ${f}\n`);
    for (let i = 0; i < atoms; i++) parts.push(`C ${(f + i / 1000).toFixed(5)} ${(-i).toFixed(5)} 1.25000 0.0 0.0 0.0 0.0\n`);
  }
  const path = join(tmp(), 'big.xyz');
  writeFileSync(path, parts.join(''));
  const index = indexXyzFrames(path);
  assert.equal(index.nFrames, frames);
  const r = XyzReader.open(path, atoms, [{ base: 0, ranges: index.ranges }]);
  const xyz = new Float64Array(3 * atoms);
  for (const f of [0, 33, 34, 35, frames - 1]) {
    r.readFrame(f, xyz);
    assert.equal(xyz[0], f);
    assert.equal(xyz[3 * (atoms - 1) + 1], -(atoms - 1));
  }
  r.close();
});
