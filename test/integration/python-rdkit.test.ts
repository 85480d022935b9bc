/**
 * The python kind's RDKit example (examples/python/descriptors.py) over a .smi file, checked
 * against the descriptors RDKit computed directly (test/fixtures/python/drugs-descriptors.json,
 * made by the script beside it). Needs a python3 with RDKit (Debian's python3-rdkit, which
 * .ci/run installs).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fixture, repoRoot } from '../helpers/paths.js';
import { readRows } from '../helpers/rows.js';
import { runShoal } from '../helpers/shoal.js';
import { tempSuite } from '../helpers/suite.js';

const scratch = tempSuite('shoal-python-rdkit-');

/** The first python3 that imports RDKit: the one on PATH, or Debian's. */
function pythonWithRdkit(): string {
  for (const py of ['python3', '/usr/bin/python3']) {
    try {
      execFileSync(py, ['-c', 'import rdkit'], { stdio: 'ignore' });
      return py;
    } catch {
      // try the next
    }
  }
  throw new Error('no python3 with RDKit: install Debian\'s python3-rdkit (apt-get install python3-rdkit), as .ci/run does');
}

describe('python kind with RDKit', () => {
  it('the descriptors example gives what RDKit computes directly, and an error row for the SMILES it cannot parse', async () => {
    const python = pythonWithRdkit();
    const out = join(scratch.dir, 'descriptors.jsonl');
    const r = await runShoal(['run', 'python', '--fn', 'examples/python/descriptors.py:descriptors', '--inputs', 'examples/python/drugs.smi', '--python', python, '--out', out], { cwd: repoRoot });
    assert.equal(r.code, 1, `done with one failed task\n${r.describe()}`);
    const ref = JSON.parse(readFileSync(fixture('python', 'drugs-descriptors.json'), 'utf8')) as { molecules: Record<string, Record<string, number> | null> };
    const rows = readRows(out);
    assert.equal(rows.length, Object.keys(ref.molecules).length);
    for (const row of rows) {
      if (row.status === 'error') {
        assert.equal(row.error!.code, 'E_EXCEPTION');
        assert.match(row.error!.message, /^ValueError: RDKit cannot parse the SMILES of broken: not_a_smiles/);
        assert.doesNotMatch(row.error!.message, /shoal_worker/, 'the traceback holds the user\'s frames only');
        assert.equal(ref.molecules.broken, null);
        continue;
      }
      const v = row.value as Record<string, number> & { name: string };
      const want = ref.molecules[v.name];
      assert.ok(want, `${v.name} is in the reference`);
      for (const [k, x] of Object.entries(want)) {
        if (Number.isInteger(x)) assert.equal(v[k], x, `${v.name} ${k}`);
        else assert.ok(Math.abs(v[k]! - x) <= 1e-4, `${v.name} ${k}: ${v[k]} vs RDKit ${x}`);
      }
    }
  });
});
