/**
 * Several jobs at once over a real nats-server: `--after` holds a job's dispatch until its
 * upstream ends (its rows start after the upstream's last row ended), `--after-ok` cancels it
 * when the upstream has failed tasks (the reason in status), an unknown upstream is a submit
 * error, and `shoal priority` changes a running job's priority (status shows it).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { readRows } from '../helpers/rows.js';
import { runShoal, shoalJson } from '../helpers/shoal.js';
import { natsSuite, type Run } from '../helpers/suite.js';
import { until } from '../helpers/wait.js';

let run: Run;
const suite = natsSuite('shoal-sharing-', {
  setup: async (s) => {
    run = await s.coordinator('sharing');
    await run.agents(1, ['--workers', '2']);
  },
});
const conn = (): string[] => suite.conn(run.ns);

async function submit(args: string[]): Promise<void> {
  const r = await runShoal(['submit', 'spin', '--no-speculate', ...args, ...conn()]);
  assert.equal(r.code, 0, r.describe());
}

describe('several jobs at once', () => {
  it('--after holds dispatch until the upstream job ends (--after-any: however); status shows it waiting', async () => {
    // U1 runs until cancelled below, so D1 is seen waiting however slow the machine is.
    await submit(['--job', 'U1', '--tasks', '60', '--ms', '400', '--sleep']);
    await submit(['--job', 'D1', '--tasks', '6', '--ms', '10', '--after', 'U1', '--after-any']);
    const d = await run.ctl.job('D1');
    assert.deepEqual(d.waitingFor, ['U1'], JSON.stringify(d));
    assert.equal(d.done + d.running, 0);
    const human = await runShoal(['status', 'D1', ...conn()]);
    assert.equal(human.code, 0, human.describe());
    assert.match(human.stdout, /D1\s+spin\s+waiting/);
    assert.match(human.stdout, /waiting \(D1\): for U1 to end/);
    await until('U1 has committed a task', async () => (await run.ctl.job('U1')).done > 0);
    await runShoal(['cancel', 'U1', ...conn()]);
    assert.equal((await run.ctl.waitEnd('U1')).state, 'cancelled');
    // --after-any: D1 runs however U1 ended.
    assert.equal((await run.ctl.waitEnd('D1')).state, 'done');
    const upEnd = Math.max(...readRows(join(run.out, 'U1.jsonl')).map((r) => r.end as number));
    const downStart = Math.min(...readRows(join(run.out, 'D1.jsonl')).map((r) => r.start as number));
    assert.ok(downStart >= upEnd, `D1's first task started at ${downStart}, after U1's last ended at ${upEnd}`);
  });

  it('--after-ok cancels the job when its upstream has failed tasks, with the reason in status; an unknown upstream is a submit error', async () => {
    await submit(['--job', 'U2', '--tasks', '6', '--ms', '20', '--fail-tasks', '1,4', '--max-attempts', '1']);
    await submit(['--job', 'D2', '--tasks', '4', '--ms', '10', '--after', 'U2', '--after-ok']);
    const d = await run.ctl.waitEnd('D2');
    assert.equal(d.state, 'cancelled');
    assert.equal(d.error, 'upstream job U2 ended with 2 failed tasks');
    const human = await runShoal(['status', 'D2', ...conn()]);
    assert.match(human.stdout, /upstream job U2 ended with 2 failed tasks/);
    const bad = await runShoal(['submit', 'spin', '--tasks', '1', '--ms', '1', '--after', 'nosuchjob', ...conn()]);
    assert.equal(bad.code, 2, bad.describe());
    assert.match(bad.stderr, /--after nosuchjob: the coordinator knows no job named 'nosuchjob'/);
  });

  it('shoal priority changes a running job\'s priority; status shows it', async () => {
    await submit(['--job', 'P1', '--tasks', '40', '--ms', '200', '--sleep', '--priority', '2']);
    assert.equal((await run.ctl.job('P1')).priority, 2);
    const r = await runShoal(['priority', 'P1', '7', ...conn()]);
    assert.equal(r.code, 0, r.describe());
    assert.match(r.stdout, /job P1 priority 7/);
    await until('status shows priority 7', async () => (await run.ctl.job('P1')).priority === 7);
    const json = await shoalJson<{ jobs: Array<{ job: string; priority?: number }> }>(['status', 'P1', '--json', ...conn()]);
    assert.equal(json.jobs[0]!.priority, 7);
    const missing = await runShoal(['priority', 'nosuchjob', '1', ...conn()]);
    assert.notEqual(missing.code, 0, missing.describe());
    await runShoal(['cancel', 'P1', ...conn()]);
  });
});
