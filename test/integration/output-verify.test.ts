/**
 * `shoal verify` and `shoal repair` as a user runs them, on real outputs of `shoal run`
 * (embedded, no NATS; spin, and frames with record sets numbered by frame): a garbage line
 * and copied rows are found with their line numbers, moved aside byte for byte, and the
 * output verifies clean afterwards.
 */
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { tempSuite } from '../helpers/suite.js';
import { runShoal } from '../helpers/shoal.js';
import { assertOneRowPerTask, readRows, spinIds } from '../helpers/rows.js';
import { fixture } from '../helpers/paths.js';

const scratch = tempSuite('shoal-output-verify-');

describe('shoal verify and shoal repair', () => {
  it('find a garbage line and a duplicate row by line number, repair them aside, then verify clean', async () => {
    const file = join(scratch.dir, 'V1.jsonl');
    const run = await runShoal(['run', 'spin', '--tasks', '200', '--ms', '0', '--workers', '1', '--job', 'V1', '--out', file]);
    assert.equal(run.code, 0, run.describe());
    const produced = readFileSync(file, 'utf8');
    const clean = await runShoal(['verify', file]);
    assert.equal(clean.code, 0, clean.describe());
    assert.match(clean.stdout, /200 rows, 200 tasks/);

    const garbage = 'this is not a row\n';
    const copy = produced.split('\n')[41]! + '\n';
    appendFileSync(file, garbage + copy);

    const v = await runShoal(['verify', file]);
    assert.equal(v.code, 1, v.describe());
    assert.match(v.stdout, /1 line that is not a row of job V1 \(line 201\)/, v.describe());
    assert.match(v.stdout, /1 duplicate row \(line 202\)/, v.describe());
    assert.match(v.stdout, /shoal repair /, 'a hint to repair');
    const json = await runShoal(['verify', file, '--json']);
    assert.equal(json.code, 1, json.describe());
    const report = JSON.parse(json.stdout) as { job: string; jobFrom: string; rows: number; clean: boolean; problems: Record<string, { count: number; lines: number[] }> };
    assert.deepEqual([report.job, report.jobFrom, report.rows, report.clean], ['V1', 'job-record', 200, false]);
    assert.deepEqual(report.problems.foreign, { count: 1, lines: [201] });
    assert.deepEqual(report.problems.duplicates, { count: 1, lines: [202] });

    const r = await runShoal(['repair', file]);
    assert.equal(r.code, 0, r.describe());
    assert.match(r.stdout, /moved 2 lines/, r.describe());
    assert.equal(readFileSync(`${file}.rejected`, 'utf8'), garbage + copy, 'the rejected lines, byte for byte');
    assert.equal(readFileSync(file, 'utf8'), produced, 'the output is back to what the run wrote');
    assertOneRowPerTask(readRows(file), spinIds(200), { status: 'ok', job: 'V1' });

    const verified = await runShoal(['verify', file]);
    assert.equal(verified.code, 0, verified.describe());
    assert.match(verified.stdout, /^clean$/m);
    const again = await runShoal(['repair', file]);
    assert.equal(again.code, 0, again.describe());
    assert.match(again.stdout, /nothing to repair/);
    assert.equal(existsSync(`${file}.rejected.2`), false);
  });

  it('a frames output (record sets numbered by frame) is clean; a record set written twice is one duplicate set', async () => {
    const file = join(scratch.dir, 'F1.jsonl');
    const frames = ['run', 'frames', '--traj', fixture('frames', 'traj.dcd'), '--top', fixture('frames', 'top.pdb'), '--analyses', 'rg', '--chunk', '7'];
    const run = await runShoal([...frames, '--workers', '1', '--job', 'F1', '--out', file]);
    assert.equal(run.code, 0, run.describe());
    const rows = readRows(file);
    assert.ok(rows.some((r) => Number(r.index) >= Number(r.of)), 'precondition: a chunk whose frame numbers are past its row count');
    const clean = await runShoal(['verify', file, '--json']);
    assert.equal(clean.code, 0, clean.describe());

    const lines = readFileSync(file, 'utf8').split('\n').slice(0, -1);
    const last = rows.at(-1)!.task;
    const set = lines.filter((l) => (JSON.parse(l) as { task: string }).task === last);
    appendFileSync(file, set.map((l) => l + '\n').join(''));
    const v = await runShoal(['verify', file, '--json']);
    assert.equal(v.code, 1, v.describe());
    const dup = Array.from({ length: set.length }, (_, i) => lines.length + 1 + i).slice(0, 5);
    assert.deepEqual(JSON.parse(v.stdout).problems.duplicates, { count: set.length, lines: dup });
    const r = await runShoal(['repair', file]);
    assert.equal(r.code, 0, r.describe());
    assert.equal(readFileSync(`${file}.rejected`, 'utf8'), set.map((l) => l + '\n').join(''));
    assert.equal((await runShoal(['verify', file])).code, 0);
  });

  it('verify on a missing file exits 2 naming it; a wrong --job is refused by repair', async () => {
    const missing = join(scratch.dir, 'missing.jsonl');
    const v = await runShoal(['verify', missing]);
    assert.equal(v.code, 2, v.describe());
    assert.ok(v.stderr.includes(missing), v.describe());
    const r = await runShoal(['repair', missing]);
    assert.equal(r.code, 2, r.describe());

    const file = join(scratch.dir, 'V2.jsonl');
    const run = await runShoal(['run', 'spin', '--tasks', '5', '--ms', '0', '--workers', '1', '--job', 'V2', '--out', file]);
    assert.equal(run.code, 0, run.describe());
    const before = readFileSync(file, 'utf8');
    const wrong = await runShoal(['repair', file, '--job', 'V3']);
    assert.equal(wrong.code, 2, wrong.describe());
    assert.match(wrong.stderr, /no row of job V3/);
    assert.equal(readFileSync(file, 'utf8'), before);
    const usage = await runShoal(['verify']);
    assert.equal(usage.code, 2, usage.describe());
  });

  it('--help says what is checked', async () => {
    const h = await runShoal(['verify', '--help']);
    assert.equal(h.code, 0, h.describe());
    assert.match(h.stdout, /duplicate rows/);
    assert.match(h.stdout, /torn tail/);
    const r = await runShoal(['repair', '--help']);
    assert.equal(r.code, 0, r.describe());
    assert.match(r.stdout, /rejected/);
  });
});
