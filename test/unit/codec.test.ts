/**
 * The wire gate (protocol/codec.ts): every message kind survives encode → decode, and
 * anything else — garbage, truncated msgpack, valid msgpack of a wrong shape, another
 * protocol version — is rejected with its reason. decode never throws.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ANONYMOUS,
  checkNamespace,
  CTL_VERBS,
  decode,
  decodeRaw,
  encode,
  errorReply,
  handOverInProcess,
  LocalMessage,
  onTheWire,
  PROTOCOL_VERSION,
  principalOf,
  principalOfSubject,
  Schemas,
  speaksFor,
  subjects,
  subjectToken,
  versionMismatchMessage,
  type SchemaName,
} from '../../protocol/index.js';
import { mulberry32 as rng } from '../../src/random.js';

const v = PROTOCOL_VERSION;

// ───────────── one valid sample of every message kind, by schema ─────────────

const info = {
  host: 'node12',
  pid: 4711,
  slots: 8,
  cpus: { logical: 16, physical: 8, usable: 8 },
  memory: { total: 64e9, available: 50e9, limit: 32e9 },
  slurm: { jobId: '123', node: 'node12', cpusOnNode: 8, memPerNode: 32e9, endTime: 1763800000000 },
  spot: true,
  allowCommand: false,
  kinds: ['custom'],
};
function withoutSlurm<T extends { slurm?: unknown }>(x: T): Omit<T, 'slurm'> {
  const { slurm: _, ...rest } = x;
  return rest;
}
const jobStatus = {
  job: 'geom',
  kind: 'conformers',
  state: 'running' as const,
  total: 100,
  done: 40,
  failed: 1,
  running: 8,
  queued: 52,
  retried: 2,
  speculated: 0,
  rate: 12.5,
  etaS: null,
  startedAt: 1763800000000,
  endedAt: null,
  out: '/out/geom.jsonl',
  notes: ['no agent allows command tasks'],
};
const row = '{"job":"geom","task":"mol_0007","kind":"conformers","status":"ok","value":{}}\n';
const errRow = '{"job":"geom","task":"mol_0031","kind":"conformers","status":"error","error":{}}\n';
const err = errorReply('E_NOT_FOUND', "no job named 'x'");

const samples: { [N in SchemaName]: Array<Record<string, unknown>> } = {
  Hello: [
    { kind: 'hello', v, agent: 'node12-4711', info, held: [['geom', 'mol_0007', 1]] },
    { kind: 'hello', v, agent: 'a-1', info: { ...withoutSlurm(info), kinds: [] }, held: [] },
  ],
  HelloReply: [{ kind: 'welcome', v, agent: 'node12-4711', epoch: 3, boot: 'abc123', heartbeatMs: 2000, seq: 17, coordinator: { boot: 'abc123', host: 'head', pid: 42, since: 1763700000000, outDir: '/data/out' } }, err],
  Pull: [
    {
      kind: 'pull',
      v,
      agent: 'node12-4711',
      epoch: 3,
      seq: 17,
      want: 16,
      freeSlots: 8,
      memory: 31.5e9,
      waitMs: 5000,
      reports: [
        { job: 'geom', id: 'mol_0031', attempt: 2, error: { code: 'E_INPUT', message: '22 heavy atoms, reference has 23' } },
        { job: 'geom', id: 'mol_0032', attempt: 1 },
      ],
    },
  ],
  PullReply: [
    {
      kind: 'dispatch',
      v,
      seq: 18,
      jobs: [{ job: 'geom', kind: 'conformers', params: { delta: 0.75, files: ['a.sdf'], symmetry: true } }],
      bundles: [
        { job: 'geom', threads: 1, tasks: [{ id: 'mol_0007', attempt: 1, cost: 12.5, final: false, ref: { file: 'gen.sdf', ranges: [[0, 1024]] } }] },
        { job: 'geom', threads: 4, tasks: [{ id: 'mol_0008', attempt: 3, cost: 0, final: true, ref: null }] },
      ],
    },
    { kind: 'rejoin', v, reason: 'unknown agent' },
    err,
  ],
  Heartbeat: [{ kind: 'heartbeat', v, agent: 'node12-4711', epoch: 3, busySlots: 5, memory: 1.25e9, state: 'draining', done: 100 }],
  AgentCmd: [
    { kind: 'abort', v, job: 'geom', tasks: ['mol_0007', 'mol_0008'], reason: 'speculative copy lost' },
    { kind: 'abort', v, job: 'geom', reason: 'cancelled' },
    { kind: 'drain', v, graceMs: 30000 },
    { kind: 'drain', v },
  ],
  ResultBatch: [
    {
      kind: 'results',
      v,
      from: 'node12-4711',
      seq: 9,
      groups: [{ job: 'geom', ids: ['mol_0007', 'mol_0031'], attempts: [1, 3], status: 'oe', ms: [3.25, 0], ends: [row.length, row.length + errRow.length], text: row + errRow }],
    },
    { kind: 'results', v, from: 'coordinator', seq: 0, groups: [] },
  ],
  AckReply: [{ kind: 'ack', v, seq: 9, written: 1, duplicates: 0, refused: 0 }, err],
  OwnerClaim: [{ kind: 'claim', v, claimant: { boot: 'abc123', host: 'head', pid: 4711, since: 1763800000000, outDir: '/data/out' } }],
  OwnerReply: [{ kind: 'owner', v, owner: { boot: 'def456', host: 'head', pid: 42, since: 1763700000000, outDir: '/data/out' } }, err],
  CtlRequest: [
    { kind: 'submit', v, spec: { job: 'geom', kind: 'conformers', params: { delta: 0.75 }, out: '/out/geom.jsonl', maxAttempts: 3, granularity: 'auto', speculate: false } },
    { kind: 'submit', v, spec: { job: 'spin-1', kind: 'spin', params: { tasks: 10, ms: 1 }, granularity: 64, out: 'runs/spin-1.jsonl', force: true } },
    { kind: 'status', v, job: 'geom' },
    { kind: 'status', v },
    { kind: 'cancel', v, job: 'geom' },
    { kind: 'cancel', v, job: 'geom', downstream: true },
    { kind: 'drain', v, agent: 'node12-4711', graceMs: 5000 },
  ],
  CtlReply: [
    { kind: 'submitted', v, job: 'geom', tasks: 100, alreadyDone: 40, out: '/out/geom.jsonl' },
    {
      kind: 'status',
      v,
      now: 1763800001000,
      jobs: [
        jobStatus,
        { ...jobStatus, job: 'old', state: 'done', etaS: 0, endedAt: 1763800000500, notes: [] },
        // A stage fed by geom's rows that was also submitted after old.
        { ...jobStatus, job: 'score', kind: 'python', from: 'geom', after: ['old'], waitingFor: ['old'] },
      ],
      agents: [{ agent: 'node12-4711', host: 'node12', state: 'active', slots: 8, busy: 8, memory: 3e10, done: 40, lastSeenMs: 120, spot: false }],
    },
    { kind: 'cancelled', v, job: 'geom', state: 'cancelled' },
    { kind: 'cancelled', v, job: 'geom', state: 'cancelled', also: ['score', 'report'] },
    { kind: 'draining', v, agent: 'node12-4711' },
    err,
  ],
  Event: [{ kind: 'job-ended', v, job: 'geom', state: 'done' }],
};

/** Drops `undefined` fields (msgpack has no "absent"): what a round trip should give back. */
const plain = (x: unknown): unknown => JSON.parse(JSON.stringify(x));
const schemaNames = Object.keys(Schemas) as SchemaName[];


function rejected(name: SchemaName, data: Uint8Array): { reason: string; detail: string; version?: unknown; kind?: string } {
  const d = decode(name, data);
  assert.equal(d.ok, false, `${name}: expected a rejection, got ${JSON.stringify(d.ok ? d.msg : null)}`);
  return d as { ok: false; reason: string; detail: string; version?: unknown; kind?: string };
}

describe('codec: round trip', () => {
  it('has a sample for every schema', () => {
    for (const name of schemaNames) assert.ok(samples[name]?.length > 0, `no sample for ${name}`);
  });

  for (const name of schemaNames) {
    it(`${name}: every sample survives encode → decode`, () => {
      for (const msg of samples[name]) {
        const d = decode(name, encode(msg));
        assert.ok(d.ok, `${name} ${String(msg.kind)} rejected: ${d.ok ? '' : `${d.reason} ${d.detail}`}`);
        assert.deepEqual(d.msg, plain(msg));
      }
    });
  }

  it('a batch of thousands of tasks round-trips (records are defined inline, no shared state)', () => {
    const n = 5000;
    const ids = Array.from({ length: n }, (_, i) => `t${i}`);
    const msg = {
      kind: 'results',
      v,
      from: 'a-1',
      seq: 1,
      groups: [{ job: 'j', ids, attempts: ids.map(() => 1), status: 'o'.repeat(n), ms: ids.map((_, i) => i / 3), ends: ids.map((_, i) => (i + 1) * row.length), text: row.repeat(n) }],
    };
    const d = decode('ResultBatch', encode(msg));
    assert.ok(d.ok, d.ok ? '' : d.detail);
    assert.deepEqual(d.msg, msg);
  });

  it('a message of one kind is rejected as a shape error under another schema', () => {
    assert.equal(rejected('Pull', encode(samples.Heartbeat[0]!)).reason, 'shape');
    assert.equal(rejected('Hello', encode(samples.Pull[0]!)).reason, 'shape');
    assert.equal(rejected('CtlRequest', encode(samples.CtlReply[0]!)).reason, 'shape');
  });
});

describe('codec: in-process hand-over', () => {
  it('encode hands the message itself over once asked to, and decode checks it like bytes', () => {
    const hb = samples.Heartbeat[0]!;
    handOverInProcess(true);
    try {
      const data = encode(hb);
      assert.ok(data instanceof LocalMessage);
      assert.equal(data.byteLength, 0);
      const d = decode('Heartbeat', data);
      assert.ok(d.ok, d.ok ? '' : d.detail);
      assert.equal(d.msg, hb, 'the very object, not a copy');
      assert.equal(decodeRaw(data), hb);
      // Version and shape are still checked.
      assert.equal(rejected('Heartbeat', encode({ ...hb, v: v + 1 })).reason, 'version');
      assert.equal(rejected('Pull', encode(hb)).reason, 'shape');
      assert.equal(rejected('Heartbeat', new LocalMessage([1, 2] as unknown as object)).reason, 'shape');
      // On a wire it is encoded, and decodes to an equal message.
      const wire = onTheWire(data);
      assert.ok(!(wire instanceof LocalMessage) && wire.byteLength > 0);
      assert.deepEqual(decodeRaw(wire), plain(hb));
      assert.equal(onTheWire(wire), wire, 'bytes pass as they are');
      assert.equal(data.subarray(0).constructor, Uint8Array, 'a slice is plain bytes');
    } finally {
      handOverInProcess(false);
    }
    assert.ok(!(encode(hb) instanceof LocalMessage));
  });
});

describe('codec: garbage', () => {
  it('bytes that are not msgpack are rejected as garbage', () => {
    for (const bad of [new Uint8Array(0), new TextEncoder().encode('hello, world'), Uint8Array.from([0xff, 0xfe, 0xfd, 0x00, 0x13])]) {
      for (const name of schemaNames) assert.equal(rejected(name, bad).reason, 'garbage', `${name} ${Buffer.from(bad).toString('hex')}`);
    }
  });

  it('the reserved msgpack byte 0xC1 is rejected as garbage', () => {
    // msgpackr decodes 0xC1 into a sentinel object, which must not pass for a message.
    for (const name of schemaNames) assert.equal(rejected(name, Uint8Array.of(0xc1)).reason, 'garbage', name);
  });

  it('a valid message followed by extra bytes is rejected as garbage', () => {
    const b = encode(samples.Heartbeat[0]!);
    assert.equal(rejected('Heartbeat', Uint8Array.from([...b, 0x01, 0x02])).reason, 'garbage');
  });

  it('every truncation of every sample is rejected as garbage', () => {
    for (const name of schemaNames) {
      for (const msg of samples[name]) {
        const b = encode(msg);
        for (let n = 0; n < b.length; n++) {
          const d = decode(name, b.subarray(0, n));
          assert.ok(!d.ok && d.reason === 'garbage', `${name} ${String(msg.kind)} cut to ${n} of ${b.length} bytes: ${JSON.stringify(d)}`);
        }
      }
    }
  });

  it('decode never throws: random bytes and randomly damaged messages', () => {
    const rand = rng(0x5e0a1);
    const encoded = schemaNames.flatMap((name) => samples[name].map((m) => [name, encode(m)] as const));
    for (let i = 0; i < 4000; i++) {
      const name = schemaNames[i % schemaNames.length]!;
      let data: Uint8Array;
      if (i % 2 === 0) {
        data = Uint8Array.from({ length: 1 + Math.floor(rand() * 96) }, () => Math.floor(rand() * 256));
      } else {
        const [, b] = encoded[Math.floor(rand() * encoded.length)]!;
        data = Uint8Array.from(b);
        for (let k = 1 + Math.floor(rand() * 4); k > 0; k--) data[Math.floor(rand() * data.length)] = Math.floor(rand() * 256);
      }
      let d: ReturnType<typeof decode>;
      try {
        d = decode(name, data);
      } catch (e) {
        assert.fail(`decode('${name}', ${Buffer.from(data).toString('hex')}) threw: ${(e as Error).message}`);
      }
      if (!d.ok) assert.ok(['garbage', 'shape', 'version'].includes(d.reason), d.reason);
      else assert.ok(Schemas[name] && typeof (d.msg as { kind?: unknown }).kind === 'string');
    }
  });
});

describe('codec: shape', () => {
  it('valid msgpack that is not a map is a shape error', () => {
    for (const x of [[1, 2, 3], 'hello', 42, -1.5, null, true, new Uint8Array([1, 2])]) {
      for (const name of schemaNames) assert.equal(rejected(name, encode(x as object)).reason, 'shape', `${name}: ${x instanceof Uint8Array ? 'binary' : JSON.stringify(x)}`);
    }
  });

  const hb = samples.Heartbeat[0]!;
  const cases: Array<[string, SchemaName, Record<string, unknown>]> = [
    ['a missing field', 'Heartbeat', { ...hb, agent: undefined }],
    ['a field of the wrong type', 'Heartbeat', { ...hb, agent: 5 }],
    ['a string enum out of range', 'Heartbeat', { ...hb, state: 'sleeping' }],
    ['a negative count', 'Heartbeat', { ...hb, busySlots: -1 }],
    ['an unknown kind', 'AgentCmd', { kind: 'reboot', v }],
    ['an empty id', 'CtlRequest', { kind: 'cancel', v, job: '' }],
    ['an id over 512 characters', 'CtlRequest', { kind: 'cancel', v, job: 'x'.repeat(513) }],
    ['a downstream flag that is not a boolean', 'CtlRequest', { kind: 'cancel', v, job: 'geom', downstream: 'yes' }],
    ['an empty id among the jobs a cancel also ended', 'CtlReply', { kind: 'cancelled', v, job: 'geom', state: 'cancelled', also: ['score', ''] }],
    ['a from that is not a job id', 'CtlReply', { kind: 'status', v, now: 1, jobs: [{ ...jobStatus, from: 7 }], agents: [] }],
    ['an after that is not a list', 'CtlReply', { kind: 'status', v, now: 1, jobs: [{ ...jobStatus, after: 'old' }], agents: [] }],
    ['zero slots', 'Hello', { ...samples.Hello[0]!, info: { ...info, slots: 0 } }],
    ['a held task of the wrong arity', 'Hello', { ...samples.Hello[0]!, held: [['geom', 'mol_1']] }],
    ['a bundle without tasks', 'PullReply', { kind: 'dispatch', v, seq: 1, jobs: [], bundles: [{ job: 'j', threads: 1, tasks: [] }] }],
    ['a task with attempt 0', 'PullReply', { kind: 'dispatch', v, seq: 1, jobs: [], bundles: [{ job: 'j', threads: 1, tasks: [{ id: 't', attempt: 0, cost: 1, final: false, ref: 1 }] }] }],
    ['a result status letter other than o and e', 'ResultBatch', { kind: 'results', v, from: 'a', seq: 1, groups: [{ job: 'j', ids: ['t'], attempts: [1], status: 'x', ms: [0], ends: [2], text: '{}' }] }],
    ['a claim without its claimant', 'OwnerClaim', { kind: 'claim', v }],
    ['a hello holding over a million tasks', 'Hello', { ...samples.Hello[0]!, held: Array.from({ length: (1 << 20) + 1 }, () => ['j', 't', 1]) }],
    ['a granularity of 0', 'CtlRequest', { kind: 'submit', v, spec: { job: 'j', kind: 'spin', params: {}, granularity: 0 } }],
  ];
  for (const [what, name, msg] of cases) {
    it(`${name} with ${what} is a shape error naming the kind`, () => {
      const r = rejected(name, encode(plain(msg) as object));
      assert.equal(r.reason, 'shape', r.detail);
      assert.equal(r.kind, typeof msg.kind === 'string' ? msg.kind : undefined);
    });
  }

  it('a map without a protocol version is a shape error, not another version', () => {
    for (const msg of [{}, { foo: 1 }, { ...hb, v: undefined }]) {
      const r = rejected('Heartbeat', encode(plain(msg) as object));
      assert.equal(r.reason, 'shape', `${JSON.stringify(msg)}: ${r.reason} (${r.detail})`);
    }
  });

  it('fields a schema does not name pass the check: optional fields added later reach a peer built before them', () => {
    // As a CLI built before `from`, `after` and `also` sees a status and a cancel reply, and a
    // coordinator built before `downstream` sees the cancel request (it then cancels the job alone).
    const later: Array<[SchemaName, Record<string, unknown>]> = [
      ['CtlReply', { kind: 'status', v, now: 1, jobs: [{ ...jobStatus, lineage: { from: 'x' } }], agents: [] }],
      ['CtlReply', { kind: 'cancelled', v, job: 'geom', state: 'cancelled', reachedToo: ['a'] }],
      ['CtlRequest', { kind: 'cancel', v, job: 'geom', alsoBelow: true }],
    ];
    for (const [name, msg] of later) {
      const d = decode(name, encode(msg));
      assert.ok(d.ok, `${name} ${String(msg.kind)}: ${d.ok ? '' : d.detail}`);
    }
  });

  it('a version that is not a non-negative integer is a shape error, not another version', () => {
    for (const bad of ['1', 1.5, -1, true, [1]]) {
      const r = rejected('Heartbeat', encode({ ...hb, v: bad }));
      assert.equal(r.reason, 'shape', `v=${JSON.stringify(bad)}: ${r.reason} (${r.detail})`);
    }
  });
});

describe('codec: version', () => {
  it('another protocol version is rejected before the shape check, echoing the version and kind', () => {
    for (const other of [0, PROTOCOL_VERSION - 1, PROTOCOL_VERSION + 1, 99]) {
      for (const name of schemaNames) {
        for (const msg of samples[name]) {
          const r = rejected(name, encode({ ...msg, v: other }));
          assert.equal(r.reason, 'version', `${name} v=${other}: ${r.detail}`);
          assert.equal(r.version, other);
          assert.equal(r.kind, msg.kind);
        }
      }
    }
    // Another version with an otherwise unknown shape: still a version refusal (the peer is told why).
    const r = rejected('Hello', encode({ kind: 'hello', v: PROTOCOL_VERSION + 1, something: 'new' }));
    assert.equal(r.reason, 'version');
  });

  it('the refusal text names both versions', () => {
    const text = versionMismatchMessage(99, 'peer');
    assert.match(text, /\b99\b/);
    assert.match(text, new RegExp(`\\b${PROTOCOL_VERSION}\\b`));
  });

  it('errorReply is a valid reply of every request kind', () => {
    const e = errorReply('E_PROTOCOL', 'nope');
    assert.deepEqual(e, { kind: 'error', v, code: 'E_PROTOCOL', message: 'nope' });
    for (const name of ['HelloReply', 'PullReply', 'AckReply', 'OwnerReply', 'CtlReply'] as const) {
      const d = decode(name, encode(e));
      assert.ok(d.ok, name);
    }
  });

  it('decodeRaw gives the plain value back', () => {
    assert.deepEqual(decodeRaw(encode({ a: [1, 'b', null] })), { a: [1, 'b', null] });
  });
});

describe('subjects', () => {
  it('every subject of a namespace lives under shoal.<ns>. and is distinct', () => {
    const s = subjects('ns-1');
    const all = [...CTL_VERBS.map((verb) => s.ctl(verb)), s.owner, s.hello('p'), s.pull('p'), s.heartbeat('p'), s.agentCmd('node12-4711@p'), s.results('p'), s.events, ...Object.values(s.legacy)];
    for (const x of all) assert.ok(x.startsWith('shoal.ns-1.'), x);
    assert.equal(new Set(all).size, all.length);
    assert.equal(s.ctlAll, 'shoal.ns-1.ctl.*');
    assert.ok(!all.some((x) => /[*>]/.test(x)));
  });

  it('namespaces that would break the subject hierarchy are refused', () => {
    for (const bad of ['', 'a.b', '*', '>', 'a b', 'x'.repeat(65), 'ns/1']) assert.throws(() => checkNamespace(bad), /namespace/, JSON.stringify(bad));
    for (const good of ['default', 'slurm-123456', 'A_b-9', 'x'.repeat(64)]) assert.equal(checkNamespace(good), good);
  });

  it('agent ids become one safe subject token', () => {
    assert.equal(subjectToken('node12.cluster-4711'), 'node12_cluster-4711');
    assert.equal(subjectToken('a b*>.c'), 'a_b___c');
    assert.equal(subjects('n').agentCmd('h.x-1'), 'shoal.n.agent._.cmd.h_x-1');
    assert.equal(subjects('n').agentCmd('h.x-1@chem-agent-2'), 'shoal.n.agent.chem-agent-2.cmd.h_x-1_chem-agent-2');
  });

  it('an agent id names its principal after its last @; a subject speaks only for ids of its principal', () => {
    const s = subjects('n');
    assert.equal(principalOf('node12-4711'), ANONYMOUS);
    assert.equal(principalOf('node12-4711@chem-agent-3'), 'chem-agent-3');
    assert.equal(principalOfSubject(s.hello('chem-agent-3'), s.prefix), 'chem-agent-3');
    assert.equal(principalOfSubject(s.results('chem-agent-3'), s.prefix), 'chem-agent-3');
    assert.equal(principalOfSubject(s.ctl('status'), s.prefix), null);
    assert.ok(speaksFor('chem-agent-3', 'node12-4711@chem-agent-3'));
    assert.ok(!speaksFor('chem-agent-4', 'node12-4711@chem-agent-3'));
    assert.ok(!speaksFor('chem-agent-4', 'node12-4711'));
    assert.ok(speaksFor(ANONYMOUS, 'node12-4711'));
    assert.ok(!speaksFor(ANONYMOUS, 'node12-4711@chem-agent-3'));
  });
});
