/**
 * Agent loss (DESIGN §5, leases): an agent SIGKILLed mid-job goes silent; after
 * --agent-timeout the coordinator declares it lost and leases its tasks again (attempt + 1),
 * and the job ends with exactly one row per task.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { assertOneRowPerTask, readRows, spinIds } from '../helpers/rows.js';
import { runShoal, connArgs, type Agent } from '../helpers/shoal.js';
import { natsSuite } from '../helpers/suite.js';
import { killHard, logsOf, rowsSoFar, stopAgent } from '../helpers/faults.js';
import { until } from '../helpers/wait.js';

const suite = natsSuite('shoal-fault-loss-');

describe('agent loss', () => {
  it('an agent SIGKILLed mid-job: its leases are requeued after --agent-timeout and the job ends with one row per task', async () => {
    const { ns, out, coord, agents, ctl } = await suite.coordinator('loss', ['--agent-timeout', '2']);
    const [a, b] = (await agents(2, ['--workers', '1'])) as [Agent, Agent];

    const tasks = 300;
    const sub = await runShoal(['submit', 'spin', '--tasks', String(tasks), '--sleep', '--ms', '30', '--no-speculate', ...connArgs(suite.nats.url, ns), '--job', 'L1']);
    assert.equal(sub.code, 0, sub.describe());

    // Kill B once it has results in the output and so surely holds leases of a running job.
    const file = join(out, 'L1.jsonl');
    await until('rows from agent B', () => rowsSoFar(file).filter((r) => r.agent === b.id).length >= 5, 30_000);
    const before = await ctl.job('L1');
    assert.equal(before.state, 'running', `precondition: L1 still running at the kill (${before.done}/${before.total})`);
    await killHard(b.proc);

    const lost = await coord.waitForLog((l) => l.msg === 'agent lost; its tasks requeued' && l.agent === b.id, 30_000);
    assert.ok((lost.silentMs as number) >= 2000, `declared lost after ${String(lost.silentMs)} ms of silence, before --agent-timeout 2 s`);
    const requeued = lost.requeued as number;
    assert.ok(requeued > 0, `agent B held no lease when it was killed: ${JSON.stringify(lost)}`);

    const final = await ctl.waitEnd('L1');
    assert.equal(final.state, 'done', JSON.stringify(final));
    assert.equal(final.done, tasks);
    assert.equal(final.failed, 0);

    const rows = readRows(file);
    assertOneRowPerTask(rows, spinIds(tasks), { status: 'ok', job: 'L1' });
    // Exactly the requeued tasks ran again, on A, at attempt 2 (a loss costs an attempt).
    const second = rows.filter((r) => r.attempt === 2);
    assert.equal(second.length, requeued, `rows at attempt 2: ${second.map((r) => r.task).join(', ')}`);
    assert.ok(second.every((r) => r.agent === a.id), `requeued tasks ran on ${[...new Set(second.map((r) => r.agent))].join(', ')}`);
    assert.ok(rows.every((r) => r.attempt <= 2));
    assert.equal(logsOf(coord, 'agent lost; its tasks requeued', (l) => l.agent === a.id).length, 0, 'agent A was never lost');

    assert.equal(await stopAgent(a.proc), tasks - rows.filter((r) => r.agent === b.id).length, 'A ran every task that has no row of B, once');
    assert.ok(coord.alive, coord.describe());
  });
});
