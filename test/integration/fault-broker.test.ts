/**
 * Broker restart: nats-server stops for 5 s mid-job and starts again on the same port.
 * Every actor reconnects by itself and says so once per change of state; with an agent
 * timeout shorter than the outage the agents were declared lost, so they introduce
 * themselves again; outboxes resend what the sink had not acknowledged; the job ends with
 * nothing lost and nothing doubled.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { assertOneRowPerTask, readRows, spinIds } from '../helpers/rows.js';
import { runShoal, type ShoalProcess, connArgs, type Agent } from '../helpers/shoal.js';
import { natsSuite } from '../helpers/suite.js';
import { logsOf, rowsSoFar, stopAgent } from '../helpers/faults.js';
import { sleep, until } from '../helpers/wait.js';

const suite = natsSuite('shoal-fault-broker-');

/** The process logged the loss of its connection once, and its return once, in that order. */
function reconnectedOnce(p: ShoalProcess, who: string): void {
  const lost = logsOf(p, 'lost the NATS connection; reconnecting');
  const back = logsOf(p, 'NATS connection back');
  assert.equal(lost.length, 1, `${who} logged the loss ${lost.length} times:\n${p.describe()}`);
  assert.equal(back.length, 1, `${who} logged the return ${back.length} times:\n${p.describe()}`);
  assert.ok(p.logs.indexOf(lost[0]!) < p.logs.indexOf(back[0]!), `${who} logged the return before the loss`);
}

describe('broker restart', () => {
  it('nats-server down for 5 s mid-job: every actor reconnects, agents rejoin, outboxes resend, one row per task', async () => {
    const { ns, out, coord, agents } = await suite.coordinator('broker', ['--agent-timeout', '3']);
    const [a, b] = (await agents(2, ['--workers', '1'])) as [Agent, Agent];

    const tasks = 500;
    const sub = await runShoal(['submit', 'spin', '--tasks', String(tasks), '--sleep', '--ms', '25', '--no-speculate', ...connArgs(suite.nats.url, ns), '--job', 'B1']);
    assert.equal(sub.code, 0, sub.describe());
    const file = join(out, 'B1.jsonl');
    await until('progress before the outage', () => rowsSoFar(file).length >= 60, 30_000);

    const pidBefore = suite.nats.pid;
    await suite.nats.stop();
    const atStop = rowsSoFar(file).length;
    await sleep(5000); // the fault itself: the broker stays down for 5 s
    await suite.nats.restart();
    assert.notEqual(suite.nats.pid, pidBefore, 'a new nats-server process');
    assert.ok(atStop < tasks, `precondition: the job was still running when the broker stopped (${atStop} rows)`);

    const ctl = await suite.control(ns);
    const final = await ctl.waitEnd('B1');
    assert.equal(final.state, 'done', JSON.stringify(final));
    assert.equal(final.done, tasks);
    assert.equal(final.failed, 0);
    assertOneRowPerTask(readRows(file), spinIds(tasks), { status: 'ok', job: 'B1' });

    for (const [p, who] of [
      [coord, 'the coordinator'],
      [a.proc, 'agent A'],
      [b.proc, 'agent B'],
    ] as const) {
      assert.ok(p.alive, `${who} died:\n${p.describe()}`);
      reconnectedOnce(p, who);
    }
    // Silent for longer than --agent-timeout: lost, then back through a new hello.
    for (const [ag, who] of [
      [a, 'A'],
      [b, 'B'],
    ] as const) {
      assert.equal(logsOf(coord, 'agent lost; its tasks requeued', (l) => l.agent === ag.id).length, 1, `agent ${who} lost once:\n${coord.describe()}`);
      assert.equal(logsOf(ag.proc, 'joined the coordinator').length, 2, `agent ${who} joined again after the outage:\n${ag.proc.describe()}`);
    }
    const ran = (await stopAgent(a.proc)) + (await stopAgent(b.proc));
    assert.ok(ran >= tasks, `the agents ran ${ran} tasks for ${tasks} rows`);
  });
});
