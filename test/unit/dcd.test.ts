import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkDcdFrames, DcdReader } from '../../src/io/dcd.js';
import { InputError } from '../../src/errors.js';
import { cutDcd, dcdLayout, withNset } from '../helpers/dcd.js';
import { fixture } from '../helpers/paths.js';

const F = (name: string): string => fixture('frames', name);
const N_ATOMS = 108;
const N_FRAMES = 12;

function allFrames(path: string): Float64Array[] {
  const r = DcdReader.open(path);
  try {
    return Array.from({ length: r.nFrames }, (_, f) => {
      const xyz = new Float64Array(3 * r.nAtoms);
      r.readFrame(f, xyz);
      return xyz;
    });
  } finally {
    r.close();
  }
}

function inputError(fn: () => unknown, ...parts: string[]): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof InputError, `expected InputError, got ${String(err)}`);
    assert.equal(err.code, 'E_INPUT');
    for (const p of parts) assert.ok(err.message.includes(p), `'${err.message}' should name ${p}`);
    return true;
  });
}

test('headers of every variant', () => {
  const cases = [
    ['traj.dcd', 'little', true, true],
    ['traj-be.dcd', 'big', true, true],
    ['traj-nocell.dcd', 'little', true, false],
    ['traj-namd.dcd', 'little', true, true],
    ['traj-xplor-be.dcd', 'big', false, false],
  ] as const;
  for (const [name, endian, charmm, hasCell] of cases) {
    const r = DcdReader.open(F(name));
    try {
      const h = r.header;
      assert.equal(h.endian, endian, name);
      assert.equal(h.charmm, charmm, name);
      assert.equal(h.hasCell, hasCell, name);
      assert.equal(h.nAtoms, N_ATOMS, name);
      assert.equal(h.nFrames, N_FRAMES, name);
      assert.equal(h.framesInFile, N_FRAMES, name);
      assert.equal(h.frameBytes, (hasCell ? 56 : 0) + 3 * (8 + 4 * N_ATOMS), name);
      assert.equal(h.headerBytes + N_FRAMES * h.frameBytes, h.fileBytes, name);
    } finally {
      r.close();
    }
  }
  const x = DcdReader.open(F('traj-xplor-be.dcd'));
  assert.ok(Math.abs(x.header.delta - 0.02045) < 1e-12, 'X-PLOR DELTA is a float64');
  assert.ok(x.header.titles[0]!.startsWith('shoal frames fixture'));
  x.close();
});

test('all variants hold the same coordinates (both endiannesses, with and without cell)', () => {
  const reference = allFrames(F('traj.dcd'));
  assert.equal(reference.length, N_FRAMES);
  for (const name of ['traj-be.dcd', 'traj-nocell.dcd', 'traj-namd.dcd', 'traj-xplor-be.dcd']) {
    const frames = allFrames(F(name));
    assert.equal(frames.length, N_FRAMES);
    for (let f = 0; f < N_FRAMES; f++) assert.deepEqual(frames[f], reference[f], `${name} frame ${f}`);
  }
  // Frames differ from each other (the fixture moves), so a reader stuck on one frame fails.
  assert.notDeepEqual(reference[0], reference[1]);
});

test('random access: out of order reads give the same frames', () => {
  const sequential = allFrames(F('traj.dcd'));
  const r = DcdReader.open(F('traj.dcd'));
  const xyz = new Float64Array(3 * N_ATOMS);
  for (const f of [11, 0, 7, 3, 3, 10]) {
    r.readFrame(f, xyz);
    assert.deepEqual(xyz, sequential[f]);
  }
  inputError(() => r.readFrame(12, xyz), 'traj.dcd frame 12');
  r.close();
  r.close(); // idempotent
});

test('truncated DCD: complete frames read, the rest fail naming file and frame', () => {
  const r = DcdReader.open(F('truncated.dcd'));
  assert.equal(r.header.nFrames, N_FRAMES);
  assert.equal(r.header.framesInFile, 8);
  const good = allFrames(F('traj.dcd'));
  const xyz = new Float64Array(3 * N_ATOMS);
  for (let f = 0; f < 8; f++) {
    r.readFrame(f, xyz);
    assert.deepEqual(xyz, good[f]);
  }
  for (let f = 8; f < N_FRAMES; f++) inputError(() => r.readFrame(f, xyz), `truncated.dcd frame ${f}`, 'truncated');
  r.close();
});

test('checkDcdFrames: fewer frames than the header promises is refused with both counts; more is accepted', () => {
  const dir = mkdtempSync(join(tmpdir(), 'shoal-dcd-'));
  for (const name of ['traj.dcd', 'traj-be.dcd', 'traj-xplor-be.dcd']) {
    checkDcdFrames(dcdLayout(F(name)), F(name)); // intact: accepted
    // 5 complete frames and half of the 6th: the partial frame counts as missing.
    const cut = cutDcd(F(name), join(dir, `cut-${name}`), 5, 200);
    const h = dcdLayout(cut.path);
    assert.equal(h.nsetHeader, N_FRAMES);
    inputError(
      () => checkDcdFrames(h, cut.path),
      `cut-${name}: the header promises ${N_FRAMES} frames but the file holds 5 (${cut.bytes} bytes, ${cut.frameBytes} bytes per frame)`,
    );
    // Exactly at a frame boundary, one frame short.
    const short = cutDcd(F(name), join(dir, `short-${name}`), N_FRAMES - 1);
    inputError(() => checkDcdFrames(dcdLayout(short.path), short.path), `promises ${N_FRAMES} frames`, `holds ${N_FRAMES - 1} (`);
    // The header says fewer than the file holds (still being written), or 0: accepted.
    for (const nset of [N_FRAMES - 4, 0]) {
      const growing = withNset(F(name), join(dir, `nset${nset}-${name}`), nset);
      const g = dcdLayout(growing);
      assert.equal(g.nsetHeader, nset);
      checkDcdFrames(g, growing);
    }
  }
  // The committed truncated fixture (12 promised, 8 held).
  inputError(() => checkDcdFrames(dcdLayout(F('truncated.dcd')), F('truncated.dcd')), 'truncated.dcd', 'promises 12 frames', 'holds 8');
});

test('wrong magic is refused naming the file', () => {
  inputError(() => DcdReader.open(F('badmagic.dcd')), 'badmagic.dcd', 'not a DCD');
});

test('fixed atoms (NAMNF ≠ 0) are refused', () => {
  inputError(() => DcdReader.open(F('fixed.dcd')), 'fixed.dcd', 'fixed atoms');
});

test('8-byte record markers and missing files are refused clearly', () => {
  const dir = mkdtempSync(join(tmpdir(), 'shoal-dcd-'));
  const path = join(dir, 'wide.dcd');
  const buf = Buffer.alloc(200);
  buf.writeBigInt64LE(84n, 0);
  buf.write('CORD', 8, 'latin1');
  writeFileSync(path, buf);
  inputError(() => DcdReader.open(path), 'wide.dcd', '8-byte');
  inputError(() => DcdReader.open(join(dir, 'missing.dcd')), 'missing.dcd');
  const tiny = join(dir, 'tiny.dcd');
  writeFileSync(tiny, Buffer.alloc(10));
  inputError(() => DcdReader.open(tiny), 'tiny.dcd');
});

test('a corrupt record marker fails only its frame', () => {
  const dir = mkdtempSync(join(tmpdir(), 'shoal-dcd-'));
  const path = join(dir, 'corrupt.dcd');
  const bytes = Buffer.from(readFileSync(F('traj-nocell.dcd')));
  const r0 = DcdReader.open(F('traj-nocell.dcd'));
  const { headerBytes, frameBytes } = r0.header;
  r0.close();
  // Frame 3's Y record starts after its X record.
  bytes.writeInt32LE(999, headerBytes + 3 * frameBytes + (8 + 4 * N_ATOMS));
  writeFileSync(path, bytes);
  const r = DcdReader.open(path);
  const xyz = new Float64Array(3 * N_ATOMS);
  r.readFrame(2, xyz);
  r.readFrame(4, xyz);
  inputError(() => r.readFrame(3, xyz), 'corrupt.dcd frame 3', 'Y record');
  r.close();
});

test('a NaN coordinate fails its frame', () => {
  const dir = mkdtempSync(join(tmpdir(), 'shoal-dcd-'));
  const path = join(dir, 'nan.dcd');
  const bytes = Buffer.from(readFileSync(F('traj-nocell.dcd')));
  const r0 = DcdReader.open(F('traj-nocell.dcd'));
  const { headerBytes, frameBytes } = r0.header;
  r0.close();
  bytes.writeFloatLE(NaN, headerBytes + 5 * frameBytes + 4 + 4 * 9); // frame 5, x of atom 10
  writeFileSync(path, bytes);
  const r = DcdReader.open(path);
  inputError(() => r.readFrame(5, new Float64Array(3 * N_ATOMS)), 'nan.dcd frame 5', 'atom 10');
  r.close();
});
