/**
 * What the sink will write into: an output with garbage or duplicate lines is not resumed
 * until `shoal repair` has cleaned it (the refusal names the line numbers); a file that is
 * not a shoal output is not touched without --force; an output whose job record is gone is
 * not appended to by another job; and a job submitted over NATS writes only inside the
 * coordinator's out dir.
 */
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { uniqueNs } from '../helpers/nats.js';
import { assertOneRowPerTask, readRows, spinIds } from '../helpers/rows.js';
import { runShoal, connArgs, startCoordinator } from '../helpers/shoal.js';
import { natsSuite } from '../helpers/suite.js';

const suite = natsSuite('shoal-output-guard-');

const run = (file: string, job: string, tasks: number, extra: string[] = []): string[] => ['run', 'spin', '--tasks', String(tasks), '--ms', '0', '--workers', '1', '--job', job, '--out', file, ...extra];

describe('the outputs the sink writes into', () => {
  it('garbage and a duplicate row: resume refuses naming the lines; verify exits 1; repair, then resume gives one row per task; verify exits 0', async () => {
    const file = join(suite.dir, 'dirty', 'G1.jsonl');
    const first = await runShoal(run(file, 'G1', 300));
    assert.equal(first.code, 0, first.describe());
    const lines = readFileSync(file, 'utf8').split('\n');
    // Half the rows are lost (say a copy was cut short), then a garbage line and a copied row follow.
    writeFileSync(file, lines.slice(0, 150).join('\n') + '\n');
    appendFileSync(file, 'this is not a row\n' + lines[3] + '\n');
    const before = readFileSync(file, 'utf8');

    const refused = await runShoal(run(file, 'G1', 300));
    assert.equal(refused.code, 2, refused.describe());
    assert.match(refused.stderr, /1 line that is not a row of job G1 \(line 151\)/);
    assert.match(refused.stderr, /1 duplicate row \(line 152\)/);
    assert.match(refused.stderr, /shoal repair/);
    assert.equal(readFileSync(file, 'utf8'), before, 'a refused resume leaves the file as it was');
    assert.equal((await runShoal(['verify', file])).code, 1);

    const repaired = await runShoal(['repair', file]);
    assert.equal(repaired.code, 0, repaired.describe());
    const again = await runShoal(run(file, 'G1', 300));
    assert.equal(again.code, 0, again.describe());
    assert.match(again.stderr, /resuming G1: 150 of 300 tasks already/);
    assertOneRowPerTask(readRows(file), spinIds(300), { status: 'ok', job: 'G1' });
    assert.equal((await runShoal(['verify', file])).code, 0);
  });

  it('a file that is not a shoal output is refused without --force, and left as it was', async () => {
    const file = join(suite.dir, 'notes.txt');
    writeFileSync(file, 'my notes\nkeep these\n');
    const r = await runShoal(run(file, 'N1', 10));
    assert.equal(r.code, 2, r.describe());
    assert.match(r.stderr, /is not a shoal output/);
    assert.match(r.stderr, /--force/);
    assert.equal(readFileSync(file, 'utf8'), 'my notes\nkeep these\n');
    const forced = await runShoal(run(file, 'N1', 10, ['--force']));
    assert.equal(forced.code, 0, forced.describe());
    assert.ok(readFileSync(file, 'utf8').startsWith('my notes\nkeep these\n'));
  });

  it('an output whose job record was deleted is not appended to by another job', async () => {
    const file = join(suite.dir, 'shared.jsonl');
    assert.equal((await runShoal(run(file, 'A1', 20))).code, 0);
    rmSync(join(suite.dir, 'shared.job.json'));
    const before = readFileSync(file, 'utf8');
    const other = await runShoal(run(file, 'B1', 20));
    assert.equal(other.code, 2, other.describe());
    assert.match(other.stderr, /20 lines that are not rows of job B1 \(first at lines 1, 2, 3, 4, 5\)/);
    assert.equal(readFileSync(file, 'utf8'), before);
  });

  it('over NATS, --out is taken inside the coordinator\'s out dir; a path outside it is refused', async () => {
    const ns = uniqueNs('confine');
    const outDir = join(suite.dir, 'coord-out');
    await startCoordinator(suite.nats.url, ns, outDir);
    const outside = join(suite.dir, 'victim.conf');
    writeFileSync(outside, 'setting = 1\n');
    for (const out of [outside, '../victim.conf', `${outDir}/../victim.conf`]) {
      const r = await runShoal(['submit', 'spin', '--tasks', '5', '--ms', '0', ...connArgs(suite.nats.url, ns), '--job', 'C1', '--out', out]);
      assert.equal(r.code, 2, r.describe());
      assert.match(r.stderr, new RegExp(`outside the coordinator's out dir ${outDir.replace(/[/.]/g, '\\$&')}`));
    }
    assert.equal(readFileSync(outside, 'utf8'), 'setting = 1\n', 'the file outside was not touched');
    const inside = await runShoal(['submit', 'spin', '--tasks', '5', '--ms', '0', ...connArgs(suite.nats.url, ns), '--job', 'C2', '--out', 'runs/c2.jsonl']);
    assert.equal(inside.code, 0, inside.describe());
    assert.ok(existsSync(join(outDir, 'runs', 'c2.jsonl')), 'a relative --out lands inside the out dir');
  });
});
