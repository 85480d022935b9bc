/**
 * Network partition (DESIGN §1, §5): an agent on its own "host" (a network namespace behind
 * a veth on the test's bridge) is cut off silently for longer than --agent-timeout. The
 * coordinator declares it lost and leases its tasks again; the agent, unaware, finishes
 * what it held. When the link comes back its late results reach the sink and are dropped as
 * duplicates, it joins again and pulls more work; the output has one row per task.
 *
 * Needs root (CI has it). nats-server listens on the bridge address, the coordinator and a
 * second agent run on the machine itself.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { startNatsServer, type NatsServerHandle } from '../../src/nats-server.js';
import { uniqueNs } from '../helpers/nats.js';
import { createHostNet, netnsUnavailable, type HostNet } from '../helpers/netns.js';
import { cut, heal } from '../helpers/partition.js';
import { assertOneRowPerTask, readRows, spinIds } from '../helpers/rows.js';
import { agentId, connArgs, runShoal, startAgent, startCoordinator, type ShoalProcess } from '../helpers/shoal.js';
import { Control, tempSuite } from '../helpers/suite.js';
import { logsOf, rowsSoFar, spawnWrapped, stopAgent } from '../helpers/faults.js';
import { sleep, until } from '../helpers/wait.js';

let net: HostNet | undefined;
let server: NatsServerHandle | undefined;
let ctl: Control | undefined;

const scratch = tempSuite('shoal-fault-partition-', {
  setup: () => {
    const why = netnsUnavailable();
    if (why) throw new Error(`the partition test needs network namespaces: ${why}`);
  },
  // The agent cut off on p1 is gone by now, with every other shoal process.
  cleanup: async () => {
    await ctl?.close();
    net?.teardown();
    await server?.stop();
  },
});

describe('network partition', () => {
  let url: string;
  let ns: string;
  let out: string;
  let coord: ShoalProcess;

  before(async () => {
    net = createHostNet({ names: ['p1'], dir: scratch.dir });
    server = await startNatsServer({ host: net.gateway });
    const child = server.child;
    process.once('exit', () => child.kill('SIGKILL'));
    url = server.url;
    ns = uniqueNs('partition');
    out = join(scratch.dir, 'out');
    coord = await startCoordinator(url, ns, out, ['--agent-timeout', '2']);
    ctl = await Control.connect(url, ns);
  });

  /**
   * Runs job `job` on agent A (this machine) and agent P (host p1), cuts p1 off for at least
   * `minCutMs` and until A has committed everything p1 held, heals, and checks the outcome.
   */
  async function partition(t: { diagnostic(m: string): void; after(fn: () => unknown): void }, job: string, minCutMs: number): Promise<ShoalProcess> {
    const p1 = net!.host('p1');
    const a = await startAgent(url, ns, ['--workers', '1'], { t });
    const p = spawnWrapped(net!.wrap('p1', []), ['agent', ...connArgs(url, ns), '--workers', '1']);
    const pId = await agentId(p);
    assert.match(pId, /^p1-/, 'the agent runs on host p1');

    const tasks = 1000;
    const sub = await runShoal(['submit', 'spin', '--tasks', String(tasks), '--sleep', '--ms', '30', '--no-speculate', ...connArgs(url, ns), '--job', job]);
    assert.equal(sub.code, 0, sub.describe());
    const file = join(out, `${job}.jsonl`);
    await until('rows from p1', () => rowsSoFar(file).filter((r) => r.agent === pId).length >= 5, 30_000);

    cut(p1);
    const cutAt = Date.now();
    const lost = await coord.waitForLog((l) => l.msg === 'agent lost; its tasks requeued' && l.agent === pId, 20_000);
    const requeued = lost.requeued as number;
    assert.ok(requeued > 0, `p1 held no lease when it was cut: ${JSON.stringify(lost)}`);
    // Stay cut until A has committed every requeued task: whatever p1 sends later is a duplicate.
    await until('A to commit the requeued tasks', () => rowsSoFar(file).filter((r) => r.attempt === 2).length === requeued, 30_000);
    await sleep(minCutMs - (Date.now() - cutAt)); // the fault itself: the cut lasts at least minCutMs
    const mid = await ctl!.job(job);
    assert.equal(mid.state, 'running', `precondition: work is left for p1 after the heal (${mid.done}/${mid.total})`);
    heal(p1);
    const healedAt = Date.now();

    const rejoined = await p.waitForLog((l) => l.msg === 'joined the coordinator' && logsOf(p, 'joined the coordinator').length === 2, 30_000);
    t.diagnostic(`cut for ${healedAt - cutAt} ms; p1 lost after ${String(lost.silentMs)} ms of silence with ${requeued} leases; back ${Date.parse(String(rejoined.time)) - healedAt} ms after the heal`);

    const final = await ctl!.waitEnd(job);
    assert.equal(final.state, 'done', JSON.stringify(final));
    const rows = readRows(file);
    assertOneRowPerTask(rows, spinIds(tasks), { status: 'ok', job });

    // The requeued tasks ran on A, at attempt 2; p1's own copies of them were dropped.
    const second = rows.filter((r) => r.attempt === 2);
    assert.equal(second.length, requeued);
    assert.ok(second.every((r) => r.agent === a.id), 'the requeued tasks ran on A');
    const byP = rows.filter((r) => r.agent === pId);
    assert.ok(byP.some((r) => (r.start as number) > healedAt), 'p1 ran new tasks after the heal');
    const ranByP = await stopAgent(p);
    const dropped = ranByP - byP.length;
    t.diagnostic(`p1 ran ${ranByP} tasks, ${byP.length} rows are its own: ${dropped} late results dropped as duplicates`);
    assert.ok(dropped >= 1 && dropped <= requeued, `p1's late results dropped: ${dropped} (requeued ${requeued})`);
    await stopAgent(a.proc);
    assert.ok(coord.alive, coord.describe());
    return p;
  }

  it('cut for 4 s, shorter than the NATS client notices: requeued, late results dropped, it rejoins and pulls again', async (t) => {
    const p = await partition(t, 'N1', 4000);
    assert.deepEqual(logsOf(p, 'lost the NATS connection; reconnecting'), [], 'the TCP connection survived the short cut');
  });

  it('cut for 14 s, long enough for the NATS client to drop the connection: it reconnects, rejoins and pulls again', async (t) => {
    const p = await partition(t, 'N2', 14_000);
    assert.equal(logsOf(p, 'lost the NATS connection; reconnecting').length, 1, p.describe());
    assert.equal(logsOf(p, 'NATS connection back').length, 1, p.describe());
  });
});
