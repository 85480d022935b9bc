/**
 * One owner per output and per namespace, for real: a second coordinator on the same
 * namespace or out dir, and a second `shoal run` on the same --out, refuse to start (exit 2)
 * with one line naming the first, whose output stays exactly once; a coordinator SIGKILLed
 * on this host is taken over at once by the next; an agent that hears two coordinators
 * answer stops and says so instead of re-joining in a loop.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { connectNats } from '../../src/bus/index.js';
import { decode, encode, PROTOCOL_VERSION, subjects } from '../../protocol/index.js';
import { uniqueNs } from '../helpers/nats.js';
import { assertOneRowPerTask, readRows, spinIds } from '../helpers/rows.js';
import { runShoal, spawnShoal, connArgs, startAgent, startCoordinator } from '../helpers/shoal.js';
import { natsSuite } from '../helpers/suite.js';
import { killHard, logsOf, rowsSoFar, stopAgent } from '../helpers/faults.js';
import { until } from '../helpers/wait.js';

const suite = natsSuite('shoal-fault-owner-');

/** The one line a refused second process prints: names the first one's pid and its start time. */
function assertNamesOwner(stderr: string, pid: number): void {
  const line = stderr.split('\n').find((l) => l.startsWith('shoal: '));
  assert.ok(line, `no 'shoal: ...' line in:\n${stderr}`);
  assert.match(line, new RegExp(`\\bpid ${pid}\\b`));
  assert.match(line, /since \d{4}-\d\d-\d\dT/);
}

/** A coordinator on a new namespace with its out dir `dir`, one agent, and spin job `job` a hundred rows in. */
async function jobUnderWay(dir: string, job: string, tasks: number, ms: number) {
  const ns = uniqueNs(dir);
  const out = join(suite.dir, dir);
  const first = await startCoordinator(suite.nats.url, ns, out);
  const ctl = await suite.control(ns);
  const agent = await startAgent(suite.nats.url, ns, ['--workers', '1']);
  const sub = await runShoal(['submit', 'spin', '--tasks', String(tasks), '--sleep', '--ms', String(ms), ...connArgs(suite.nats.url, ns), '--job', job]);
  assert.equal(sub.code, 0, sub.describe());
  await until(`rows of ${job}`, () => rowsSoFar(join(out, `${job}.jsonl`)).length >= 100);
  return { ns, out, first, ctl, agent };
}

describe('one owner', () => {
  it('a second coordinator on the same namespace and out dir exits 2 naming the first; the first job stays exactly once', async () => {
    const { ns, out, first, ctl, agent } = await jobUnderWay('same', 'O1', 2000, 1);

    for (const [what, o, n] of [
      ['same namespace and out dir', out, ns],
      ['same namespace, another out dir', join(suite.dir, 'other'), ns],
      ['same out dir, another namespace', out, uniqueNs('owner2')],
    ] as const) {
      const second = await runShoal(['coordinator', ...connArgs(suite.nats.url, n), '--out-dir', o], { timeoutMs: 30_000 });
      assert.equal(second.code, 2, `${what}: ${second.describe()}`);
      assertNamesOwner(second.stderr, first.pid);
    }
    const final = await ctl.waitEnd('O1');
    assert.equal(final.state, 'done');
    assertOneRowPerTask(readRows(join(out, 'O1.jsonl')), spinIds(2000), { status: 'ok', job: 'O1' });
    assert.ok(logsOf(first, 'another coordinator tried to start on this namespace; it was refused').length >= 1, first.describe());
    await stopAgent(agent.proc);
  });

  it('a coordinator SIGKILLed on this host is taken over at once by the next one, which resumes its job exactly once', async () => {
    const { ns, out, first, ctl, agent } = await jobUnderWay('takeover', 'O2', 1500, 2);
    await killHard(first);
    // No waiting for the lease: its owner is a dead process on this very host.
    await startCoordinator(suite.nats.url, ns, out);
    const final = await ctl.waitEnd('O2');
    assert.equal(final.state, 'done');
    assertOneRowPerTask(readRows(join(out, 'O2.jsonl')), spinIds(1500), { status: 'ok', job: 'O2' });
    await stopAgent(agent.proc);
  });

  it('a second shoal run on the same --out exits 2 naming the first; the first completes exactly once', async () => {
    const file = join(suite.dir, 'runs', 'R1.jsonl');
    const cmd = ['run', 'spin', '--tasks', '3000', '--sleep', '--ms', '2', '--workers', '1', '--job', 'R1', '--out', file];
    const first = spawnShoal(cmd);
    await until('rows of R1', () => rowsSoFar(file).length >= 50);
    const second = await runShoal(cmd, { timeoutMs: 30_000 });
    assert.equal(second.code, 2, second.describe());
    assertNamesOwner(second.stderr, first.pid);
    assert.deepEqual(await first.exited, { code: 0, signal: null }, first.describe());
    assertOneRowPerTask(readRows(file), spinIds(3000), { status: 'ok', job: 'R1' });
  });

  it('an agent that hears two coordinators answer stops (exit 2) and names both, instead of re-joining in a loop', async () => {
    const ns = uniqueNs('twoheads');
    await startCoordinator(suite.nats.url, ns, join(suite.dir, 'twoheads'));
    // A second "coordinator" that did not claim the namespace (an old version, a partition
    // that healed): it welcomes every agent under its own boot and sends the real one's back.
    const bus = await connectNats({ url: suite.nats.url, name: 'shoal-test second head' });
    const subj = subjects(ns);
    const impostor = { boot: 'ffffffffffff', host: 'elsewhere', pid: 99999, since: Date.now(), outDir: '/elsewhere' };
    const hellos = bus.subscribe(subj.helloAll);
    const pulls = bus.subscribe(subj.pullAll);
    let epoch = 1000;
    void (async () => {
      for await (const m of hellos) {
        const d = decode('Hello', m.data);
        if (d.ok) m.respond(encode({ kind: 'welcome', v: PROTOCOL_VERSION, agent: d.msg.agent, epoch: ++epoch, boot: impostor.boot, heartbeatMs: 2000, seq: 0, coordinator: impostor }));
      }
    })();
    void (async () => {
      for await (const m of pulls) m.respond(encode({ kind: 'rejoin', v: PROTOCOL_VERSION, reason: 'stale epoch' }));
    })();
    try {
      const agent = spawnShoal(['agent', ...connArgs(suite.nats.url, ns), '--workers', '1']);
      const exited = await agent.exited;
      assert.deepEqual(exited, { code: 2, signal: null }, agent.describe());
      const fatal = agent.logs.find((l) => typeof l.msg === 'string' && l.msg.startsWith('two coordinators answer on this namespace'));
      assert.ok(fatal, agent.describe());
      assert.match(String(fatal.msg), /pid 99999 on elsewhere/);
      assert.match(String(fatal.msg), new RegExp(`pid \\d+ on `));
      const joins = logsOf(agent, 'joined the coordinator').length;
      assert.ok(joins < 20, `the agent joined ${joins} times before it stopped`);
    } finally {
      hellos.unsubscribe();
      pulls.unsubscribe();
      await bus.close();
    }
  });
});
