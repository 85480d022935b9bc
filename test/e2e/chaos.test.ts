/**
 * Chaos run: one job through an agent SIGKILL, a 5 s broker outage and a coordinator SIGKILL
 * and restart, one after the other while it runs, every fault real. At the end the output has
 * exactly one ok row per task, and a table says for each fault how far the job was, how many
 * tasks it touched, whether committed rows were lost or doubled, and how long it took until
 * results were committed again.
 *
 *   fault                at         touched  lost  duplicated  recovered after
 *   agent SIGKILL        478/3000   8        0     0           3.3 s
 *   broker down 5 s      1075/3000  16       0     0           5.6 s
 *   coordinator SIGKILL  1827/3000  16       0     0           0.7 s
 *   end of the job       3000/3000  8        0     0           -
 *
 * touched: leases requeued (agent loss; broker outage longer than --agent-timeout), tasks in
 * flight (coordinator crash), rows of attempt > 1 (end: a requeued task adopted back by its
 * agent after the outage keeps the attempt it ran with). Recovery is measured from the fault
 * to the first result committed after it (for the agent: the first requeued task).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { uniqueNs } from '../helpers/nats.js';
import { assertOneRowPerTask, readRows, spinIds, type Row } from '../helpers/rows.js';
import { runShoal, type ShoalProcess, connArgs, startAgent, startCoordinator } from '../helpers/shoal.js';
import { natsSuite } from '../helpers/suite.js';
import { killHard, logsOf, lostAndDuplicated, rowsSoFar, stopAgent } from '../helpers/faults.js';
import { sleep, until } from '../helpers/wait.js';

const suite = natsSuite('shoal-chaos-');

interface FaultRow {
  fault: string;
  at: string;
  touched: number;
  lost: number;
  duplicated: number;
  recoverS: number;
}

function table(rows: FaultRow[]): string[] {
  const head = ['fault', 'at', 'touched', 'lost', 'duplicated', 'recovered after'];
  const body = rows.map((r) => [r.fault, r.at, String(r.touched), String(r.lost), String(r.duplicated), Number.isNaN(r.recoverS) ? '-' : `${r.recoverS.toFixed(1)} s`]);
  const width = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  return [head, ...body].map((cols) => cols.map((c, i) => c.padEnd(width[i]!)).join('  ').trimEnd());
}

describe('chaos', () => {
  it('one job through agent loss, broker restart and coordinator restart: one row per task, nothing lost, nothing doubled', async (t) => {
    const ns = uniqueNs('chaos');
    const out = join(suite.dir, 'out');
    const tasks = 3000;
    const ids = spinIds(tasks);
    const file = join(out, 'X1.jsonl');
    let coord: ShoalProcess = await startCoordinator(suite.nats.url, ns, out, ['--agent-timeout', '3']);
    const a = await startAgent(suite.nats.url, ns, ['--workers', '1']);
    const b = await startAgent(suite.nats.url, ns, ['--workers', '1']);
    const c = await startAgent(suite.nats.url, ns, ['--workers', '1']);
    const ctl = await suite.control(ns);
    const started = Date.now();
    const sub = await runShoal(['submit', 'spin', '--tasks', String(tasks), '--sleep', '--ms', '10', '--no-speculate', ...connArgs(suite.nats.url, ns), '--job', 'X1']);
    assert.equal(sub.code, 0, sub.describe());

    const report: FaultRow[] = [];
    /** Committed rows before a fault must all still be there after it, once each. */
    const damage = (before: Row[]): { lost: number; duplicated: number } => {
      const now = rowsSoFar(file);
      const { lost, duplicated } = lostAndDuplicated(now, new Set(before.map((r) => r.task)));
      return { lost: lost.length, duplicated: duplicated.length };
    };
    const reach = async (share: number): Promise<Row[]> => {
      await until(`${share * 100}% of the rows`, () => rowsSoFar(file).length >= share * tasks, 60_000, 200);
      const rows = rowsSoFar(file);
      assert.ok(rows.length < tasks, 'precondition: the job is still running at the fault');
      return rows;
    };
    const grows = (n: number): Promise<unknown> => until('new rows', () => rowsSoFar(file).length > n, 60_000, 50);

    // 1. An agent dies (SIGKILL): its leases come back after --agent-timeout.
    let before = await reach(0.15);
    const killedAt = Date.now();
    await killHard(c.proc);
    const lost = await coord.waitForLog((l) => l.msg === 'agent lost; its tasks requeued' && l.agent === c.id, 20_000);
    await until('a requeued task committed', () => rowsSoFar(file).some((r) => r.attempt === 2), 30_000, 50);
    report.push({ fault: 'agent SIGKILL', at: `${before.length}/${tasks}`, touched: lost.requeued as number, ...damage(before), recoverS: (Date.now() - killedAt) / 1000 });

    // 2. The broker goes away for 5 s and comes back on the same port.
    before = await reach(0.35);
    const stoppedAt = Date.now();
    const linesBefore = coord.logs.length;
    await suite.nats.stop();
    await sleep(5000); // the fault itself: the broker stays down for 5 s
    await suite.nats.restart();
    const n = rowsSoFar(file).length;
    await grows(n);
    // Silent for longer than --agent-timeout, the agents were lost: their leases were requeued.
    const requeued = coord.logs.slice(linesBefore).filter((l) => l.msg === 'agent lost; its tasks requeued').reduce((sum, l) => sum + (l.requeued as number), 0);
    report.push({ fault: 'broker down 5 s', at: `${before.length}/${tasks}`, touched: requeued, ...damage(before), recoverS: (Date.now() - stoppedAt) / 1000 });

    // 3. The coordinator (and the sink in its process) is SIGKILLed and started again.
    before = await reach(0.6);
    const atKill = await ctl.job('X1');
    const crashedAt = Date.now();
    await killHard(coord);
    // Nothing writes the output while no sink runs: this is what the restart must find.
    const atCrash = new Set(rowsSoFar(file).map((r) => r.task)).size;
    coord = await startCoordinator(suite.nats.url, ns, out, ['--agent-timeout', '3']);
    const resumed = await coord.waitForLog((l) => l.msg === 'job submitted' && l.job === 'X1');
    const m = rowsSoFar(file).length;
    await grows(m);
    report.push({ fault: 'coordinator SIGKILL', at: `${before.length}/${tasks}`, touched: atKill.running, ...damage(before), recoverS: (Date.now() - crashedAt) / 1000 });
    // The agents resend held results as soon as the new sink opens the output, so the count
    // may include a few of those: at least what the file held at the crash, at most what it
    // held when the resume was logged.
    const atResume = new Set(rowsSoFar(file).slice(0, m).map((r) => r.task)).size;
    const counted = Number(resumed.alreadyDone);
    assert.ok(
      counted >= atCrash && counted <= atResume,
      `the restarted coordinator counted ${counted} done tasks; the JSONL held ${atCrash} at the crash and ${atResume} at the resume`,
    );

    const final = await ctl.waitEnd('X1', 120_000);
    const rows = readRows(file);
    const end = lostAndDuplicated(rows, ids);
    report.push({ fault: 'end of the job', at: `${new Set(rows.map((r) => r.task)).size}/${tasks}`, touched: rows.filter((r) => r.attempt > 1).length, lost: end.lost.length, duplicated: end.duplicated.length, recoverS: Number.NaN });
    for (const line of table(report)) t.diagnostic(line);
    t.diagnostic(`job X1: ${tasks} tasks in ${((Date.now() - started) / 1000).toFixed(1)} s ('touched' at the end: rows of attempt > 1)`);

    assert.equal(final.state, 'done', JSON.stringify(final));
    assert.equal(final.done, tasks);
    assertOneRowPerTask(rows, ids, { status: 'ok', job: 'X1' });
    for (const r of report) assert.deepEqual([r.fault, r.lost, r.duplicated], [r.fault, 0, 0]);
    for (const [p, who] of [
      [coord, 'the coordinator'],
      [a.proc, 'agent A'],
      [b.proc, 'agent B'],
    ] as Array<[ShoalProcess, string]>) assert.ok(p.alive, `${who} died:\n${p.describe()}`);
    for (const ag of [a, b]) assert.ok(logsOf(ag.proc, 'joined the coordinator').length >= 2, `agent ${ag.id} joined again after the restarts`);
    const ran = (await stopAgent(a.proc)) + (await stopAgent(b.proc));
    assert.ok(ran >= tasks - rows.filter((r) => r.agent === c.id).length, `A and B ran ${ran} tasks`);
  });
});
