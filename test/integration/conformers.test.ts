/**
 * The conformers kind over a real nats-server: one agent and two agents give identical
 * output (order aside), and split and unsplit runs identical summaries, end to end; also with
 * generated atoms in other orders, matched by graph, where the blocks share each molecule's
 * matched conformers through the agents' input stores.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { uniqueNs } from '../helpers/nats.js';
import { readRows, type Row } from '../helpers/rows.js';
import { runShoal, startAgent, startCoordinator } from '../helpers/shoal.js';
import { fixture, repoRoot } from '../helpers/paths.js';
import { natsSuite } from '../helpers/suite.js';

const REF = join(repoRoot, 'examples', 'conformers', 'ref.sdf');
const GEN = join(repoRoot, 'examples', 'conformers', 'gen.sdf');

const suite = natsSuite('shoal-conformers-');

/** The part of a row that must not depend on where or when it ran. */
function essence(rows: Row[]): Array<[string, string, unknown]> {
  return rows.map((r) => [r.task, r.status, r.value ?? r.error] as [string, string, unknown]).sort((a, b) => a[0].localeCompare(b[0]));
}

function summaryFigures(path: string): unknown {
  const s = JSON.parse(readFileSync(path, 'utf8'));
  return { molecules: s.molecules, dataset: s.dataset, evaluated: s.evaluated, failed: s.failed, excluded: s.excluded };
}

describe('conformers over NATS', () => {
  const ns = uniqueNs('conf');
  const conn = (): string[] => suite.conn(ns);
  const args = ['conformers', '--ref', REF, '--gen', GEN, '--symmetry', '--block-rows', '4'];

  it('one agent and two agents give identical rows and summaries', async () => {
    const out = join(suite.dir, 'out');
    await startCoordinator(suite.nats.url, ns, out);
    await startAgent(suite.nats.url, ns, ['--workers', '1']);
    const one = await runShoal(['submit', ...args, ...conn(), '--job', 'one', '--wait']);
    assert.equal(one.code, 0, one.describe());
    await startAgent(suite.nats.url, ns, ['--workers', '1']);
    const two = await runShoal(['submit', ...args, ...conn(), '--job', 'two', '--wait']);
    assert.equal(two.code, 0, two.describe());
    const rowsOne = readRows(join(out, 'one.jsonl'));
    const rowsTwo = readRows(join(out, 'two.jsonl'));
    assert.ok(rowsOne.length > 12, `blocks of 4 reference rows give more tasks than molecules (${rowsOne.length})`);
    assert.deepEqual(essence(rowsTwo), essence(rowsOne));
    assert.equal(new Set(rowsTwo.map((r) => r.agent)).size, 2, 'both agents ran tasks of the second job');
    assert.deepEqual(summaryFigures(join(out, 'two.summary.json')), summaryFigures(join(out, 'one.summary.json')));
    // Unsplit (the default granularity) gives the same dataset figures.
    const whole = await runShoal(['submit', 'conformers', '--ref', REF, '--gen', GEN, '--symmetry', ...conn(), '--job', 'whole', '--wait']);
    assert.equal(whole.code, 0, whole.describe());
    assert.deepEqual(summaryFigures(join(out, 'whole.summary.json')), summaryFigures(join(out, 'one.summary.json')));

    // Atoms renumbered per molecule or per conformer, two records not their molecule's graph.
    const permuted = ['conformers', '--ref', fixture('conformers', 'ref.sdf'), '--gen', fixture('conformers', 'permuted_gen.sdf'), '--symmetry', ...conn()];
    const blocks = await runShoal(['submit', ...permuted, '--block-rows', '1', '--job', 'perm-blocks', '--wait']);
    assert.equal(blocks.code, 0, blocks.describe());
    const perm = await runShoal(['submit', ...permuted, '--job', 'perm-whole', '--wait']);
    assert.equal(perm.code, 0, perm.describe());
    const figures = summaryFigures(join(out, 'perm-whole.summary.json')) as { evaluated: number; failed: number; excluded: number };
    assert.deepEqual([figures.evaluated, figures.failed, figures.excluded], [14, 0, 2]);
    assert.deepEqual(summaryFigures(join(out, 'perm-blocks.summary.json')), figures);
  });
});
