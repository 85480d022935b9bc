/**
 * Per-frame failures through the real CLI (embedded `shoal run`, no NATS): a DCD that holds
 * fewer frames than its header promises is refused at submit (exit 2, one line naming both
 * counts, no rows), and a chunk with some unreadable frames is a failed task that
 * `shoal report` counts, with its failed records, in the text, the JSON and the HTML.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { tempSuite } from '../helpers/suite.js';
import { cutDcd, dcdLayout } from '../helpers/dcd.js';
import { repoRoot } from '../helpers/paths.js';
import { readRows } from '../helpers/rows.js';
import { runShoal } from '../helpers/shoal.js';

const EX = (name: string): string => join(repoRoot, 'examples', 'frames', name);

const scratch = tempSuite('shoal-frames-truncated-');

describe('frames with missing or unreadable frames', () => {
  it('run frames on a DCD cut short: exit 2, one line naming both counts, no rows', async () => {
    const cut = cutDcd(EX('traj.dcd'), join(mkdtempSync(join(scratch.dir, 'in-')), 'truncated.dcd'), 7, 1000);
    const out = join(scratch.dir, 'cut.jsonl');
    const r = await runShoal(['run', 'frames', '--traj', cut.path, '--top', EX('top.pdb'), '--analyses', 'rg', '--out', out], { cwd: scratch.dir });
    assert.equal(r.code, 2, r.describe());
    const want = `truncated.dcd: the header promises 60 frames but the file holds 7 (${cut.bytes} bytes, ${cut.frameBytes} bytes per frame)`;
    // The user's line: the message alone, not a stack trace.
    const lines = r.stderr.split('\n').filter((l) => l.includes(want) && !l.startsWith('{'));
    assert.deepEqual(lines, [`shoal: ${want}`], r.describe());
    assert.ok(!/\n\s+at /.test(r.stderr), `no stack trace:\n${r.stderr}`);
    assert.ok(!existsSync(out) || readFileSync(out, 'utf8') === '', `no rows in ${out}`);
    assert.deepEqual(readdirSync(scratch.dir).filter((f) => f.startsWith('cut.') && f !== 'cut.jsonl'), [], 'no job record or summary');
    assert.deepEqual(readdirSync(scratch.dir).filter((f) => f.startsWith('shoal-out')), [], 'no default output dir either');
  });

  it('report on a job whose chunk has unreadable frames: the task failed, with its failed records', async () => {
    // Corrupt the X record markers of frames 10 and 11: those two frames fail, the rest read.
    const { headerBytes, frameBytes, hasCell } = dcdLayout(EX('traj.dcd'));
    const bytes = Buffer.from(readFileSync(EX('traj.dcd')));
    for (const f of [10, 11]) bytes.writeInt32LE(999, headerBytes + f * frameBytes + (hasCell ? 56 : 0));
    const traj = join(scratch.dir, 'corrupt.dcd');
    writeFileSync(traj, bytes);
    const out = join(scratch.dir, 'corrupt.jsonl');
    const run = await runShoal(['run', 'frames', '--traj', traj, '--top', EX('top.pdb'), '--analyses', 'rg', '--chunk', '20', '--out', out], { cwd: scratch.dir });
    assert.equal(run.code, 1, `done with failed tasks\n${run.describe()}`);
    assert.match(run.stdout, /: 2 ok, 1 failed \(2 failed records\) of 3 tasks/, run.describe());
    const rows = readRows(out);
    assert.equal(rows.length, 60);
    assert.deepEqual(rows.filter((x) => x.status === 'error').map((x) => [x.task, x.index, x.input]), [['frames_00-19', 10, { first: 0, last: 19 }], ['frames_00-19', 11, { first: 0, last: 19 }]]);
    const summary = JSON.parse(readFileSync(join(scratch.dir, 'corrupt.summary.json'), 'utf8')) as Record<string, unknown>;
    assert.deepEqual(summary.frames, { total: 60, ok: 58, failed: 2 }, JSON.stringify(summary));
    assert.deepEqual(summary.chunks, { total: 3, ok: 2, failed: 1 }, JSON.stringify(summary));
    assert.deepEqual([summary.tasks, summary.records], [{ ok: 2, error: 1 }, { rows: 60, error: 2 }], JSON.stringify(summary));

    const html = join(scratch.dir, 'corrupt.html');
    const rep = await runShoal(['report', out, '--html', html], { cwd: scratch.dir });
    assert.equal(rep.code, 0, rep.describe());
    assert.match(rep.stdout, /3 tasks \(2 ok, 1 failed, 2 failed records, 0 retried\) in 60 rows/, rep.describe());
    assert.match(rep.stdout, /error rows: E_INPUT 2/);
    const json = await runShoal(['report', out, '--json'], { cwd: scratch.dir });
    assert.equal(json.code, 0, json.describe());
    const s = JSON.parse(json.stdout) as { tasks: number; ok: number; error: number; failedRecords: number; agents: Array<{ error: number; failedRecords: number }> };
    assert.deepEqual([s.tasks, s.ok, s.error, s.failedRecords], [3, 2, 1, 2]);
    assert.deepEqual(s.agents.map((a) => [a.error, a.failedRecords]), [[1, 2]]);
    const page = readFileSync(html, 'utf8');
    assert.match(page, /<b>1<\/b><span>failed<\/span>/);
    assert.match(page, /<b>2<\/b><span>failed records<\/span>/);
    assert.match(page, /<td>frames_00-19<\/td><td class="num">2 of 20<\/td><td>E_INPUT<\/td>/);
  });
});
