/**
 * The shipped NATS deployment (deploy/nats/) on a real nats-server: shoal.conf with the users
 * make-auth.sh writes for two namespaces, and shoal-tls.conf with make-certs.sh's certificates.
 * Each role can do its part and nothing more; a namespace sees nothing of another.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { freePort, startNatsServer, type NatsServerHandle } from '../../src/nats-server.js';
import { repoRoot } from '../helpers/paths.js';
import { tempSuite } from '../helpers/suite.js';
import { uniqueNs } from '../helpers/nats.js';
import { assertOneRowPerTask, readRows, spinIds } from '../helpers/rows.js';
import { runShoal, shoalJson, spawnShoal, type ShoalProcess } from '../helpers/shoal.js';

type Role = 'coordinator' | 'agent' | 'operator';
type Creds = Record<string, string>;

const deploy = join(repoRoot, 'deploy', 'nats');
let server: NatsServerHandle;
const nsA = uniqueNs('secA');
const nsB = uniqueNs('secB');

/** The SHOAL_NATS_* variables of a role, as make-auth.sh wrote them. */
function creds(ns: string, role: Role, dir = scratch.dir): Creds {
  const text = readFileSync(join(dir, 'creds', ns, `${role}.env`), 'utf8');
  return Object.fromEntries(text.trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
}

/** A copy of the shipped config in `dir`, with make-auth.sh's users for both namespaces beside it. */
function siteConfig(dir: string, conf: string): string {
  copyFileSync(join(deploy, conf), join(dir, conf));
  execFileSync('bash', [join(deploy, 'make-auth.sh'), '-o', dir, nsA, nsB], { stdio: 'pipe' });
  return join(dir, conf);
}

const scratch = tempSuite('shoal-security-', {
  setup: async ({ dir }) => {
    server = await startNatsServer({ host: '127.0.0.1', config: siteConfig(dir, 'shoal.conf'), logFile: join(dir, 'nats.log') });
  },
  cleanup: () => server?.stop(),
});

describe('deploy/nats: roles and namespaces on the shipped config', () => {
  let coordA: ShoalProcess;
  let coordB: ShoalProcess;
  let agentA: ShoalProcess;
  const at = (ns: string): string[] => ['--nats', server.url, '--ns', ns];

  before(async () => {
    coordA = spawnShoal(['coordinator', ...at(nsA), '--out-dir', join(scratch.dir, 'outA')], { env: creds(nsA, 'coordinator') });
    coordB = spawnShoal(['coordinator', ...at(nsB), '--out-dir', join(scratch.dir, 'outB')], { env: creds(nsB, 'coordinator') });
    await Promise.all([coordA.waitForLog('coordinator ready'), coordB.waitForLog('coordinator ready')]);
    agentA = spawnShoal(['agent', ...at(nsA), '--workers', '1'], { env: creds(nsA, 'agent') });
    await agentA.waitForLog('joined the coordinator');
  });

  it('make-auth.sh keeps the credentials private (0600)', () => {
    for (const f of [join(scratch.dir, 'accounts.conf'), join(scratch.dir, 'creds', nsA, 'agent.env')]) assert.equal(statSync(f).mode & 0o077, 0, `${f} is readable by others`);
  });

  it('each role has what its part needs: a job submitted by an operator runs to the end', async () => {
    const r = await runShoal(['submit', 'spin', '--tasks', '40', '--ms', '1', ...at(nsA), '--job', 'ok', '--wait'], { env: creds(nsA, 'operator') });
    assert.equal(r.code, 0, r.describe());
    assertOneRowPerTask(readRows(join(scratch.dir, 'outA', 'ok.jsonl')), spinIds(40), { status: 'ok', job: 'ok' });
    for (const p of [coordA, agentA]) {
      assert.ok(!/Permissions Violation/i.test(p.stderr), `a permission was missing:\n${p.describe()}`);
    }
  });

  it('an agent with a wrong password exits 4 and says the server refused it', async () => {
    const r = await runShoal(['agent', ...at(nsA), '--connect-timeout', '30'], { env: { ...creds(nsA, 'agent'), SHOAL_NATS_PASS: 'not-the-password' } });
    assert.equal(r.code, 4, r.describe());
    assert.match(r.stderr, /refused the connection: Authorization Violation/, r.describe());
    assert.match(r.stderr, /SHOAL_NATS_USER\/SHOAL_NATS_PASS/, 'the message says where credentials come from');
    const none = await runShoal(['status', ...at(nsA)]);
    assert.equal(none.code, 4, `no credentials at all: ${none.describe()}`);
  });

  it('an agent (or coordinator) credential cannot cancel a job; an operator can', async () => {
    // Far more work than one worker does while this test runs: the job stays running.
    const sub = await runShoal(['submit', 'spin', '--tasks', '2000', '--sleep', '--ms', '500', ...at(nsA), '--job', 'long'], { env: creds(nsA, 'operator') });
    assert.equal(sub.code, 0, sub.describe());
    for (const role of ['agent', 'coordinator'] as const) {
      const r = await runShoal(['cancel', 'long', ...at(nsA)], { env: creds(nsA, role) });
      assert.equal(r.code, 4, `${role}: ${r.describe()}`);
      assert.match(r.stderr, /not permitted to send on shoal\.[^ ]+\.ctl\.cancel/, `${role}: ${r.describe()}`);
    }
    const still = await shoalJson<{ jobs: Array<{ job: string; state: string }> }>(['status', 'long', '--json', ...at(nsA)], { env: creds(nsA, 'operator') });
    assert.equal(still.jobs.find((j) => j.job === 'long')?.state, 'running', JSON.stringify(still));

    const ok = await runShoal(['cancel', 'long', ...at(nsA)], { env: creds(nsA, 'operator') });
    assert.equal(ok.code, 0, ok.describe());
    const st = await shoalJson<{ jobs: Array<{ job: string; state: string }> }>(['status', 'long', '--json', ...at(nsA)], { env: creds(nsA, 'operator') });
    assert.equal(st.jobs.find((j) => j.job === 'long')?.state, 'cancelled', JSON.stringify(st));
  });

  it("another namespace sees nothing of this one: B's status lists none of A's jobs, B may not ask A", async () => {
    const b = await shoalJson<{ jobs: Array<{ job: string }>; agents: Array<{ agent: string }> }>(['status', '--json', ...at(nsB)], { env: creds(nsB, 'operator') });
    assert.deepEqual(b.jobs, [], `B's coordinator lists jobs: ${JSON.stringify(b.jobs)}`);
    assert.deepEqual(b.agents, [], `B's coordinator lists agents: ${JSON.stringify(b.agents)}`);
    const r = await runShoal(['status', ...at(nsA)], { env: creds(nsB, 'operator') });
    assert.equal(r.code, 4, r.describe());
    assert.match(r.stderr, /not permitted to send on shoal\.[^ ]+\.ctl\.status/, r.describe());
  });

  it("B's credentials cannot subscribe to A's subjects, and B's inbox hears none of A's replies", async () => {
    const b = creds(nsB, 'operator');
    const nc: NatsConnection = await connect({ servers: server.url, user: b.SHOAL_NATS_USER!, pass: b.SHOAL_NATS_PASS! });
    try {
      const spy = nc.subscribe(`shoal.${nsA}.>`);
      const closed = await spy.closed;
      assert.ok(closed instanceof Error && /Permissions Violation for Subscription/.test(closed.message), `subscribing to A's subjects: ${String(closed)}`);

      // Replies travel on _INBOX.>, which every role may subscribe to: in its own account only.
      const inbox = nc.subscribe('_INBOX.>');
      let heard = 0;
      void (async () => {
        for await (const _m of inbox) heard++;
      })();
      await nc.flush();
      const st = await runShoal(['status', '--json', ...at(nsA)], { env: creds(nsA, 'operator') });
      assert.equal(st.code, 0, st.describe());
      // The server delivered A's reply before it answers this ping: anything for B would be here by now.
      await nc.flush();
      assert.equal(heard, 0, "B's _INBOX.> subscription received A's replies");
      assert.equal(inbox.isClosed(), false);
    } finally {
      await nc.close();
    }
  });
});

describe('deploy/nats: TLS (shoal-tls.conf, make-certs.sh --client)', () => {
  let dir: string;
  let tls: NatsServerHandle;
  let files: Creds;

  before(async () => {
    dir = mkdtempSync(join(scratch.dir, 'tls-'));
    const conf = siteConfig(dir, 'shoal-tls.conf');
    execFileSync('bash', [join(deploy, 'make-certs.sh'), '-o', dir, '--client', 'localhost', '127.0.0.1'], { stdio: 'pipe' });
    tls = await startNatsServer({ host: '127.0.0.1', port: await freePort(), config: conf, logFile: join(dir, 'nats.log') });
    files = { SHOAL_NATS_TLS_CA: join(dir, 'ca.pem'), SHOAL_NATS_TLS_CERT: join(dir, 'client-cert.pem'), SHOAL_NATS_TLS_KEY: join(dir, 'client-key.pem') };
  });

  after(() => tls?.stop());

  it('a coordinator and an operator with the CA and a client certificate work; without them the CLI exits 4', async () => {
    const at = ['--nats', tls.url, '--ns', nsA];
    const coord = spawnShoal(['coordinator', ...at, '--out-dir', join(dir, 'out')], { env: { ...creds(nsA, 'coordinator', dir), ...files } });
    await coord.waitForLog('coordinator ready');
    const st = await runShoal(['status', ...at], { env: { ...creds(nsA, 'operator', dir), ...files } });
    assert.equal(st.code, 0, st.describe());

    const noCert = await runShoal(['status', ...at], { env: { ...creds(nsA, 'operator', dir), SHOAL_NATS_TLS_CA: files.SHOAL_NATS_TLS_CA } });
    assert.equal(noCert.code, 4, `without a client certificate: ${noCert.describe()}`);
    const noTls = await runShoal(['status', ...at], { env: creds(nsA, 'operator', dir) });
    assert.equal(noTls.code, 4, `without TLS files: ${noTls.describe()}`);
    coord.kill('SIGTERM');
    assert.deepEqual(await coord.exited, { code: 0, signal: null }, coord.describe());
  });
});

describe('SHOAL_NATS_TOKEN', () => {
  let tokenServer: NatsServerHandle;
  const token = 'shoal-test-token-5f1c';

  before(async () => {
    tokenServer = await startNatsServer({ host: '127.0.0.1', args: ['--auth', token] });
  });

  after(() => tokenServer?.stop());

  it('a coordinator and an operator with the token work; a wrong token exits 4', async () => {
    const at = ['--nats', tokenServer.url, '--ns', nsA];
    const coord = spawnShoal(['coordinator', ...at, '--out-dir', join(scratch.dir, 'out-token')], { env: { SHOAL_NATS_TOKEN: token } });
    await coord.waitForLog('coordinator ready');
    const ok = await runShoal(['status', ...at], { env: { SHOAL_NATS_TOKEN: token } });
    assert.equal(ok.code, 0, ok.describe());
    const bad = await runShoal(['status', ...at], { env: { SHOAL_NATS_TOKEN: 'wrong' } });
    assert.equal(bad.code, 4, bad.describe());
    assert.match(bad.stderr, /refused the connection/, bad.describe());
    coord.kill('SIGTERM');
    assert.deepEqual(await coord.exited, { code: 0, signal: null }, coord.describe());
  });
});
