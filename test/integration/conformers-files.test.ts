/**
 * A wrong file as --ref or --gen (a PDB file) is one usage error at submit time, over NATS and
 * embedded: exit code 2, the option, the file and its first record's problem on stderr, and no
 * output written.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { uniqueNs } from '../helpers/nats.js';
import { repoRoot } from '../helpers/paths.js';
import { runShoal, startCoordinator } from '../helpers/shoal.js';
import { natsSuite } from '../helpers/suite.js';

const GEN = join(repoRoot, 'examples', 'conformers', 'gen.sdf');
const PDB = join(repoRoot, 'examples', 'frames', 'top.pdb');

const suite = natsSuite('shoal-conformers-files-');

describe('conformers given a file that is not an SD file', () => {
  it('submit and run refuse it with exit code 2, naming the option, the file and its first problem', async () => {
    const ns = uniqueNs('conf-files');
    const out = join(suite.dir, 'out');
    await startCoordinator(suite.nats.url, ns, out);
    const sub = await runShoal(['submit', 'conformers', '--ref', PDB, '--gen', GEN, ...suite.conn(ns), '--job', 'wrong', '--wait']);
    assert.equal(sub.code, 2, sub.describe());
    assert.match(sub.stderr, new RegExp(`--ref ${PDB.replace(/[.]/g, '\\.')} is not an SD file: .*record #1 .*line 4: atom count \\(columns 1-3\\) 'ATO' is not an integer`));
    assert.ok(!existsSync(join(out, 'wrong.jsonl')), 'no output');
    const file = join(suite.dir, 'run.jsonl');
    const run = await runShoal(['run', 'conformers', '--ref', GEN, '--gen', PDB, '--out', file]);
    assert.equal(run.code, 2, run.describe());
    assert.match(run.stderr, /--gen .*top\.pdb is not an SD file/);
    assert.ok(!existsSync(file), 'no output');
  });
});
