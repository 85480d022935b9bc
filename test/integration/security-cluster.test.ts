/**
 * The three-server NATS cluster of deploy/nats/cluster/ (routes and route user from
 * make-auth.sh --routes, the same accounts on every server): the coordinator, an agent and the
 * operator on three different servers run a job; when the agent's server stops, the agent
 * moves to another one and the next job runs too.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { freePort, startNatsServer, type NatsServerHandle } from '../../src/nats-server.js';
import { repoRoot } from '../helpers/paths.js';
import { uniqueNs } from '../helpers/nats.js';
import { assertOneRowPerTask, readRows, spinIds } from '../helpers/rows.js';
import { runShoal, spawnShoal, type RunResult, type ShoalProcess } from '../helpers/shoal.js';
import { tempSuite } from '../helpers/suite.js';
import { until } from '../helpers/wait.js';

const ns = uniqueNs('cluster');
const servers: NatsServerHandle[] = [];

function creds(role: 'coordinator' | 'agent' | 'operator'): Record<string, string> {
  const text = readFileSync(join(scratch.dir, 'creds', ns, `${role}.env`), 'utf8');
  return Object.fromEntries(text.trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
}

const scratch = tempSuite('shoal-cluster-', {
  setup: async ({ dir }) => {
    const routePorts = [await freePort(), await freePort(), await freePort()];
    for (let i = 1; i <= 3; i++) copyFileSync(join(repoRoot, 'deploy', 'nats', 'cluster', `nats-${i}.conf`), join(dir, `nats-${i}.conf`));
    execFileSync('bash', [join(repoRoot, 'deploy', 'nats', 'make-auth.sh'), '-o', dir, '--routes', routePorts.map((p) => `127.0.0.1:${p}`).join(','), ns], { stdio: 'pipe' });
    // The shipped files listen on 4222/6222; on one machine each server gets its own ports.
    for (let i = 1; i <= 3; i++) {
      servers.push(await startNatsServer({ host: '127.0.0.1', config: join(dir, `nats-${i}.conf`), args: ['--cluster', `nats://127.0.0.1:${routePorts[i - 1]}`], logFile: join(dir, `nats-${i}.log`) }));
    }
  },
  cleanup: () => Promise.all(servers.map((s) => s.stop())),
});

/** Polls `status` through `url` until the coordinator answers from another server (routes up, interest propagated). */
async function answersThrough(url: string): Promise<void> {
  let last: RunResult | undefined;
  await until(
    () => `the coordinator to answer through ${url}: are the routes up?\n${last?.describe()}\n${servers.map((_, i) => readFileSync(join(scratch.dir, `nats-${i + 1}.log`), 'utf8').slice(-1500)).join('\n---\n')}`,
    async () => (last = await runShoal(['status', '--nats', url, '--ns', ns], { env: creds('operator') })).code === 0,
    20_000,
    200,
  );
}

describe('deploy/nats/cluster: three routed servers', () => {
  let coord: ShoalProcess;
  let agent: ShoalProcess;

  it('coordinator, agent and operator on three different servers run a job', async () => {
    const [s1, s2, s3] = servers as [NatsServerHandle, NatsServerHandle, NatsServerHandle];
    coord = spawnShoal(['coordinator', '--nats', s1.url, '--ns', ns, '--out-dir', join(scratch.dir, 'out')], { env: creds('coordinator') });
    await coord.waitForLog('coordinator ready');
    await answersThrough(s3.url);
    // The agent is given the second server only, so it certainly starts there (a list is
    // tried in random order); it learns the others from the cluster.
    agent = spawnShoal(['agent', '--nats', s2.url, '--ns', ns, '--workers', '2'], { env: creds('agent') });
    await agent.waitForLog('joined the coordinator');
    const r = await runShoal(['submit', 'spin', '--tasks', '300', '--sleep', '--ms', '1', '--nats', s3.url, '--ns', ns, '--job', 'c1', '--wait'], { env: creds('operator') });
    assert.equal(r.code, 0, r.describe());
    assertOneRowPerTask(readRows(join(scratch.dir, 'out', 'c1.jsonl')), spinIds(300), { status: 'ok', job: 'c1' });
  });

  it("when the agent's server stops, the agent moves to another and the next job runs", async () => {
    const [, s2, s3] = servers as [NatsServerHandle, NatsServerHandle, NatsServerHandle];
    await s2.stop();
    await agent.waitForLog('NATS connection back', 30_000);
    const r = await runShoal(['submit', 'spin', '--tasks', '300', '--sleep', '--ms', '1', '--nats', s3.url, '--ns', ns, '--job', 'c2', '--wait'], { env: creds('operator'), timeoutMs: 90_000 });
    assert.equal(r.code, 0, r.describe());
    const rows = readRows(join(scratch.dir, 'out', 'c2.jsonl'));
    assertOneRowPerTask(rows, spinIds(300), { status: 'ok', job: 'c2' });
    assert.ok(rows.every((row) => row.agent === rows[0]!.agent), 'one agent ran the job');
    agent.kill('SIGTERM');
    assert.deepEqual(await agent.exited, { code: 0, signal: null }, agent.describe());
  });
});
