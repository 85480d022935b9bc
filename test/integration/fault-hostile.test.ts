/**
 * A hostile agent with valid credentials (deploy/nats's shipped config, one NATS user per
 * agent from `make-auth.sh --agents 2`) and a raw NATS client, while a real agent runs a
 * job: forged rows for tasks it was never leased, unknown ids and another job's, rows that
 * speak for the real agent, broken rows for the tasks it did lease, hellos in the real
 * agent's name, a pull for 10^9 bundles, and floods of invented agents. None of what it
 * forged reaches the output; the job completes with one row per task; the coordinator's
 * memory comes back.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { connectNats, type NatsBus } from '../../src/bus/index.js';
import { encode, PROTOCOL_VERSION, subjects } from '../../protocol/index.js';
import { startNatsServer, type NatsServerHandle } from '../../src/nats-server.js';
import { repoRoot } from '../helpers/paths.js';
import { uniqueNs } from '../helpers/nats.js';
import { assertOneRowPerTask, readRows, spinIds } from '../helpers/rows.js';
import { runShoal, spawnShoal, type ShoalProcess } from '../helpers/shoal.js';
import { Control, tempSuite } from '../helpers/suite.js';
import { logsOf, memoryOf, stopAgent } from '../helpers/faults.js';
import { until } from '../helpers/wait.js';
import { RawAgent, rawInfo } from '../helpers/raw-agent.js';

const ns = uniqueNs('hostile');
let server: NatsServerHandle;
let bus: NatsBus | undefined;
let ctl: Control | undefined;

function creds(role: string): Record<string, string> {
  const text = readFileSync(join(scratch.dir, 'creds', ns, `${role}.env`), 'utf8');
  return Object.fromEntries(text.trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
}

/** Resident memory of a live process, bytes. */
function rss(pid: number): number {
  const b = memoryOf(pid);
  assert.ok(b > 0, `no VmRSS for ${pid}`);
  return b;
}

const scratch = tempSuite('shoal-hostile-', {
  setup: async ({ dir }) => {
    copyFileSync(join(repoRoot, 'deploy', 'nats', 'shoal.conf'), join(dir, 'shoal.conf'));
    execFileSync('bash', [join(repoRoot, 'deploy', 'nats', 'make-auth.sh'), '-o', dir, '--agents', '2', ns], { stdio: 'pipe' });
    server = await startNatsServer({ host: '127.0.0.1', config: join(dir, 'shoal.conf'), logFile: join(dir, 'nats.log') });
  },
  cleanup: async () => {
    await ctl?.close();
    await bus?.close();
    await server?.stop();
  },
});

describe('a hostile agent with valid credentials', () => {
  it('forges, impersonates and floods while a job runs: nothing forged is written, the job completes exactly once, memory comes back', async (t) => {
    const at = ['--nats', server.url, '--ns', ns];
    const out = join(scratch.dir, 'out');
    const coord: ShoalProcess = spawnShoal(['coordinator', ...at, '--out-dir', out, '--agent-timeout', '3', '--lost-retention', '5'], { env: creds('coordinator') });
    await coord.waitForLog('coordinator ready');
    const real = spawnShoal(['agent', ...at, '--workers', '1'], { env: creds('agent-1') });
    const realId = (await real.waitForLog('joined the coordinator')).agent as string;
    assert.match(realId, new RegExp(`@${ns}-agent-1$`), 'the agent names its principal in its id');
    const operator = creds('operator');
    const tasks = 3000;
    const sub = await runShoal(['submit', 'spin', '--tasks', String(tasks), '--sleep', '--ms', '4', '--no-speculate', ...at, '--job', 'H1'], { env: operator });
    assert.equal(sub.code, 0, sub.describe());

    const hostileCreds = creds('agent-2');
    bus = await connectNats({ url: server.url, name: 'shoal-test hostile', env: hostileCreds });
    ctl = await Control.connect(server.url, ns, operator);
    const subj = subjects(ns);
    const me = new RawAgent(bus, subj, `evil-1@${hostileCreds.SHOAL_NATS_USER}`);
    // The baseline: the coordinator's memory while it serves the job at its normal pace.
    await until('H1 under way', async () => (await ctl!.job('H1')).done >= 400);
    const rss0 = rss(coord.pid);

    // 1. Rows for tasks it was never leased, unknown ids, rows of another job: refused.
    const ids = spinIds(tasks);
    assert.equal((await me.hello()).kind, 'welcome');
    const forged = await me.send([me.rows('H1', ids.slice(0, 500), { value: '"FORGED"' }), me.rows('H1', ['nosuch_1', 'nosuch_2'], { value: '"FORGED"' })]);
    assert.equal(forged.kind, 'ack', JSON.stringify(forged));
    if (forged.kind === 'ack') assert.deepEqual([forged.written, forged.refused], [0, 502]);
    // A batch naming a job the sink has not opened is refused whole (the sender may try again later).
    const elsewhere = await me.send([me.rows('H1', ids.slice(0, 5), { value: '"FORGED"' }), me.rows('ELSEWHERE', ['x'], { value: '"FORGED"' })]);
    assert.equal(elsewhere.kind === 'error' && elsewhere.code, 'E_NOT_FOUND', JSON.stringify(elsewhere));

    // 2. Speaking for the real agent: on its own subject, refused by the coordinator and the
    // sink; on the real agent's subject, refused by the NATS server itself.
    const asReal = new RawAgent(bus, subj, realId, me.principal);
    const hello = await asReal.hello([['H1', ids[0]!, 1]]);
    assert.equal(hello.kind === 'error' && hello.code, 'E_REFUSED', JSON.stringify(hello));
    const rows = await asReal.send([asReal.rows('H1', ids.slice(0, 10), { value: '"FORGED"' })]);
    assert.equal(rows.kind === 'error' && rows.code, 'E_REFUSED');
    const onTheirs = new RawAgent(bus, subj, realId);
    await assert.rejects(onTheirs.hello(), /permission|not permitted|timeout|no answer|nobody/i);

    // 3. A pull for 10^9 bundles: no more than 3 bundles per slot it said it has (1).
    const r = await me.pullReply(1e9, { freeSlots: 1e9 });
    if (r.kind !== 'dispatch') assert.fail(`a pull answered ${JSON.stringify(r)}`);
    const mine = r.bundles.flatMap((b) => b.tasks.map((x) => x.id));
    assert.ok(r.bundles.length >= 1 && r.bundles.length <= 3, `bundles: ${r.bundles.length}`);

    // 4. Broken rows for the tasks it did lease: one line of them names another job, one holds
    // two lines, one is over the size limit. Error rows take their place; nothing forged is written.
    assert.ok(mine.length >= 3, `it was given ${mine.length} tasks`);
    const broken = me.rows('H1', mine, { value: '"FORGED"' });
    const texts = mine.map((id, i) =>
      i === 1
        ? `{"job":"H1","task":"${id}","kind":"spin","status":"ok","value":"FORGED"}\n{"job":"H1","task":"${id}","kind":"spin","status":"ok","value":"FORGED"}\n`
        : i === 2
          ? `{"job":"H1","task":"${id}","kind":"spin","status":"ok","value":"FORGED${'x'.repeat(Math.floor(me.bus.maxPayload * 0.75))}"}\n`
          : `{"job":"ELSEWHERE","task":"${id}","kind":"spin","status":"ok","value":"FORGED"}\n`,
    );
    broken.text = texts.join('');
    broken.ends = texts.map((_, i) => texts.slice(0, i + 1).join('').length);
    const ack = await me.send([broken]);
    assert.ok(ack.kind === 'ack' && ack.written === mine.length, JSON.stringify(ack));

    // 5. Floods: 20,000 heartbeats of invented agents, 2,000 hellos of invented agents holding
    // tasks of jobs that do not exist.
    for (let i = 0; i < 20_000; i++) {
      bus.publish(subj.heartbeat(me.principal), encode({ kind: 'heartbeat', v: PROTOCOL_VERSION, agent: `ghost-${i}@${me.principal}`, epoch: 1, busySlots: 0, memory: 0, state: 'active', done: 0 }));
      if (i % 1000 === 0) await bus.flush();
    }
    const held = Array.from({ length: 200 }, (_, k) => ['nojob', `t${k}`, 1] as [string, string, number]);
    for (let i = 0; i < 2000; i += 50) {
      await Promise.all(Array.from({ length: 50 }, (_, k) => new RawAgent(bus!, subj, `ghost-${i + k}@${me.principal}`).hello(held, rawInfo(4)).catch(() => undefined)));
    }
    await bus.flush();
    const peak = rss(coord.pid);

    const final = await ctl.waitEnd('H1', 120_000);
    assert.equal(final.state, 'done', JSON.stringify(final));
    const written = readRows(join(out, 'H1.jsonl'));
    assertOneRowPerTask(written, ids, { job: 'H1' });
    assert.deepEqual(written.filter((w) => JSON.stringify(w).includes('FORGED')), [], 'a forged row reached the output');
    // The tasks it leased end as error rows that say it sent rows the sink refused; all others are ok rows of the real agent.
    for (const w of written) {
      if (mine.includes(w.task)) assert.equal(w.status, 'error', JSON.stringify(w));
      else assert.deepEqual([w.status, w.agent], ['ok', realId], JSON.stringify(w));
    }
    assert.equal(logsOf(real, 'joined the coordinator').length, 1, 'the real agent was never made to join again');
    assert.ok(coord.alive && real.alive);

    // Memory: the invented agents are lost (3 s) and forgotten (5 s later); the coordinator's RSS comes back within 20%.
    await until('the invented agents forgotten', async () => (await ctl!.status()).agents.length === 1, 30_000);
    // V8 gives its grown heap back once the coordinator is idle a while (about a minute here).
    const t0 = Date.now();
    const back = await until('the coordinator gives back its memory', () => (rss(coord.pid) <= rss0 * 1.2 ? rss(coord.pid) : null), 150_000, 1000);
    t.diagnostic(`coordinator RSS: ${(rss0 / 2 ** 20).toFixed(0)} MB before the floods, ${(peak / 2 ** 20).toFixed(0)} MB after them, ${(back / 2 ** 20).toFixed(0)} MB ${((Date.now() - t0) / 1000).toFixed(0)} s after the job ended`);
    await stopAgent(real);
  });
});
