/**
 * A paused coordinator (SIGSTOP: a hung node, heavy swapping, a debugger) does not punish
 * the agents it could not hear meanwhile: stopped for three times --agent-timeout, it wakes
 * up, gives every agent the time back, and declares nobody lost; no task runs twice.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { join } from 'node:path';
import { uniqueNs } from '../helpers/nats.js';
import { assertOneRowPerTask, readRows, spinIds } from '../helpers/rows.js';
import { runShoal, connArgs, startAgent, startCoordinator } from '../helpers/shoal.js';
import { natsSuite } from '../helpers/suite.js';
import { logsOf, stopAgent } from '../helpers/faults.js';
import { sleep, until } from '../helpers/wait.js';

const suite = natsSuite('shoal-fault-pause-');

describe('a paused coordinator', () => {
  it('SIGSTOP for 3 × --agent-timeout: no agent declared lost, no task requeued, one row per task', async (t) => {
    const ns = uniqueNs('pause');
    const out = join(suite.dir, 'out');
    const timeoutS = 2;
    const coord = await startCoordinator(suite.nats.url, ns, out, ['--agent-timeout', String(timeoutS)]);
    const ctl = await suite.control(ns);
    const a = await startAgent(suite.nats.url, ns, ['--workers', '1']);
    const b = await startAgent(suite.nats.url, ns, ['--workers', '1']);
    const tasks = 3000;
    const sub = await runShoal(['submit', 'spin', '--tasks', String(tasks), '--sleep', '--ms', '3', '--no-speculate', ...connArgs(suite.nats.url, ns), '--job', 'P1']);
    assert.equal(sub.code, 0, sub.describe());
    await until('P1 under way', async () => (await ctl.job('P1')).done >= 300);

    // The fault itself lasts a fixed time: three agent timeouts of silence from the coordinator's side.
    coord.kill('SIGSTOP');
    await sleep(3 * timeoutS * 1000);
    coord.kill('SIGCONT');

    const final = await ctl.waitEnd('P1');
    assert.equal(final.state, 'done');
    assert.deepEqual(logsOf(coord, 'agent lost; its tasks requeued'), [], coord.describe());
    assert.equal(final.retried, 0, `no task was requeued\n${coord.describe()}\n${a.proc.describe()}\n${b.proc.describe()}`);
    const paused = logsOf(coord, 'the coordinator was paused or blocked; agents get the time back before anyone is judged lost');
    assert.equal(paused.length, 1, coord.describe());
    t.diagnostic(`the coordinator noticed a gap of ${String(paused[0]!.gapMs)} ms`);
    for (const x of [a, b]) assert.equal(logsOf(x.proc, 'joined the coordinator').length, 1, `agent ${x.id} had to join again`);
    assertOneRowPerTask(readRows(join(out, 'P1.jsonl')), spinIds(tasks), { status: 'ok', job: 'P1' });
    assert.equal((await stopAgent(a.proc)) + (await stopAgent(b.proc)), tasks, 'no task ran twice');
  });
});
