/**
 * Drain (DESIGN §5): `shoal drain AGENT`, or SIGTERM on the agent as Slurm sends before
 * preemption. The agent stops pulling, lets the task it is running finish within --grace,
 * hands every unstarted lease back at once (another agent runs them at attempt 1: a hand-back
 * costs no attempt, while a lease recovered by --agent-timeout would cost one), flushes its
 * outbox, says goodbye (status shows it as left at once) and exits 0. The end of the grace period, or a second SIGTERM, aborts what still
 * runs and hands it back too.
 *
 * The coordinator's --agent-timeout is 60 s here, far longer than any of these jobs: only a
 * hand-back can get their tasks to another agent.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { assertOneRowPerTask, readRows, spinIds } from '../helpers/rows.js';
import { runShoal, type ShoalProcess, startAgent } from '../helpers/shoal.js';
import { natsSuite, type Run } from '../helpers/suite.js';
import { executions, logsOf, logTime, stopAgent } from '../helpers/faults.js';
import { until, within } from '../helpers/wait.js';

let run: Run;
const suite = natsSuite('shoal-fault-drain-', { setup: async (s) => void (run = await s.coordinator('drain', ['--agent-timeout', '60'])) });
const conn = (): string[] => suite.conn(run.ns);

async function submit(job: string, args: string[]): Promise<void> {
  const r = await runShoal(['submit', 'spin', ...args, '--no-speculate', ...conn(), '--job', job]);
  assert.equal(r.code, 0, r.describe());
}

/** The drained agent exits 0 on its own. */
async function exitsZero(p: ShoalProcess): Promise<void> {
  const e = await within(p.exited, 20_000);
  assert.deepEqual(e, { code: 0, signal: null }, `the agent did not exit 0 by itself:\n${p.describe()}`);
}

/** Nobody was declared lost while the job ran: its tasks moved by hand-back only. */
function noLoss(job: string): void {
  const end = run.coord.logs.findIndex((l) => l.msg === 'job done' && l.job === job);
  assert.ok(end >= 0, `job ${job} did not end:\n${run.coord.describe()}`);
  const lost = run.coord.logs.slice(0, end).filter((l) => l.msg === 'agent lost; its tasks requeued');
  assert.deepEqual(lost, [], 'no agent was lost before the job ended');
}

describe('drain', () => {
  it('shoal drain AGENT: the running task finishes, unstarted leases go back at once and run elsewhere at attempt 1, exit 0', async (t) => {
    const a = await startAgent(suite.nats.url, run.ns, ['--workers', '1', '--grace', '20'], { t });
    // A is alone, with two bundles of 12 tasks of 500 ms: once it runs the first it stays inside
    // it for seconds, long after a slow 'shoal drain' arrives, so at the drain it runs one task
    // and the rest of its bundle has not started. (Rows come back at a bundle's end, so waiting
    // for a first row would leave A between bundles.) B joins only after A is gone, so every
    // task it runs came back to the coordinator by hand-back or was never leased.
    const tasks = 24;
    await submit('D1', ['--tasks', String(tasks), '--sleep', '--ms', '500', '--granularity', '12']);
    const file = join(run.out, 'D1.jsonl');
    await until('A running a bundle of D1', async () => (await run.ctl.agent(a.id))?.busy === 1, 20_000);

    const r = await runShoal(['drain', a.id, ...conn()]);
    assert.equal(r.code, 0, r.describe());
    assert.match(r.stdout, new RegExp(`agent ${a.id} draining`));
    const draining = await a.proc.waitForLog('draining');
    assert.equal(draining.running, 1, 'A was running a bundle when it drained');
    await exitsZero(a.proc);
    // Its goodbye: shown as left now, not after the 60 s --agent-timeout.
    await until('A shown as left', async () => (await run.ctl.agent(a.id))?.state === 'left', 20_000);
    const b = await startAgent(suite.nats.url, run.ns, ['--workers', '2'], { t });

    const final = await run.ctl.waitEnd('D1');
    assert.equal(final.state, 'done', JSON.stringify(final));
    const rows = readRows(file);
    assertOneRowPerTask(rows, spinIds(tasks), { status: 'ok', job: 'D1' });
    const drainedAt = logTime(draining);
    const ofA = rows.filter((x) => x.agent === a.id);
    assert.deepEqual(
      ofA.filter((x) => (x.start as number) > drainedAt).map((x) => x.task),
      [],
      'no task started on A after it began draining',
    );
    assert.equal(ofA.filter((x) => (x.start as number) <= drainedAt && (x.end as number) > drainedAt).length, 1, 'the task running at the drain finished on A');
    assert.equal(executions(a.proc), ofA.length, 'every result of A reached the output (outbox flushed)');
    assert.deepEqual(
      rows.filter((x) => x.attempt !== 1).map((x) => `${x.task}@${x.attempt}`),
      [],
      'handed-back tasks cost no attempt',
    );
    noLoss('D1');
    await stopAgent(b.proc);
  });

  it('SIGTERM with a task longer than --grace: the grace period ends, the task is aborted and handed back, exit 0', async (t) => {
    const c = await startAgent(suite.nats.url, run.ns, ['--workers', '1', '--grace', '1'], { t });
    await submit('D2', ['--tasks', '2', '--sleep', '--ms', '4000', '--granularity', '1']);
    await until('C running a task of D2', async () => (await run.ctl.agent(c.id))?.busy === 1, 10_000);
    c.proc.kill('SIGTERM');
    await c.proc.waitForLog('draining');
    await c.proc.waitForLog('grace period over: aborting running tasks and handing them back');
    await exitsZero(c.proc);
    assert.equal(executions(c.proc), 0, 'C finished no task');

    const e = await startAgent(suite.nats.url, run.ns, ['--workers', '2'], { t });
    const final = await run.ctl.waitEnd('D2');
    assert.equal(final.state, 'done', JSON.stringify(final));
    const rows = readRows(join(run.out, 'D2.jsonl'));
    assertOneRowPerTask(rows, spinIds(2), { status: 'ok', job: 'D2' });
    assert.ok(rows.every((x) => x.agent === e.id && x.attempt === 1), `rows: ${JSON.stringify(rows.map((x) => [x.task, x.agent, x.attempt]))}`);
    noLoss('D2');
    await stopAgent(e.proc);
  });

  it('a second SIGTERM aborts the running task at once and hands it back, exit 0', async (t) => {
    const f = await startAgent(suite.nats.url, run.ns, ['--workers', '1', '--grace', '600'], { t });
    await submit('D3', ['--tasks', '2', '--sleep', '--ms', '4000', '--granularity', '1']);
    await until('F running a task of D3', async () => (await run.ctl.agent(f.id))?.busy === 1, 10_000);
    f.proc.kill('SIGTERM');
    await f.proc.waitForLog('draining');
    f.proc.kill('SIGTERM');
    await f.proc.waitForLog('drain again: aborting running tasks now');
    await exitsZero(f.proc); // long before its 600 s of grace
    assert.equal(executions(f.proc), 0, 'F finished no task');

    const g = await startAgent(suite.nats.url, run.ns, ['--workers', '2'], { t });
    const final = await run.ctl.waitEnd('D3');
    assert.equal(final.state, 'done', JSON.stringify(final));
    const rows = readRows(join(run.out, 'D3.jsonl'));
    assertOneRowPerTask(rows, spinIds(2), { status: 'ok', job: 'D3' });
    assert.ok(rows.every((x) => x.agent === g.id && x.attempt === 1), `rows: ${JSON.stringify(rows.map((x) => [x.task, x.agent, x.attempt]))}`);
    noLoss('D3');
    assert.equal(logsOf(f.proc, 'agent stopped').length, 1);
    await stopAgent(g.proc);
  });
});
