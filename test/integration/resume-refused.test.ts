/**
 * A job that cannot be resumed after a coordinator restart (its inputs file changed while the
 * coordinator was down: its task ids would no longer name the same records) is not run
 * against the new file: status shows it failed and why, a job waiting for it (`--after`,
 * after-ok) is cancelled naming it, and a stage fed by it (`--from`) ends with one row per row
 * it had committed, instead of waiting forever. The agent still running its tasks is told to
 * stop, and its results of it are refused, not kept: they do not hold up the stage's results
 * sent beside them. Over a real nats-server.
 */
import assert from 'node:assert/strict';
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { killHard, rowsSoFar } from '../helpers/faults.js';
import { readRows } from '../helpers/rows.js';
import { runShoal, startCoordinator } from '../helpers/shoal.js';
import { natsSuite } from '../helpers/suite.js';
import { until } from '../helpers/wait.js';

const suite = natsSuite('shoal-resume-refused-');

const MODULE = `
import time

def slow(x, params):
    time.sleep(0.2)
    return {"word": x}

def plain(v, params):
    return v
`;

describe('a job that cannot be resumed', () => {
  it('fails with its reason in status; the job after it is cancelled, the stage fed by it ends', async () => {
    writeFileSync(join(suite.dir, 'mod.py'), MODULE);
    const words = join(suite.dir, 'words.txt');
    const n = 40;
    writeFileSync(words, Array.from({ length: n }, (_, i) => `w${i}`).join('\n') + '\n');
    const run = await suite.coordinator('refused');
    await run.agents(1, ['--workers', '2', '--allow-command']);
    const conn = suite.conn(run.ns);
    const submits = [
      ['python', '--fn', 'mod.py:slow', '--job', 'U', '--inputs', words, '--granularity', 'task'],
      ['spin', '--job', 'D', '--tasks', '5', '--ms', '1', '--after', 'U'],
      ['python', '--fn', 'mod.py:plain', '--job', 'S', '--from', 'U'],
    ];
    for (const args of submits) {
      const r = await runShoal(['submit', ...args, ...conn], { cwd: suite.dir });
      assert.equal(r.code, 0, r.describe());
    }
    await until('rows of U and of the stage fed by it', () => rowsSoFar(join(run.out, 'U.jsonl')).length >= 3 && rowsSoFar(join(run.out, 'S.jsonl')).length >= 1, 60_000);
    await killHard(run.coord);
    assert.ok(rowsSoFar(join(run.out, 'U.jsonl')).length < n, 'precondition: U was still running at the kill');
    // While the coordinator is down, the inputs change under the job.
    appendFileSync(words, 'late\n');
    const second = await startCoordinator(suite.nats.url, run.ns, run.out);
    try {
      await second.waitForLog((l) => l.msg === 'cannot resume job' && l.job === 'U');
      const d = await run.ctl.waitEnd('D', 60_000);
      assert.equal(d.state, 'cancelled');
      assert.match(d.error ?? '', /upstream job U ended failed/);
      const s = await run.ctl.waitEnd('S', 60_000);
      assert.equal(s.state, 'done');
      const status = await runShoal(['status', 'U', ...conn, '--json']);
      assert.equal(status.code, 0, status.describe());
      const u = (JSON.parse(status.stdout) as { jobs: Array<{ job: string; state: string; error?: string }> }).jobs.find((j) => j.job === 'U');
      assert.equal(u?.state, 'failed', status.stdout);
      assert.match(u?.error ?? '', /cannot resume it after the coordinator restarted: input .*words\.txt changed size/);
      // Nothing ran for D; S has one row per row U committed, with the same ids.
      assert.equal(rowsSoFar(join(run.out, 'D.jsonl')).length, 0, 'D ran nothing');
      const up = readRows(join(run.out, 'U.jsonl'));
      const down = readRows(join(run.out, 'S.jsonl'));
      assert.deepEqual(down.map((r) => r.task).sort(), up.map((r) => r.task).sort(), 'one stage row per committed upstream row');
      assert.equal(new Set(up.map((r) => r.task)).size, up.length, 'U: no task twice');
    } finally {
      second.kill('SIGTERM');
      await second.exited;
    }
  });
});
