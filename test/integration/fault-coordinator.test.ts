/**
 * Coordinator crash: SIGKILL the coordinator (and the sink in its process) mid-job, start it
 * again with the same --out-dir. It finds the job in its registry, rebuilds the done set from
 * the JSONL, the agents introduce themselves again (with the tasks they still hold), and the
 * job ends with one row per task. Tasks run twice are at most those in flight at the kill.
 * Restarted once more after the job ended, `status K1` still tells how it ended.
 *
 * How "in flight at the kill" is measured exactly: the agents are frozen (SIGSTOP) a moment
 * before the kill, so the coordinator's lease count read then cannot change before it dies;
 * they are thawed (SIGCONT) right after. Executions are the agents' own counts of tasks run
 * to a result, logged when they stop.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { assertOneRowPerTask, readRows, spinIds } from '../helpers/rows.js';
import { runShoal, connArgs, startAgent, startCoordinator, type Agent } from '../helpers/shoal.js';
import { uniqueNs } from '../helpers/nats.js';
import { natsSuite } from '../helpers/suite.js';
import { killHard, logsOf, rowsSoFar, stopAgent } from '../helpers/faults.js';
import { RawAgent } from '../helpers/raw-agent.js';
import { connectNats } from '../../src/bus/index.js';
import { decode, PROTOCOL_VERSION, subjects } from '../../protocol/index.js';
import { until, within } from '../helpers/wait.js';

const suite = natsSuite('shoal-fault-coord-');

describe('coordinator crash', () => {
  it('SIGKILL mid-job and restart on the same --out-dir: the job resumes from the JSONL and ends with one row per task', async (t) => {
    const { ns, out, coord: first, agents, ctl } = await suite.coordinator('coord');
    const [a, b] = (await agents(2, ['--workers', '1'])) as [Agent, Agent];

    const tasks = 600;
    const sub = await runShoal(['submit', 'spin', '--tasks', String(tasks), '--sleep', '--ms', '20', '--no-speculate', ...connArgs(suite.nats.url, ns), '--job', 'K1']);
    assert.equal(sub.code, 0, sub.describe());
    const file = join(out, 'K1.jsonl');
    await until('progress before the crash', () => rowsSoFar(file).length >= 100, 30_000);

    // Freeze the agents, let what is on the wire land (the coordinator's figures stop moving:
    // two reads in a row agree), read the leases, kill, thaw.
    for (const p of [a.proc, b.proc]) process.kill(p.pid, 'SIGSTOP');
    let inFlight: number;
    try {
      let seen = '';
      const atKill = await until('the frozen agents\' last messages to land', async () => {
        const j = await ctl.job('K1');
        const figures = JSON.stringify([j.done, j.running, j.queued]);
        const steady = figures === seen;
        seen = figures;
        return steady ? j : null;
      }, 20_000);
      assert.equal(atKill.state, 'running', `precondition: K1 still running (${atKill.done}/${atKill.total})`);
      inFlight = atKill.running;
      await killHard(first);
    } finally {
      for (const p of [a.proc, b.proc]) process.kill(p.pid, 'SIGCONT');
    }
    const committedAtKill = new Set(rowsSoFar(file).map((r) => r.task)).size;
    assert.ok(committedAtKill < tasks, 'precondition: tasks were left at the kill');

    // The agents notice (their pulls fail) and keep their results while nobody answers.
    await until('agent A noticing', () => logsOf(a.proc, 'pull failed; retrying').length > 0, 20_000);
    const second = await startCoordinator(suite.nats.url, ns, out);
    await second.waitForLog((l) => l.msg === 'resuming job after restart' && l.job === 'K1');
    const resumed = await second.waitForLog((l) => l.msg === 'job submitted' && l.job === 'K1');
    // Agents resend the results they hold as soon as the new sink opens the output, so a few may
    // be written before the done set is read: at least what the JSONL held at the kill, at most
    // what it holds now.
    const counted = Number(resumed.alreadyDone);
    const now = new Set(rowsSoFar(file).map((r) => r.task)).size;
    assert.ok(counted >= committedAtKill && counted <= now, `the done set (${counted}) lies between the JSONL at the kill (${committedAtKill}) and now (${now})`);
    for (const ag of [a, b]) {
      await second.waitForLog((l) => l.msg === 'agent joined' && l.agent === ag.id);
      await ag.proc.waitForLog('the coordinator asks this agent to join again');
    }

    const final = await ctl.waitEnd('K1');
    assert.equal(final.state, 'done', JSON.stringify(final));
    assert.equal(final.done, tasks);
    assert.equal(final.failed, 0);
    assertOneRowPerTask(readRows(file), spinIds(tasks), { status: 'ok', job: 'K1' });
    for (const ag of [a, b]) assert.equal(logsOf(ag.proc, 'joined the coordinator').length, 2, ag.proc.describe());

    const ran = (await stopAgent(a.proc)) + (await stopAgent(b.proc));
    const rerun = ran - tasks;
    t.diagnostic(`${inFlight} tasks in flight at the kill, ${committedAtKill} committed, ${rerun} run twice`);
    assert.ok(rerun >= 0, `the agents ran ${ran} tasks for ${tasks} rows`);
    assert.ok(rerun <= inFlight, `${rerun} tasks ran twice, more than the ${inFlight} in flight at the kill`);
    assert.ok(second.alive, second.describe());

    // Once more after it ended: `status K1` still says how it ended, from its record and summary.
    await killHard(second);
    await startCoordinator(suite.nats.url, ns, out, [], { t });
    const earlier = await ctl.job('K1');
    assert.deepEqual([earlier.state, earlier.total, earlier.done, earlier.failed, earlier.running], ['done', tasks, tasks, 0, 0], JSON.stringify(earlier));
    assert.match(earlier.notes.join('\n'), /ended before the coordinator restarted/);
  });

  it('a coordinator that hears a heartbeat from an agent it does not know tells it to join again; a real agent joins the restarted one', async (t) => {
    const ns = uniqueNs('coord-idle');
    const out = join(suite.dir, 'out-idle');
    const first = await startCoordinator(suite.nats.url, ns, out);
    // A raw agent this coordinator never met: its heartbeat is answered on its command subject.
    const bus = await connectNats({ url: suite.nats.url, name: 'shoal-test stranger' });
    t.after(() => bus.close());
    const subj = subjects(ns);
    const stranger = new RawAgent(bus, subj, 'stranger-agent');
    const cmds = bus.subscribe(subj.agentCmd(stranger.id));
    await bus.flush();
    stranger.heartbeat();
    const told = await within(
      (async () => {
        for await (const m of cmds) {
          const d = decode('AgentCmd', m.data);
          if (d.ok) return d.msg;
        }
        return null;
      })(),
      20_000,
    );
    assert.equal(told?.kind, 'rejoin', JSON.stringify(told));
    assert.match(told?.kind === 'rejoin' ? told.reason : '', /does not know the agent/);

    // A real agent: it joins the coordinator started after the first was killed, by that
    // command or by its next pull, whichever comes first.
    const agent = await startAgent(suite.nats.url, ns, ['--workers', '1'], { t });
    await first.waitForLog((l) => l.msg === 'agent joined' && l.agent === agent.id);
    await killHard(first);
    const second = await startCoordinator(suite.nats.url, ns, out, [], { t });
    await second.waitForLog((l) => l.msg === 'agent joined' && l.agent === agent.id);
    await until('the agent welcomed by the new coordinator', () => logsOf(agent.proc, 'joined the coordinator').length === 2);
  });

  it('after a restart, results from an agent that has not said hello yet wait for its hello, then are written', async (t) => {
    // An out dir of its own: the coordinator of the test before still holds its own.
    const ns = uniqueNs('coord-early');
    const out = join(suite.dir, 'out-early');
    const first = await startCoordinator(suite.nats.url, ns, out);
    const ctl = await suite.control(ns);
    const sub = await runShoal(['submit', 'spin', '--tasks', '20', '--ms', '0', '--no-speculate', ...connArgs(suite.nats.url, ns), '--job', 'K2']);
    assert.equal(sub.code, 0, sub.describe());
    const bus = await connectNats({ url: suite.nats.url, name: 'shoal-test early sender' });
    t.after(() => bus.close());
    const agent = new RawAgent(bus, subjects(ns), 'early-agent');
    assert.equal((await agent.hello()).kind, 'welcome');
    const ids = (await agent.pull(1, { freeSlots: 1 })).map((x) => x.id);
    assert.ok(ids.length > 0);
    await killHard(first);

    const second = await startCoordinator(suite.nats.url, ns, out, [], { t });
    await second.waitForLog((l) => l.msg === 'job submitted' && l.job === 'K2');
    // Its results arrive before its hello (its pull to the old coordinator had not timed out):
    // they are not refused (the agent would drop them while its hello lists them as held).
    const early = await agent.send([agent.rows('K2', ids)]);
    assert.equal(early.kind, 'error', JSON.stringify(early));
    assert.match(early.kind === 'error' ? early.message : '', /not open in the sink yet/);
    // Its hello lists them; the coordinator adopts them; the same batch is written.
    assert.equal((await agent.hello(ids.map((id) => ['K2', id, 1]))).kind, 'welcome');
    assert.deepEqual(await agent.send([agent.rows('K2', ids)]), { kind: 'ack', v: PROTOCOL_VERSION, seq: 2, written: ids.length, duplicates: 0, refused: 0 });
    await until(`${ids.length} of K2 committed`, async () => (await ctl.job('K2')).done === ids.length);
    const st = await ctl.job('K2');
    assert.equal(st.running, 0, 'nothing stays leased to the agent');
    assert.deepEqual(rowsSoFar(join(out, 'K2.jsonl')).map((r) => r.task).sort(), [...ids].sort());
  });
});
