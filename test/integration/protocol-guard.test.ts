/**
 * The protocol gate on a live deployment (DESIGN §3): a peer with another protocol version
 * is refused with a message naming both versions and nothing else happens; garbage on
 * every subject of the namespace is logged and dropped while a job runs, and no actor
 * crashes or writes a wrong row.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { connectNats, type NatsBus } from '../../src/bus/index.js';
import { ANONYMOUS, CTL_VERBS, decode, encode, PROTOCOL_VERSION, subjects, type Subjects } from '../../protocol/index.js';
import { uniqueNs } from '../helpers/nats.js';
import { assertOneRowPerTask, readRows, spinIds } from '../helpers/rows.js';
import { jobStatus, runShoal, spawnShoal, waitForJobEnd, type ShoalProcess } from '../helpers/shoal.js';
import { natsSuite } from '../helpers/suite.js';
import { sleep } from '../helpers/wait.js';
import { mulberry32 as rng } from '../../src/random.js';

let bus: NatsBus;

const suite = natsSuite('shoal-guard-', {
  setup: async (s) => {
    bus = await connectNats({ url: s.nats.url, name: 'shoal-test protocol-guard' });
  },
  cleanup: () => bus?.close(),
});

const OTHER = 99;
const info = {
  host: 'elsewhere',
  pid: 1,
  slots: 4,
  cpus: { logical: 4, physical: 4, usable: 4 },
  memory: { total: 8e9, available: 8e9, limit: 8e9 },
  spot: false,
  allowCommand: false,
  kinds: [],
};


describe('protocol guard', () => {
  const ns = uniqueNs('guard');
  const subj: Subjects = subjects(ns);
  const conn = ['--nats', '', '--ns', ns];
  let out: string;
  let coord: ShoalProcess;

  before(async () => {
    conn[1] = suite.nats.url;
    out = join(suite.dir, 'out');
    coord = spawnShoal(['coordinator', ...conn, '--out-dir', out]);
    await coord.waitForLog('coordinator ready');
  });

  it('a hello of another protocol version is refused with E_PROTOCOL naming both versions, and the agent is not admitted', async () => {
    const hello = { kind: 'hello', v: OTHER, agent: 'elsewhere-1', info, held: [] };
    const raw = await bus.request(subj.hello(ANONYMOUS), encode(hello), { timeoutMs: 10_000 });
    const d = decode('HelloReply', raw);
    assert.ok(d.ok, `the refusal itself is a valid reply: ${d.ok ? '' : d.detail}`);
    assert.equal(d.msg.kind, 'error');
    if (d.msg.kind !== 'error') return;
    assert.equal(d.msg.code, 'E_PROTOCOL');
    assert.match(d.msg.message, new RegExp(`\\b${OTHER}\\b`));
    assert.match(d.msg.message, new RegExp(`\\b${PROTOCOL_VERSION}\\b`));

    // Nothing else happened: the coordinator knows no agent.
    const st = await runShoal(['status', '--json', ...conn]);
    assert.equal(st.code, 0, st.describe());
    assert.deepEqual(JSON.parse(st.stdout).agents, [], 'the refused agent must not be listed');
  });

  it('a control request of another protocol version is refused with E_PROTOCOL naming both versions', async () => {
    for (const req of [
      { kind: 'status', v: OTHER },
      { kind: 'submit', v: OTHER, spec: { job: 'never', kind: 'spin', params: { tasks: 5, ms: 0 }, cache: { dir: '/never-cache', key: 'k', readOnly: true } } },
    ]) {
      const raw = await bus.request(subj.ctl(req.kind as 'status' | 'submit'), encode(req), { timeoutMs: 10_000 });
      const d = decode('CtlReply', raw);
      assert.ok(d.ok, d.ok ? '' : d.detail);
      assert.equal(d.msg.kind, 'error', `${req.kind}: ${JSON.stringify(d.msg)}`);
      if (d.msg.kind !== 'error') return;
      assert.equal(d.msg.code, 'E_PROTOCOL');
      assert.match(d.msg.message, new RegExp(`\\b${OTHER}\\b`));
      assert.match(d.msg.message, new RegExp(`\\b${PROTOCOL_VERSION}\\b`));
    }
    // The submit of another version did not create a job.
    const st = await runShoal(['status', 'never', '--json', ...conn]);
    assert.notEqual(st.code, 0, `job 'never' must not exist: ${st.describe()}`);
  });

  it('garbage on every subject of the namespace while a job runs: the job completes with one row per task and every actor survives', async (t) => {
    const agent = spawnShoal(['agent', ...conn, '--workers', '1'], { t });
    const agentId = (await agent.waitForLog('joined the coordinator')).agent as string;
    assert.equal(typeof agentId, 'string');

    const tasks = 600;
    const sub = await runShoal(['submit', 'spin', '--tasks', String(tasks), '--sleep', '--ms', '10', ...conn, '--job', 'G1']);
    assert.equal(sub.code, 0, sub.describe());

    // What goes on each subject: random bytes, msgpack's reserved byte, truncated msgpack,
    // valid msgpack of wrong shapes, and well-formed messages of other versions (which would
    // cancel, drain or write rows if they were obeyed). The templates below are of the
    // current version and are only ever sent broken or under another version.
    const V = PROTOCOL_VERSION;
    const fakeRow = '{"job":"G1","task":"spin_000","kind":"spin","status":"error","error":{"code":"E_FAKE","message":"forged"}}\n';
    const valid: Record<string, object[]> = {
      [subj.ctl('submit')]: [{ kind: 'submit', v: V, spec: { job: 'G1', kind: 'spin', params: { tasks: 1, ms: 0 } } }],
      [subj.ctl('status')]: [{ kind: 'status', v: V, job: 'G1' }],
      [subj.ctl('cancel')]: [{ kind: 'cancel', v: V, job: 'G1' }, { kind: 'cancel', v: V, job: 'G1', downstream: true }],
      [subj.ctl('drain')]: [{ kind: 'drain', v: V, agent: agentId, graceMs: 0 }],
      [subj.ctl('priority')]: [{ kind: 'priority', v: V, job: 'G1', priority: -1000 }],
      [subj.ctl('alloc')]: [{ kind: 'alloc', v: V, op: 'add', spec: { manager: 'slurm', maxJobs: 1, nodes: 1, walltimeS: 600, sbatchArgs: [], agentArgs: [], idleTimeoutS: 60, drainBeforeS: 60, connectTimeoutS: 60, maxFailures: 1, nats: 'nats://127.0.0.1:1' } }],
      [subj.owner]: [{ kind: 'claim', v: V, claimant: { boot: 'b', host: 'h', pid: 1, since: 0, outDir: '/' } }],
      [subj.hello(ANONYMOUS)]: [{ kind: 'hello', v: V, agent: agentId, info, held: [] }],
      [subj.pull(ANONYMOUS)]: [{ kind: 'pull', v: V, agent: agentId, epoch: 99, seq: 0, want: 64, freeSlots: 4, memory: 1e9, waitMs: 0, reports: [{ job: 'G1', id: 'spin_002', attempt: 1, error: { code: 'E_FAKE', message: 'forged' } }] }],
      [subj.heartbeat(ANONYMOUS)]: [{ kind: 'heartbeat', v: V, agent: agentId, epoch: 99, busySlots: 0, memory: 0, state: 'draining', done: 0 }],
      [subj.agentCmd(agentId)]: [{ kind: 'drain', v: V, graceMs: 0 }, { kind: 'abort', v: V, job: 'G1', reason: 'forged' }],
      [subj.results(ANONYMOUS)]: [{ kind: 'results', v: V, from: 'forger', seq: 1, groups: [{ job: 'G1', ids: ['spin_000'], attempts: [1], status: 'e', ms: [0], ends: [fakeRow.length], text: fakeRow }] }],
      [subj.legacy.hello]: [{ kind: 'hello', v: V, agent: agentId, info, held: [] }],
      [subj.legacy.pull]: [{ kind: 'pull', v: V, agent: agentId, epoch: 99, seq: 0, want: 64, freeSlots: 4, memory: 1e9, waitMs: 0, reports: [] }],
      [subj.legacy.results]: [{ kind: 'results', v: V, from: 'forger', seq: 1, groups: [] }],
      [subj.events]: [{ kind: 'job-ended', v: V, job: 'G1', state: 'cancelled' }],
    };
    // Every subject of the namespace is covered (subjects(ns) is the list of them).
    assert.deepEqual(
      Object.keys(valid).sort(),
      [
        ...CTL_VERBS.map((verb) => subj.ctl(verb)),
        subj.owner,
        subj.hello(ANONYMOUS),
        subj.pull(ANONYMOUS),
        subj.heartbeat(ANONYMOUS),
        subj.agentCmd(agentId),
        subj.results(ANONYMOUS),
        subj.legacy.hello,
        subj.legacy.pull,
        subj.legacy.results,
        subj.events,
      ].sort(),
    );

    const rand = rng(0x6a7ba6e);
    const randomBytes = (): Uint8Array => Uint8Array.from({ length: 1 + Math.floor(rand() * 80) }, () => Math.floor(rand() * 256));
    const garbageFor = (subject: string): Uint8Array[] => {
      const msgs: Uint8Array[] = [randomBytes(), randomBytes(), randomBytes(), Uint8Array.of(0xc1)];
      for (const m of valid[subject]!) {
        const bad = encode(m);
        msgs.push(bad.subarray(0, Math.max(1, bad.length >> 1))); // truncated
        msgs.push(encode({ ...m, v: V - 1 }), encode({ ...m, v: V + 1 }), encode({ ...m, v: OTHER })); // another version
        // Right kind, one field of the wrong type at a time; then a kind that is not a string.
        for (const [f, x] of Object.entries(m)) if (f !== 'kind' && f !== 'v') msgs.push(encode({ ...m, [f]: typeof x === 'string' ? 12345 : 'wrong' }));
        msgs.push(encode({ ...m, kind: 42 }));
        // Bare current-version copies where the receiver must refuse them anyway: rows from an
        // agent that holds no lease, and anything on protocol 1's subjects.
        if (subject === subj.results(ANONYMOUS) || subject.endsWith('.agent.hello') || subject.endsWith('.agent.pull') || subject.endsWith('.sink.results')) msgs.push(encode(m));
      }
      msgs.push(encode([1, 2, 3]), encode('just a string' as unknown as object), encode({ kind: 'nonsense', v: 1, x: new Array(50).fill('y') }));
      return msgs;
    };

    let sent = 0;
    const replies: Array<Promise<unknown>> = [];
    for (let round = 0; round < 3; round++) {
      for (const subject of Object.keys(valid)) {
        for (const data of garbageFor(subject)) {
          bus.publish(subject, data);
          sent++;
        }
        // The same as requests too, so every reply path sees garbage (answers are not asserted here).
        if (round === 0) for (const data of garbageFor(subject).slice(0, 4)) replies.push(bus.request(subject, data, { timeoutMs: 500 }).catch(() => undefined));
      }
      await bus.flush();
      await sleep(150); // the garbage's pace: rounds spread over the job's run, not waiting for anything
    }
    await Promise.all(replies);
    assert.ok(sent >= 200, `sent ${sent} garbage messages`);

    const mid = await jobStatus(suite.nats.url, ns, 'G1');
    assert.equal(mid.state, 'running', `precondition: the garbage arrived while G1 ran (${mid.done}/${mid.total})`);

    const final = await waitForJobEnd(suite.nats.url, ns, 'G1');
    assert.equal(final.state, 'done', JSON.stringify(final));
    assert.equal(final.done, tasks);
    assert.equal(final.failed, 0);
    assertOneRowPerTask(readRows(join(out, 'G1.jsonl')), spinIds(tasks), { status: 'ok', job: 'G1' });

    assert.ok(coord.alive, `the coordinator died:\n${coord.describe()}`);
    assert.ok(agent.alive, `the agent died:\n${agent.describe()}`);
    process.kill(coord.pid, 0);
    process.kill(agent.pid, 0);
    assert.ok(!agent.logs.some((l) => l.msg === 'draining'), `the agent obeyed a forged drain:\n${agent.describe()}`);

    const warned = coord.logs.filter((l) => l.msg === 'dropped a bad message');
    assert.ok(warned.length > 0, `no 'dropped a bad message' warning:\n${coord.describe()}`);
    const where = new Set(warned.map((l) => l.subject as string));
    // Named by the subscription (agents' subjects carry their principal, so one line per pattern).
    for (const s of [subj.ctlAll, subj.helloAll, subj.pullAll, subj.heartbeatAll, subj.resultsAll, subj.legacy.hello, subj.owner]) {
      assert.ok(where.has(s), `no warning names ${s}; warned about: ${[...where].join(', ')}`);
    }
    assert.ok(agent.logs.some((l) => l.msg === 'dropped a bad message'), `the agent did not log the bad commands:\n${agent.describe()}`);

    // Both still work: a new job runs to the end.
    const again = await runShoal(['submit', 'spin', '--tasks', '50', '--ms', '0', ...conn, '--wait', '--job', 'G2']);
    assert.equal(again.code, 0, again.describe());
    assertOneRowPerTask(readRows(join(out, 'G2.jsonl')), spinIds(50), { status: 'ok', job: 'G2' });
  });
});
