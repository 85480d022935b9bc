import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { before, describe, it } from 'node:test';
import { indexSdf, readSdfMolecules, type SdfRecordInfo } from '../../src/io/sdf.js';
import { toHeavy, type HeavyMolecule } from '../../src/kinds/conformers/heavy.js';
import { bestRmsdRows, pairRmsd, prepareConformers, preparePairings, rmsdMatrix } from '../../src/kinds/conformers/rmsd-qcp.js';
import { selfMappings, type SymmetryMode } from '../../src/kinds/conformers/symmetry.js';
import { fixture } from '../helpers/paths.js';

interface Expected {
  molecules: Record<string, {
    heavy_atoms: number;
    mappings: { default: number; strict: number };
    rmsd: Record<SymmetryMode, number[][]>;
  }>;
}
const expected = JSON.parse(readFileSync(fixture('conformers', 'expected.json'), 'utf8')) as Expected;

/** Heavy-atom conformers per key of one fixture file. */
async function load(name: string): Promise<Map<string, HeavyMolecule[]>> {
  const file = fixture('conformers', name);
  const idx = await indexSdf(file);
  const mols = readSdfMolecules(file, idx.records.map((r: SdfRecordInfo) => [r.offset, r.length, r.line, r.record] as const), name);
  const out = new Map<string, HeavyMolecule[]>();
  for (const m of mols) {
    const h = toHeavy(m);
    out.set(h.title, [...(out.get(h.title) ?? []), h]);
  }
  return out;
}

function stack(confs: HeavyMolecule[]): Float64Array {
  const n = confs[0]!.n;
  const out = new Float64Array(confs.length * 3 * n);
  confs.forEach((c, k) => out.set(c.coords, k * 3 * n));
  return out;
}

/** A rotation matrix from a (not necessarily unit) quaternion. */
function rotation(a: number, b: number, c: number, d: number): number[] {
  const s = Math.hypot(a, b, c, d);
  [a, b, c, d] = [a / s, b / s, c / s, d / s];
  return [
    a * a + b * b - c * c - d * d, 2 * (b * c - a * d), 2 * (b * d + a * c),
    2 * (b * c + a * d), a * a - b * b + c * c - d * d, 2 * (c * d - a * b),
    2 * (b * d - a * c), 2 * (c * d + a * b), a * a - b * b - c * c + d * d,
  ];
}

function transform(xyz: Float64Array, r: number[], t: [number, number, number]): Float64Array {
  const out = new Float64Array(xyz.length);
  for (let k = 0; k < xyz.length; k += 3) {
    const [x, y, z] = [xyz[k]!, xyz[k + 1]!, xyz[k + 2]!];
    out[k] = r[0]! * x + r[1]! * y + r[2]! * z + t[0];
    out[k + 1] = r[3]! * x + r[4]! * y + r[5]! * z + t[1];
    out[k + 2] = r[6]! * x + r[7]! * y + r[8]! * z + t[2];
  }
  return out;
}

let refs: Map<string, HeavyMolecule[]>;
let gens: Map<string, HeavyMolecule[]>;
before(async () => {
  refs = await load('ref.sdf');
  gens = await load('gen.sdf');
});

describe('QCP RMSD', () => {
  it('is 0 for a conformer rotated and translated', () => {
    for (const [key, confs] of refs) {
      const xyz = confs[0]!.coords;
      const n = confs[0]!.n;
      const moved = transform(xyz, rotation(0.3, -1.2, 0.7, 2.1), [12.5, -3.25, 40]);
      const out = new Float64Array(1);
      rmsdMatrix(xyz, moved, n, out);
      assert.ok(out[0]! < 1e-6, `${key}: ${out[0]}`);
    }
  });

  it('does not superpose a mirror image (no reflection)', () => {
    const c = refs.get('methoxy_dmt')![1]!;
    const mirrored = c.coords.map((v, k) => (k % 3 === 2 ? -v : v));
    const out = new Float64Array(1);
    rmsdMatrix(c.coords, transform(mirrored, rotation(1, 2, 3, 4), [1, 2, 3]), c.n, out);
    assert.ok(out[0]! > 0.1, `mirror image RMSD ${out[0]}`);
  });

  it('matches RDKit AlignMol (atoms by index) within 1e-4 Å', () => {
    for (const [key, exp] of Object.entries(expected.molecules)) {
      const r = refs.get(key)!;
      const g = gens.get(key)!;
      assert.equal(r[0]!.n, exp.heavy_atoms, key);
      const out = new Float64Array(r.length * g.length);
      rmsdMatrix(stack(r), stack(g), exp.heavy_atoms, out);
      exp.rmsd.none.forEach((row, i) => row.forEach((v, j) => {
        assert.ok(Math.abs(out[i * g.length + j]! - v) < 1e-4, `${key}[${i}][${j}]: ${out[i * g.length + j]} vs RDKit ${v}`);
      }));
    }
  });

  it('is symmetric in its two arguments', () => {
    const r = prepareConformers(stack(refs.get('aspirin')!), 13);
    const g = prepareConformers(stack(gens.get('aspirin')!), 13);
    for (let i = 0; i < r.count; i++) {
      for (let j = 0; j < g.count; j++) assert.ok(Math.abs(pairRmsd(r, i, g, j) - pairRmsd(g, j, r, i)) < 1e-12);
    }
  });
});

describe('symmetry-corrected RMSD', () => {
  for (const mode of ['default', 'strict'] as const) {
    it(`counts as many mappings as RDKit GetBestRMS (${mode})`, () => {
      for (const [key, exp] of Object.entries(expected.molecules)) {
        const maps = selfMappings(refs.get(key)![0]!, mode, 1_000_000);
        assert.equal(maps.count, exp.mappings[mode], `${key} (${mode})`);
        assert.equal(maps.capped, false);
      }
    });

    it(`matches RDKit GetBestRMS (${mode}) within 1e-4 Å`, () => {
      for (const [key, exp] of Object.entries(expected.molecules)) {
        const r = refs.get(key)!;
        const g = gens.get(key)!;
        const maps = selfMappings(r[0]!, mode, 1_000_000);
        const out = new Float64Array(r.length * g.length);
        bestRmsdRows(prepareConformers(stack(r), r[0]!.n), prepareConformers(stack(g), r[0]!.n), preparePairings(maps), 0, r.length, out);
        exp.rmsd[mode].forEach((row, i) => row.forEach((v, j) => {
          assert.ok(Math.abs(out[i * g.length + j]! - v) < 1e-4, `${key}[${i}][${j}] ${mode}: ${out[i * g.length + j]} vs RDKit ${v}`);
        }));
      }
    });
  }

  it('sees symmetric atoms swapped where plain RMSD does not', () => {
    // make_fixtures.py adds, among the generated conformers, a jittered copy of reference
    // conformer 1 with symmetric atoms permuted (carboxyl oxygens, tert-butyl methyls, ring).
    for (const key of ['tbu_benzoic_acid', 'tbu_cf3_anilide', 'nitrotoluene']) {
      const exp = expected.molecules[key]!;
      const pairs = exp.rmsd.none[1]!.map((plain, j) => ({ plain, best: exp.rmsd.default[1]![j]! }));
      assert.ok(pairs.some(({ plain, best }) => best < 0.2 && plain > best + 0.3), `${key}: ${JSON.stringify(pairs)}`);
    }
  });

  it('takes each generated conformer\'s own mappings when they differ by column', () => {
    const r = refs.get('tbu_benzoic_acid')!;
    const g = gens.get('tbu_benzoic_acid')!;
    const n = r[0]!.n;
    const [refSet, genSet] = [prepareConformers(stack(r), n), prepareConformers(stack(g), n)];
    const groups = [preparePairings(selfMappings(r[0]!, 'none', 1)), preparePairings(selfMappings(r[0]!, 'default', 1_000_000))];
    const of = g.map((_, j) => j % 2);
    const mixed = new Float64Array(r.length * g.length);
    bestRmsdRows(refSet, genSet, { groups, of }, 0, r.length, mixed);
    const each = groups.map((p) => {
      const out = new Float64Array(r.length * g.length);
      bestRmsdRows(refSet, genSet, p, 0, r.length, out);
      return out;
    });
    for (let i = 0; i < mixed.length; i++) assert.equal(mixed[i], each[of[i % g.length]!]![i], `entry ${i}`);
    assert.ok(each[0]!.some((v, i) => v !== each[1]![i]), 'the two groups give different numbers somewhere');
  });

  it('stops at the mapping cap and says so', () => {
    const mol = refs.get('tbu_cf3_anilide')![0]!; // 72 automorphisms
    const capped = selfMappings(mol, 'strict', 10);
    assert.equal(capped.count, 10);
    assert.equal(capped.capped, true);
    const exact = selfMappings(mol, 'strict', 72);
    assert.equal(exact.count, 72);
    assert.equal(exact.capped, false);
  });

  it('keeps only the identity without symmetry, and moves no atom then', () => {
    const maps = selfMappings(refs.get('tbu_benzoic_acid')![0]!, 'none', 1_000_000);
    assert.equal(maps.count, 1);
    assert.equal(maps.moving.length, 0);
  });
});
