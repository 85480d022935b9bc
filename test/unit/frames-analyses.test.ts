// rg, rg_mass, cog, com and superposed RMSD against MDAnalysis 2.4.2 (values in
// test/fixtures/frames/expected.json, made by make_fixtures.py beside it), for every frame of
// every format: DCD in five variants, multi-model PDB, multi-frame XYZ.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { framesKind, type FrameValue } from '../../src/kinds/frames/index.js';
import { prepareReference, superposedRmsd } from '../../src/kinds/frames/superpose.js';
import type { RecordOutput } from '../../src/kinds/types.js';
import { fixture } from '../helpers/paths.js';

const F = (name: string): string => fixture('frames', name);
const TOL = 1e-4;

interface Expected {
  frame: number;
  rg: number;
  rg_mass: number;
  cog: number[];
  com: number[];
  rmsd: number;
  rmsd_heavy: number;
  rmsd_ref3: number;
  rmsd_heavy_ref3: number;
}
const expected = JSON.parse(readFileSync(F('expected.json'), 'utf8')) as {
  n_frames: number;
  formats: Record<'dcd' | 'pdb' | 'xyz', Expected[]>;
};

/** Expands and runs a whole job; records sorted by frame. */
async function frames(opts: Record<string, unknown>): Promise<RecordOutput[]> {
  const params = framesKind.params(opts);
  const tasks = await framesKind.expand(params, { slots: 2, job: 't', info: () => {} });
  const out: RecordOutput[] = [];
  for (const t of tasks) {
    const r = await framesKind.run(t.ref, params, { signal: new AbortController().signal, threads: 1, attempt: 1, job: 't', task: t.id });
    assert.ok('records' in r);
    out.push(...r.records);
  }
  return out.sort((a, b) => a.index - b.index);
}

function close(got: number | undefined, want: number, what: string): void {
  assert.ok(got !== undefined && Math.abs(got - want) <= TOL, `${what}: ${got} vs MDAnalysis ${want}`);
}

const TRAJECTORIES: [string, string | undefined, 'dcd' | 'pdb' | 'xyz'][] = [
  ['traj.dcd', 'top.pdb', 'dcd'],
  ['traj-be.dcd', 'top.pdb', 'dcd'],
  ['traj-nocell.dcd', 'top.pdb', 'dcd'],
  ['traj-namd.dcd', 'top.pdb', 'dcd'],
  ['traj-xplor-be.dcd', 'top.pdb', 'dcd'],
  ['traj.pdb', undefined, 'pdb'],
  ['traj.pdb', 'top.pdb', 'pdb'],
  ['traj.xyz', undefined, 'xyz'],
  ['traj.xyz', 'top.pdb', 'xyz'],
];

for (const [traj, top, format] of TRAJECTORIES) {
  test(`${traj}${top ? ` with ${top}` : ''}: every frame within 1e-4 Å of MDAnalysis`, async () => {
    const base = { traj: F(traj), top: top && F(top), chunk: '5' };
    const all = await frames({ ...base, analyses: 'rg,rg_mass,cog,com,rmsd' });
    const heavy3 = await frames({ ...base, analyses: 'rmsd', refFrame: '3', select: 'heavy' });
    const all3 = await frames({ ...base, analyses: 'rmsd', refFrame: '3' });
    const heavy0 = await frames({ ...base, analyses: 'rmsd', select: 'heavy' });
    assert.equal(all.length, expected.n_frames);
    for (let f = 0; f < expected.n_frames; f++) {
      const e = expected.formats[format][f]!;
      const v = all[f]!.value as FrameValue;
      assert.equal(all[f]!.index, f);
      assert.deepEqual(Object.keys(v), ['rg', 'rg_mass', 'cog', 'com', 'rmsd'], 'analyses in the order asked');
      close(v.rg, e.rg, `frame ${f} rg`);
      close(v.rg_mass, e.rg_mass, `frame ${f} rg_mass`);
      for (let k = 0; k < 3; k++) {
        close(v.cog![k], e.cog[k]!, `frame ${f} cog[${k}]`);
        close(v.com![k], e.com[k]!, `frame ${f} com[${k}]`);
      }
      close(v.rmsd, e.rmsd, `frame ${f} rmsd`);
      close((heavy0[f]!.value as FrameValue).rmsd, e.rmsd_heavy, `frame ${f} heavy rmsd`);
      close((all3[f]!.value as FrameValue).rmsd, e.rmsd_ref3, `frame ${f} rmsd to frame 3`);
      close((heavy3[f]!.value as FrameValue).rmsd, e.rmsd_heavy_ref3, `frame ${f} heavy rmsd to frame 3`);
    }
    // The fixture moves: RMSD is not trivially zero and rg changes.
    assert.ok(expected.formats[format].some((e) => e.rmsd > 1));
  });
}

/** A small chiral body (no symmetry plane), so a mirror image cannot be superposed. */
const BODY = new Float64Array([0, 0, 0, 1.5, 0, 0, 0, 2, 0, 0, 0, 2.5, 1, 1, 1, -1, 0.5, 2]);
const ALL = Int32Array.from([0, 1, 2, 3, 4, 5]);

function transform(xyz: Float64Array, rot: number[][], shift: number[]): Float64Array {
  const out = new Float64Array(xyz.length);
  for (let i = 0; i < xyz.length; i += 3) {
    for (let r = 0; r < 3; r++) out[i + r] = rot[r]![0]! * xyz[i]! + rot[r]![1]! * xyz[i + 1]! + rot[r]![2]! * xyz[i + 2]! + shift[r]!;
  }
  return out;
}

test('superposition: a rotated and translated copy has RMSD 0', () => {
  const [c, s] = [Math.cos(1.1), Math.sin(1.1)];
  const rot = [[c, -s, 0], [s, c, 0], [0, 0, 1]];
  const ref = prepareReference(BODY, ALL);
  const moved = transform(BODY, rot, [5, -3, 12]);
  assert.ok(superposedRmsd(ref, moved) < 1e-6);
  assert.ok(superposedRmsd(ref, BODY) < 1e-6);
});

test('superposition never reflects: a mirror image keeps a positive RMSD', () => {
  const ref = prepareReference(BODY, ALL);
  const mirror = transform(BODY, [[1, 0, 0], [0, 1, 0], [0, 0, -1]], [0, 0, 0]);
  assert.ok(superposedRmsd(ref, mirror) > 0.1);
});

test('superposition on a subset uses only those atoms', () => {
  const ref = prepareReference(BODY, Int32Array.from([0, 1, 2]));
  const changed = Float64Array.from(BODY);
  changed[15] = 40; // atom 5 moves far; atoms 0-2 do not
  assert.ok(superposedRmsd(ref, changed) < 1e-6);
  assert.ok(superposedRmsd(prepareReference(BODY, ALL), changed) > 1);
});
