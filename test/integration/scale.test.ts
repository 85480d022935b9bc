/**
 * Jobs of millions of tasks against a real coordinator: a 5,000,000-task job is admitted while
 * another job runs without its agent being declared lost, status answers throughout, and the
 * coordinator's memory comes back when the big job ends; a job too large for a coordinator is
 * refused up front, and the coordinator goes on.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { logsOf, memoryOf } from '../helpers/faults.js';
import { assertOneRowPerTask, readRows, spinIds } from '../helpers/rows.js';
import { runShoal } from '../helpers/shoal.js';
import { natsSuite, type Run } from '../helpers/suite.js';
import { until } from '../helpers/wait.js';

let run: Run;
// A short agent timeout: a coordinator deaf for 3 s while it admits a job would lose the agent.
const suite = natsSuite('shoal-scale-', { setup: async (s) => void (run = await s.coordinator('scale', ['--agent-timeout', '3'])) });
const conn = (): string[] => suite.conn(run.ns);

const rss = (pid: number): number => memoryOf(pid);

const mb = (b: number): string => `${(b / 2 ** 20).toFixed(0)} MB`;

describe('jobs of millions of tasks', () => {
  it('a 5,000,000-task job submitted while another runs: its agent stays, status answers within a second, memory comes back', async (t) => {
    const [agent] = await run.agents(1, ['--workers', '2'], { t });
    const r = await runShoal(['submit', 'spin', '--tasks', '300', '--sleep', '--ms', '40', '--no-speculate', ...conn(), '--job', 'R']);
    assert.equal(r.code, 0, r.describe());
    await until('R under way', async () => (await run.ctl.job('R')).done > 0);

    // Status asked over and over while the big job comes in: the slowest answer is kept. The
    // baseline is taken once the asking is under way, so it holds what asking costs.
    let asking = true;
    let slowest = 0;
    let answers = 0;
    const asker = (async () => {
      while (asking) {
        const t0 = performance.now();
        await run.ctl.status();
        slowest = Math.max(slowest, performance.now() - t0);
        answers++;
      }
    })();
    await until('200 status answers', () => answers >= 200);
    const baseline = rss(run.coord.pid);
    const big = await runShoal(['submit', 'spin', '--tasks', '5000000', '--ms', '0', ...conn(), '--job', 'BIG', '--json'], { timeoutMs: 120_000 });
    assert.equal(big.code, 0, big.describe());
    assert.equal(JSON.parse(big.stdout).tasks, 5_000_000);
    const peak = rss(run.coord.pid);
    const st = await run.ctl.job('BIG');
    assert.equal(st.total, 5_000_000);
    const cancel = await runShoal(['cancel', 'BIG', ...conn()]);
    assert.equal(cancel.code, 0, cancel.describe());
    const end = await run.ctl.waitEnd('R', 120_000);
    asking = false;
    await asker;

    assert.equal(end.state, 'done');
    assert.equal(end.retried, 0, 'no task of R was retried');
    assert.deepEqual(logsOf(run.coord, 'agent lost; its tasks requeued'), [], 'no agent was declared lost');
    assert.equal((await run.ctl.agent(agent!.id))?.state, 'active');
    assert.ok(answers > 0);
    assert.ok(slowest < 1000, `the slowest status took ${slowest.toFixed(0)} ms`);
    assertOneRowPerTask(readRows(join(run.out, 'R.jsonl')), spinIds(300), { status: 'ok', job: 'R' });
    // The big job's memory goes back (within 20% of what the coordinator held before it).
    const t0 = Date.now();
    const back = await until(`coordinator RSS back within 20% of ${mb(baseline)}`, async () => (rss(run.coord.pid) <= 1.2 * baseline ? rss(run.coord.pid) : null), 150_000, 1000);
    t.diagnostic(`coordinator RSS: ${mb(baseline)} before the big job, ${mb(peak)} once it was admitted, ${mb(back)} ${((Date.now() - t0) / 1000).toFixed(0)} s after the jobs ended; slowest status ${slowest.toFixed(0)} ms of ${answers}`);
  });

  it('a job too large for one coordinator is refused up front, naming its size; the coordinator goes on', async () => {
    const r = await runShoal(['submit', 'spin', '--tasks', '5000000000', ...conn(), '--job', 'HUGE']);
    assert.notEqual(r.code, 0, r.describe());
    assert.match(r.stderr, /job 'HUGE' has 5,000,000,000 tasks; one job holds at most 4,294,967,295: submit it in parts/);
    const status = await run.ctl.status();
    assert.equal(status.jobs.find((j) => j.job === 'HUGE'), undefined, 'nothing of it was admitted');

    // Over the memory a coordinator may give one job: refused before its output is made.
    const out = join(suite.dir, 'too-big.jsonl');
    const big = await runShoal(['run', 'spin', '--tasks', '10000000', '--job-memory', '0.1', '--workers', '1', '--job', 'TOO-BIG', '--out', out]);
    assert.equal(big.code, 2, big.describe());
    assert.match(big.stderr, /job 'TOO-BIG' has 10,000,000 tasks and needs about 0\.168 GB in the coordinator while it is admitted \(18 bytes a task\); 0\.100 GB is free for it/);
    assert.equal(existsSync(out), false, 'no output was made');
  });
});
