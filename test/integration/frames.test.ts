/**
 * The frames kind over a real nats-server: the same analyses (zeno included) on one agent and
 * on two agents give identical per-frame values, whatever threads each task got.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { uniqueNs } from '../helpers/nats.js';
import { readRows, type Row } from '../helpers/rows.js';
import { runShoal, startAgent, startCoordinator } from '../helpers/shoal.js';
import { repoRoot } from '../helpers/paths.js';
import { natsSuite } from '../helpers/suite.js';

const TRAJ = join(repoRoot, 'examples', 'frames', 'traj.dcd');
const TOP = join(repoRoot, 'examples', 'frames', 'top.pdb');

const suite = natsSuite('shoal-frames-');

/** Frame → value, independent of where, when and in which chunk a frame ran. */
function byFrame(rows: Row[]): Array<[number, unknown]> {
  return rows.map((r) => [Number(r.index), r.value] as [number, unknown]).sort((a, b) => a[0] - b[0]);
}

describe('frames over NATS', () => {
  const ns = uniqueNs('frames');
  const conn = (): string[] => suite.conn(ns);
  const analyses = ['frames', '--traj', TRAJ, '--top', TOP, '--analyses', 'rg,rg_mass,cog,com,rmsd,zeno', '--walks', '4096', '--seed', '11'];

  it('one agent and two agents, one and two threads per frame: identical values for every frame', async () => {
    const out = join(suite.dir, 'out');
    await startCoordinator(suite.nats.url, ns, out);
    await startAgent(suite.nats.url, ns, ['--workers', '2']);
    const one = await runShoal(['submit', ...analyses, '--threads', '2', '--chunk', '7', ...conn(), '--job', 'one', '--wait']);
    assert.equal(one.code, 0, one.describe());
    await startAgent(suite.nats.url, ns, ['--workers', '1']);
    const two = await runShoal(['submit', ...analyses, '--threads', '1', '--chunk', '5', ...conn(), '--job', 'two', '--wait']);
    assert.equal(two.code, 0, two.describe());
    const rowsOne = readRows(join(out, 'one.jsonl'));
    const rowsTwo = readRows(join(out, 'two.jsonl'));
    assert.equal(rowsOne.length, 60);
    assert.equal(rowsTwo.length, 60);
    assert.ok(rowsOne.every((r) => r.status === 'ok'));
    assert.deepEqual(byFrame(rowsTwo), byFrame(rowsOne));
    assert.equal(new Set(rowsTwo.map((r) => r.agent)).size, 2, 'both agents ran frames of the second job');
  });
});
