/**
 * A hostile bus: while a job runs, more than 10,000 random and mutated messages go to every
 * subject of the namespace (random bytes, msgpack's reserved byte, truncated msgpack, byte
 * flips, valid msgpack of wrong shapes and types, absurd declared lengths, deep nesting,
 * extension types, wrong versions, payloads close to the server's max_payload), some as
 * requests so every reply path sees them too. The job still ends with one ok row per task,
 * every actor is still alive, and the log of dropped messages stays short.
 *
 * Only garbage and foreign versions carry the real job's and agents' names: a well-formed
 * message of the current version is an order (cancel, drain, results) that a deployment
 * keeps out with NATS permissions, not something a decoder can refuse. Mutated messages of
 * the current version therefore name decoys, so no mutation can turn into a valid order
 * about the running job.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { connectNats, type NatsBus } from '../../src/bus/index.js';
import { ANONYMOUS, CTL_VERBS, encode, PROTOCOL_VERSION, subjects, type Subjects } from '../../protocol/index.js';
import { uniqueNs } from '../helpers/nats.js';
import { assertOneRowPerTask, readRows, spinIds } from '../helpers/rows.js';
import { runShoal, type ShoalProcess, connArgs, startAgent, startCoordinator } from '../helpers/shoal.js';
import { natsSuite } from '../helpers/suite.js';
import { logsOf, stopAgent } from '../helpers/faults.js';
import { sleep } from '../helpers/wait.js';
import { mulberry32 as prng } from '../../src/random.js';

let bus: NatsBus | undefined;

const suite = natsSuite('shoal-fault-fuzz-', {
  cleanup: async () => {
    await bus?.close();
  },
});

const SEED = 0x5eed_f022;
const FOREIGN_VERSIONS = [0, PROTOCOL_VERSION - 1, 99, 2 ** 31, PROTOCOL_VERSION + 1];

class Fuzzer {
  readonly rand = prng(SEED);
  constructor(readonly maxPayload: number) {}

  int(n: number): number {
    return Math.floor(this.rand() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  bytes(n: number): Uint8Array {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }

  /** A random JSON-ish value of bounded depth. */
  value(depth = 0): unknown {
    const r = this.int(depth > 3 ? 6 : 9);
    switch (r) {
      case 0:
        return null;
      case 1:
        return this.rand() < 0.5;
      case 2:
        return this.pick([0, -1, 1.5, 2 ** 53, -(2 ** 63), Number.NaN, Infinity, this.int(1e9)]);
      case 3:
        return 'x'.repeat(this.int(40));
      case 4:
        return this.pick(['hello', 'pull', 'results', 'dispatch', 'abort', 'drain', 'open', 'close', 'committed', 'status', '__proto__', 'constructor', '']);
      case 5:
        return this.bytes(this.int(16));
      case 6:
      case 7:
        return Array.from({ length: this.int(5) }, () => this.value(depth + 1));
      default: {
        const o: Record<string, unknown> = {};
        // defineProperty: a plain assignment to '__proto__' would set the prototype, not a key.
        for (let i = this.int(6); i > 0; i--) {
          const key = this.pick(['kind', 'v', 'job', 'agent', 'id', 'ids', 'seq', 'groups', 'text', 'tasks', 'downstream', 'x', '__proto__']);
          Object.defineProperty(o, key, { value: this.value(depth + 1), enumerable: true, writable: true, configurable: true });
        }
        return o;
      }
    }
  }

  /** Encoded bytes with a few bytes replaced at random. */
  flip(data: Uint8Array): Uint8Array {
    const out = Uint8Array.from(data);
    for (let i = 1 + this.int(4); i > 0; i--) out[this.int(out.length)] = this.int(256);
    return out;
  }

  /** Each field in turn given a value of another type. */
  wrongTypes(m: Record<string, unknown>): Uint8Array {
    const keys = Object.keys(m).filter((k) => k !== 'v');
    const k = this.pick(keys);
    return encode({ ...m, [k]: this.pick([42, 'wrong', null, [], {}, true, -1, 1e300]) });
  }

  /** Hand-made msgpack that decoders trip on. */
  nasty(): Uint8Array {
    switch (this.int(8)) {
      case 0:
        return Uint8Array.of(0xc1);
      case 1:
        return Uint8Array.of(0xdd, 0xff, 0xff, 0xff, 0xff, 0x01); // array32 of 4 billion items
      case 2:
        return Uint8Array.of(0xdb, 0xff, 0xff, 0xff, 0xf0, 0x61); // str32 of 4 GB
      case 3:
        return Uint8Array.of(0xdf, 0x7f, 0xff, 0xff, 0xff, 0xa1, 0x6b); // map32 of 2 billion entries
      case 4:
        return new Uint8Array(3000).fill(0x91); // 3,000 nested arrays, never closed
      case 5: {
        const deep = new Uint8Array(20_000).fill(0x91); // 20,000 nested one-element arrays, closed with nil
        deep[deep.length - 1] = 0xc0;
        return deep;
      }
      case 6:
        return Uint8Array.of(0xd4, this.int(256), this.int(256)); // fixext 1 of a random type (msgpackr's record marker among them)
      default:
        return Uint8Array.of(0xc7, 0xff, this.int(256), ...this.bytes(8)); // ext8 claiming 255 bytes
    }
  }

  /** A message close to the server's max_payload. */
  oversize(template: Record<string, unknown>): Uint8Array {
    if (this.rand() < 0.5) return this.bytes(this.maxPayload - 1 - this.int(64));
    const pad = 'z'.repeat(this.maxPayload - encode(template).byteLength - 64 - this.int(64));
    return encode({ ...template, pad });
  }

  /**
   * Messages for one subject. `decoy`: well-formed, current version, harmless names; they are
   * mutated freely. `real`: the real job's and agents' names with a foreign version; they are
   * only sent whole, truncated, or with wrong types, so their version never becomes ours.
   */
  batch(decoy: Array<Record<string, unknown>>, real: Array<Record<string, unknown>>, n: number, big: boolean): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (let i = 0; i < n; i++) {
      const r = this.int(11);
      const d = decoy.length > 0 ? this.pick(decoy) : null;
      const foreign = { ...this.pick(real), v: this.pick(FOREIGN_VERSIONS) };
      switch (r) {
        case 0:
          out.push(this.bytes(this.int(200)));
          break;
        case 1:
          out.push(this.nasty());
          break;
        case 2: {
          const e = encode(d ?? foreign);
          out.push(e.subarray(0, Math.max(1, this.int(e.length)))); // truncated
          break;
        }
        case 3:
          out.push(d ? this.flip(encode(d)) : encode(foreign));
          break;
        case 4:
          out.push(d ? this.wrongTypes(d) : this.wrongTypes(foreign));
          break;
        case 5:
          out.push(encode(this.value() as object)); // valid msgpack, any shape
          break;
        case 6:
          out.push(encode({ kind: this.pick(['hello', 'pull', 'results', 'nonsense', 42]), v: PROTOCOL_VERSION, ...(this.value(3) as object) }));
          break;
        case 7:
        case 8:
          out.push(encode(foreign)); // a whole message of another version
          break;
        case 9: {
          const { v: _drop, ...noVersion } = foreign;
          out.push(encode(this.rand() < 0.5 ? noVersion : { ...foreign, v: this.pick([-1, 1.5, '1', null]) }));
          break;
        }
        default:
          out.push(encode(d ?? foreign));
      }
    }
    if (big) out.push(this.oversize(this.pick(real)));
    return out;
  }
}

describe('hostile bus', () => {
  it('10,000+ random and mutated messages on every subject while a job runs: the job completes, no actor crashes', async (t) => {
    const ns = uniqueNs('fuzz');
    const subj: Subjects = subjects(ns);
    const out = join(suite.dir, 'out');
    const coord = await startCoordinator(suite.nats.url, ns, out);
    const a = await startAgent(suite.nats.url, ns, ['--workers', '1']);
    const b = await startAgent(suite.nats.url, ns, ['--workers', '1']);
    bus = await connectNats({ url: suite.nats.url, name: 'shoal-test fuzzer' });
    const ctl = await suite.control(ns);

    const tasks = 1500;
    const sub = await runShoal(['submit', 'spin', '--tasks', String(tasks), '--sleep', '--ms', '8', '--no-speculate', ...connArgs(suite.nats.url, ns), '--job', 'F1']);
    assert.equal(sub.code, 0, sub.describe());

    const info = { host: 'zz', pid: 1, slots: 1, cpus: { logical: 1, physical: 1, usable: 1 }, memory: { total: 1e9, available: 1e9, limit: 1e9 }, spot: false, allowCommand: false, kinds: [] };
    const row = '{"job":"F1","task":"spin_0000","kind":"spin","status":"error","error":{"code":"E_FAKE","message":"forged"}}\n';
    const group = (job: string, text: string) => ({ job, ids: ['spin_0000'], attempts: [1], status: 'e', ms: [0], ends: [text.length], text });
    const V = PROTOCOL_VERSION;
    // [subject, decoys (current version, harmless), real (sent only with a foreign version)]
    const plan: Array<[string, Array<Record<string, unknown>>, Array<Record<string, unknown>>]> = [
      [subj.ctl('submit'), [{ kind: 'submit', v: V, spec: { job: 'zz-decoy', kind: 'zz-nokind', params: {}, cache: { dir: join(suite.dir, 'zz-cache'), key: 'v1', readOnly: true } } }], [{ kind: 'submit', v: 99, spec: { job: 'F1', kind: 'spin', params: { tasks: 1, ms: 0 }, cache: { dir: join(suite.dir, 'zz-cache') } } }]],
      [subj.ctl('status'), [{ kind: 'status', v: V, job: 'F1' }, { kind: 'status', v: V }], [{ kind: 'status', v: 99, job: 'F1' }]],
      [subj.ctl('cancel'), [{ kind: 'cancel', v: V, job: 'zz-decoy' }, { kind: 'cancel', v: V, job: 'zz-decoy', downstream: true }], [{ kind: 'cancel', v: 99, job: 'F1' }, { kind: 'cancel', v: 99, job: 'F1', downstream: true }]],
      [subj.ctl('drain'), [{ kind: 'drain', v: V, agent: 'zz-decoy-agent', graceMs: 0 }], [{ kind: 'drain', v: 99, agent: a.id, graceMs: 0 }]],
      [subj.ctl('priority'), [{ kind: 'priority', v: V, job: 'zz-decoy', priority: 3 }], [{ kind: 'priority', v: 99, job: 'F1', priority: -1000 }]],
      [
        subj.ctl('alloc'),
        [{ kind: 'alloc', v: V, op: 'list' }, { kind: 'alloc', v: V, op: 'pause', queue: 'zz-decoy' }],
        [{ kind: 'alloc', v: 99, op: 'add', spec: { manager: 'slurm', maxJobs: 1, nodes: 1, walltimeS: 600, sbatchArgs: [], agentArgs: [], idleTimeoutS: 60, drainBeforeS: 60, connectTimeoutS: 60, maxFailures: 1, nats: 'nats://127.0.0.1:1' } }],
      ],
      [subj.hello(ANONYMOUS), [{ kind: 'hello', v: V, agent: 'zz-decoy-agent', info, held: [['zz-decoy', 'zz-task', 1]] }], [{ kind: 'hello', v: 99, agent: a.id, info, held: [] }]],
      [subj.pull(ANONYMOUS), [{ kind: 'pull', v: V, agent: 'zz-decoy-agent', epoch: 0, seq: 0, want: 8, freeSlots: 1, memory: 1e9, waitMs: 0, reports: [] }], [{ kind: 'pull', v: 99, agent: a.id, epoch: 1, seq: 0, want: 64, freeSlots: 1, memory: 1e9, waitMs: 0, reports: [{ job: 'F1', id: 'spin_0001', attempt: 1, error: { code: 'E_FAKE', message: 'forged' } }] }]],
      [subj.heartbeat(ANONYMOUS), [{ kind: 'heartbeat', v: V, agent: 'zz-decoy-agent', epoch: 0, busySlots: 0, memory: 0, state: 'active', done: 0 }], [{ kind: 'heartbeat', v: 99, agent: a.id, epoch: 1, busySlots: 0, memory: 0, state: 'draining', done: 0 }]],
      // The agents' command subjects: a well-formed drain would drain them, so no decoys here.
      [subj.agentCmd(a.id), [], [{ kind: 'drain', v: 99, graceMs: 0 }, { kind: 'abort', v: 99, job: 'F1', reason: 'forged' }]],
      [subj.agentCmd(b.id), [], [{ kind: 'drain', v: 99, graceMs: 0 }, { kind: 'abort', v: 99, job: 'F1', reason: 'forged' }]],
      [subj.agentCmd('zz-decoy-agent'), [{ kind: 'abort', v: V, job: 'zz-decoy', reason: 'decoy' }], [{ kind: 'drain', v: 99 }]],
      [subj.results(ANONYMOUS), [{ kind: 'results', v: V, from: 'zz-decoy-agent', seq: 1, groups: [group('zz-decoy', row.replace('F1', 'zz-decoy'))] }], [{ kind: 'results', v: 99, from: a.id, seq: 1, groups: [group('F1', row)] }]],
      // A claim of the current version that started earlier is an order to step back: never mutated.
      [subj.owner, [], [{ kind: 'claim', v: 99, claimant: { boot: 'zz', host: 'zz', pid: 1, since: 0, outDir: '/' } }]],
      // Protocol 1's subjects, where only refusals are answered.
      [subj.legacy.hello, [{ kind: 'hello', v: V, agent: 'zz-decoy-agent', info, held: [] }], [{ kind: 'hello', v: 1, agent: a.id, info, held: [] }]],
      [subj.legacy.pull, [{ kind: 'pull', v: V, agent: 'zz-decoy-agent', epoch: 0, seq: 0, want: 8, freeSlots: 1, memory: 1e9, waitMs: 0, reports: [] }], [{ kind: 'pull', v: 1, agent: a.id, epoch: 1, seq: 0, want: 64, freeSlots: 1, memory: 1e9, waitMs: 0, reports: [] }]],
      [subj.legacy.results, [{ kind: 'results', v: V, from: 'zz-decoy-agent', seq: 1, groups: [] }], [{ kind: 'results', v: 1, from: a.id, seq: 1, groups: [group('F1', row)] }]],
      [subj.events, [{ kind: 'job-ended', v: V, job: 'zz-decoy', state: 'cancelled' }], [{ kind: 'job-ended', v: 99, job: 'F1', state: 'cancelled' }]],
      [`${subj.prefix}.ctl.bogus`, [{ kind: 'status', v: V }], [{ kind: 'status', v: 99 }]],
    ];
    // Every subject of the namespace is covered.
    const covered = new Set(plan.map(([s]) => s));
    const agentSubjects = [subj.hello(ANONYMOUS), subj.pull(ANONYMOUS), subj.heartbeat(ANONYMOUS), subj.results(ANONYMOUS)];
    const legacy = [subj.legacy.hello, subj.legacy.pull, subj.legacy.results];
    for (const s of [...CTL_VERBS.map((v) => subj.ctl(v)), ...agentSubjects, ...legacy, subj.owner, subj.agentCmd(a.id), subj.agentCmd(b.id), subj.events]) {
      assert.ok(covered.has(s), `the fuzz plan misses ${s}`);
    }

    const fz = new Fuzzer(bus.maxPayload);
    const requestable = new Set([...CTL_VERBS.map((v) => subj.ctl(v)), subj.hello(ANONYMOUS), subj.pull(ANONYMOUS), subj.results(ANONYMOUS), ...legacy, subj.owner]);
    let sent = 0;
    let oversize = 0;
    const replies: Array<Promise<unknown>> = [];
    const rounds = 20;
    for (let round = 0; round < rounds; round++) {
      for (const [subject, decoys, real] of plan) {
        const msgs = fz.batch(decoys, real, 36, round % 4 === 1);
        for (const data of msgs) {
          if (data.byteLength >= bus.maxPayload - 1024) oversize++;
          if (requestable.has(subject) && fz.rand() < 0.08) replies.push(bus.request(subject, data, { timeoutMs: 1000 }).catch(() => undefined));
          else bus.publish(subject, data);
          sent++;
        }
      }
      await bus.flush();
      await sleep(150); // the storm's pace: rounds spread over the job's run, not waiting for anything
    }
    await Promise.all(replies);
    const mid = await ctl.job('F1');
    t.diagnostic(`sent ${sent} messages (${replies.length} as requests, ${oversize} near max_payload ${bus.maxPayload}); F1 at ${mid.done}/${mid.total} when the storm ended`);
    assert.ok(sent >= 10_000, `sent ${sent} messages`);
    assert.ok(oversize > 0);
    assert.equal(mid.state, 'running', `precondition: the storm hit a running job (${mid.done}/${mid.total})`);

    const final = await ctl.waitEnd('F1', 80_000);
    assert.equal(final.state, 'done', JSON.stringify(final));
    assert.equal(final.done, tasks);
    assert.equal(final.failed, 0);
    assertOneRowPerTask(readRows(join(out, 'F1.jsonl')), spinIds(tasks), { status: 'ok', job: 'F1' });

    for (const [p, who] of [
      [coord, 'the coordinator'],
      [a.proc, 'agent A'],
      [b.proc, 'agent B'],
    ] as Array<[ShoalProcess, string]>) {
      assert.ok(p.alive, `${who} died:\n${p.describe()}`);
      process.kill(p.pid, 0);
      assert.deepEqual(logsOf(p, 'draining'), [], `${who} obeyed a forged drain`);
      assert.deepEqual(logsOf(p, 'allocation queue added'), [], `${who} obeyed a forged alloc add`);
      assert.deepEqual(
        p.logs.filter((l) => (l.level as number) >= 50),
        [],
        `${who} logged errors:\n${p.describe()}`,
      );
    }
    // Garbage is logged once per subject and reason (then summed up once a minute), not per message.
    const dropLines = coord.logs.filter((l) => l.msg === 'dropped a bad message' || l.msg === 'dropped more bad messages').length;
    assert.ok(dropLines > 0 && dropLines <= 60, `the coordinator logged ${dropLines} lines about dropped messages`);
    // Refused submissions (decoys of an unknown kind) left no output behind.
    assert.deepEqual(readdirSync(out).filter((f) => !f.startsWith('.shoal.lock')).sort(), ['.shoal-jobs', 'F1.job.json', 'F1.jsonl', 'F1.summary.json']);
    await stopAgent(a.proc);
    await stopAgent(b.proc);
  });
});
