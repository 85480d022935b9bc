/**
 * The frames kind over a real nats-server: the same analyses (zeno included) on one agent and
 * on two agents give identical per-frame values, whatever threads each task got.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startTestNats, uniqueNs, type TestNats } from '../helpers/nats.js';
import { readRows, type Row } from '../helpers/rows.js';
import { killLeftovers, runShoal, spawnShoal } from '../helpers/shoal.js';
import { repoRoot } from '../helpers/paths.js';

const TRAJ = join(repoRoot, 'examples', 'frames', 'traj.dcd');
const TOP = join(repoRoot, 'examples', 'frames', 'top.pdb');

let nats: TestNats;
let tmp: string;

before(async () => {
  nats = await startTestNats();
  tmp = mkdtempSync(join(tmpdir(), 'shoal-frames-'));
});

after(async () => {
  await killLeftovers();
  await nats?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

/** Frame → value, independent of where, when and in which chunk a frame ran. */
function byFrame(rows: Row[]): Array<[number, unknown]> {
  return rows.map((r) => [Number(r.index), r.value] as [number, unknown]).sort((a, b) => a[0] - b[0]);
}

describe('frames over NATS', () => {
  const ns = uniqueNs('frames');
  const conn = (): string[] => ['--nats', nats.url, '--ns', ns];
  const analyses = ['frames', '--traj', TRAJ, '--top', TOP, '--analyses', 'rg,rg_mass,cog,com,rmsd,zeno', '--walks', '4096', '--seed', '11'];

  it('one agent and two agents, one and two threads per frame: identical values for every frame', async () => {
    const out = join(tmp, 'out');
    const coord = spawnShoal(['coordinator', ...conn(), '--out-dir', out]);
    await coord.waitForLog('coordinator ready');
    const a1 = spawnShoal(['agent', ...conn(), '--workers', '2']);
    await a1.waitForLog('joined the coordinator');
    const one = await runShoal(['submit', ...analyses, '--threads', '2', '--chunk', '7', ...conn(), '--job', 'one', '--wait']);
    assert.equal(one.code, 0, one.describe());
    const a2 = spawnShoal(['agent', ...conn(), '--workers', '1']);
    await a2.waitForLog('joined the coordinator');
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
