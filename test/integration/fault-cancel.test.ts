/**
 * Cancel (DESIGN §5): `shoal cancel JOB` stops dispatch at once, aborts the job's running
 * tasks on every agent (AbortSignal and the shared flags into piscina), drops the bundles
 * agents had prefetched, and marks the job cancelled; `submit --wait` exits 3; rows already
 * written stay; other jobs are untouched.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { assertOneRowPerTask, readRows, spinIds } from '../helpers/rows.js';
import { runShoal, spawnShoal, startAgent } from '../helpers/shoal.js';
import { natsSuite, type Run } from '../helpers/suite.js';
import { rowsSoFar, stopAgent } from '../helpers/faults.js';
import { until, within } from '../helpers/wait.js';

let run: Run;
const suite = natsSuite('shoal-fault-cancel-', { setup: async (s) => void (run = await s.coordinator('cancel')) });
const conn = (): string[] => suite.conn(run.ns);

/** `shoal cancel JOB`; returns the time the acknowledgement was in hand. */
async function cancel(job: string): Promise<number> {
  const r = await runShoal(['cancel', job, ...conn()]);
  assert.equal(r.code, 0, r.describe());
  assert.match(r.stdout, new RegExp(`job ${job} cancelled`));
  return Date.now();
}

describe('cancel', () => {
  it('long tasks running on two agents are aborted and their slots freed; submit --wait exits 3; a job alongside completes', async (t) => {
    const a = await startAgent(suite.nats.url, run.ns, ['--workers', '1'], { t });
    const b = await startAgent(suite.nats.url, run.ns, ['--workers', '1'], { t });
    const waiter = spawnShoal(['submit', 'spin', '--tasks', '20', '--ms', '20000', '--no-speculate', ...conn(), '--job', 'C1', '--wait'], { t });
    await until('both agents running C1', async () => {
      const st = await run.ctl.status();
      return [a.id, b.id].every((id) => st.agents.find((x) => x.agent === id)?.busy === 1);
    }, 20_000);
    // A second job, waiting behind C1 (the agents hold C1's bundles and pull nothing more).
    const sub = await runShoal(['submit', 'spin', '--tasks', '40', '--sleep', '--ms', '50', '--no-speculate', ...conn(), '--job', 'C2']);
    assert.equal(sub.code, 0, sub.describe());
    assert.equal((await run.ctl.job('C2')).done, 0, 'precondition: C2 waits behind C1');

    const ack = await cancel('C1');
    for (const ag of [a, b]) await ag.proc.waitForLog((l) => l.msg === 'abort' && l.job === 'C1' && l.tasks === 'all');

    const exit = await within(waiter.exited, 20_000);
    assert.deepEqual(exit, { code: 3, signal: null }, `submit --wait exits 3 for a cancelled job:\n${waiter.describe()}`);
    const c1 = await run.ctl.job('C1');
    assert.equal(c1.state, 'cancelled');
    assert.equal(c1.done, 0);
    const c1File = join(run.out, 'C1.jsonl');
    if (existsSync(c1File)) {
      const late = readRows(c1File).filter((r) => (r.start as number) > ack);
      assert.deepEqual(late, [], 'no task of C1 started after the cancel was acknowledged');
    }

    // The slots C1 held are free: C2 runs to the end on both agents.
    const c2 = await run.ctl.waitEnd('C2');
    assert.equal(c2.state, 'done', JSON.stringify(c2));
    assertOneRowPerTask(readRows(join(run.out, 'C2.jsonl')), spinIds(40), { status: 'ok', job: 'C2' });
    // Had any C1 task (running, or prefetched and not dropped) run on, it would count here.
    const ran = (await stopAgent(a.proc)) + (await stopAgent(b.proc));
    assert.equal(ran, 40, 'the agents ran the 40 tasks of C2 and not one task of C1 to its end');
    assert.ok(run.coord.alive, run.coord.describe());
  });

  it('short tasks: no task of the job starts after the cancel is acknowledged; rows already written stay', async (t) => {
    const a = await startAgent(suite.nats.url, run.ns, ['--workers', '1'], { t });
    const b = await startAgent(suite.nats.url, run.ns, ['--workers', '1'], { t });
    const tasks = 4000;
    const sub = await runShoal(['submit', 'spin', '--tasks', String(tasks), '--sleep', '--ms', '5', '--no-speculate', ...conn(), '--job', 'C3']);
    assert.equal(sub.code, 0, sub.describe());
    const file = join(run.out, 'C3.jsonl');
    await until('rows of C3 from both agents', () => {
      const rows = rowsSoFar(file);
      return rows.length >= 300 && rows.some((r) => r.agent === a.id) && rows.some((r) => r.agent === b.id);
    }, 30_000);

    const ack = await cancel('C3');
    for (const ag of [a, b]) await ag.proc.waitForLog((l) => l.msg === 'abort' && l.job === 'C3');
    const c3 = await run.ctl.job('C3');
    assert.equal(c3.state, 'cancelled');
    assert.ok(c3.done < tasks, `C3 was cancelled before its end (${c3.done}/${tasks})`);
    // Nothing is on its way once both agents have drained and exited: each delivers its outbox first.
    await stopAgent(a.proc);
    await stopAgent(b.proc);

    const rows = readRows(file);
    assert.ok(rows.length >= 300, 'the rows written before the cancel stay');
    assert.deepEqual(
      rows.filter((r) => (r.start as number) > ack).map((r) => `${r.task} started ${(r.start as number) - ack} ms after the ack`),
      [],
      'no task of C3 started after the cancel was acknowledged',
    );
    const count = new Map<string, number>();
    for (const r of rows) count.set(r.task, (count.get(r.task) ?? 0) + 1);
    assert.ok([...count.values()].every((n) => n === 1), 'no task twice');
    // Results that finished before the cancel may still land while the output closes: status
    // counts them, so ask again now that nothing is on its way.
    assert.equal(rows.length, (await run.ctl.job('C3')).done, 'status counts the rows written');
  });
});
