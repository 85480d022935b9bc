import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { indexSdf, readSdfMolecules } from '../../src/io/sdf.js';
import { perceiveAromaticBonds } from '../../src/kinds/conformers/aromaticity.js';
import { AROMATIC, toHeavy, type HeavyMolecule } from '../../src/kinds/conformers/heavy.js';
import { buildGraph, findRings } from '../../src/kinds/conformers/rings.js';
import { selfMappings } from '../../src/kinds/conformers/symmetry.js';
import { fixture } from '../helpers/paths.js';

interface Count {
  title: string;
  smiles: string;
  default: number;
  strict: number;
}

async function loadSet(): Promise<Map<string, HeavyMolecule>> {
  const file = fixture('conformers', 'symmetry.sdf');
  const idx = await indexSdf(file);
  const mols = readSdfMolecules(file, idx.records.map((r) => [r.offset, r.length, r.line, r.record] as const), 'symmetry.sdf');
  return new Map(mols.map((m) => [m.title, toHeavy(m)]));
}

function aromaticCount(mol: HeavyMolecule): number {
  const g = buildGraph(mol.n, mol.bondA, mol.bondB);
  return perceiveAromaticBonds(mol, g, findRings(g)).filter((t) => t === AROMATIC).length;
}

describe('atom mappings against RDKit', () => {
  const counts = JSON.parse(readFileSync(fixture('conformers', 'symmetry_expected.json'), 'utf8')) as Count[];

  it('finds as many self-matches as RDKit for drugs and aromatic edge cases (default and strict)', async () => {
    const mols = await loadSet();
    assert.equal(mols.size, counts.length);
    const wrong: string[] = [];
    for (const c of counts) {
      const mol = mols.get(c.title)!;
      for (const mode of ['default', 'strict'] as const) {
        const got = selfMappings(mol, mode, 1_000_000).count;
        if (got !== c[mode]) wrong.push(`${c.smiles} ${mode}: ${got}, RDKit ${c[mode]}`);
      }
    }
    assert.deepEqual(wrong, []);
  });

  it('perceives Kekulé rings as aromatic the way RDKit does', async () => {
    const mols = await loadSet();
    const bySmiles = new Map(counts.map((c) => [c.smiles, mols.get(c.title)!]));
    assert.equal(aromaticCount(bySmiles.get('Cc1ccc(C)cc1')!), 6);
    assert.equal(aromaticCount(bySmiles.get('c1ccc2ccccc2c1')!), 11); // the fusion bond too
    assert.equal(aromaticCount(bySmiles.get('c1cc[nH]c1')!), 5);
    assert.equal(aromaticCount(bySmiles.get('O=c1cccc[nH]1')!), 6); // 2-pyridone
    assert.equal(aromaticCount(bySmiles.get('O=C1C=CC(=O)C=C1')!), 0); // quinone
    assert.equal(aromaticCount(bySmiles.get('C1=CC=CC=CC=C1')!), 0); // cyclooctatetraene
    assert.equal(aromaticCount(bySmiles.get('c1ccc2cccc2cc1')!), 10); // azulene: not its fusion bond
  });
});
