/**
 * The sink's group commit, with an injected filesystem: nothing is acknowledged, and no task
 * is committed, before the fsync that covers its rows has returned; batches that arrive while
 * one is fsync'ed share the next fsync; a failed write leaves no bytes behind, commits nothing
 * and stalls the job (said once) until a write succeeds again. Also what the sink refuses:
 * tasks the sender holds no lease on, senders that speak for another agent, rows that are
 * not whole rows of their task.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, beforeEach, describe, it } from 'node:test';
import { MemoryBus } from '../../src/bus/index.js';
import { ANONYMOUS, PROTOCOL_VERSION, subjects, type AckReply, type CommitGroup } from '../../protocol/index.js';
import { silentLogger } from '../../src/log.js';
import { Sink, type OutputFile, type OutputFs, type SinkHost } from '../../src/sink/index.js';
import { RawAgent } from '../helpers/raw-agent.js';
import { until } from '../helpers/wait.js';

const tmp = mkdtempSync(join(tmpdir(), 'shoal-sink-commit-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** A file in memory whose fsyncs wait until the test lets them finish, and whose writes can be made to fail. */
class GatedFile implements OutputFile {
  bytes = Buffer.alloc(0);
  readonly events: string[];
  private gates: Array<() => void> = [];
  /** The next write fails with this errno after writing half its bytes. */
  failNext: string | null = null;
  writes = 0;
  syncs = 0;
  /** What statfs would say is free (null: it cannot tell). */
  freeBytes: number | null = null;
  async free(): Promise<number | null> {
    return this.freeBytes;
  }
  constructor(events: string[]) {
    this.events = events;
  }
  async write(buf: Buffer, position: number): Promise<void> {
    this.writes++;
    const n = this.failNext ? buf.length >> 1 : buf.length;
    const grown = Buffer.alloc(Math.max(this.bytes.length, position + n));
    this.bytes.copy(grown);
    buf.copy(grown, position, 0, n);
    this.bytes = grown;
    if (this.failNext) {
      const err = Object.assign(new Error(`${this.failNext}: no space left on device, write`), { code: this.failNext });
      this.failNext = null;
      this.events.push('write-failed');
      throw err;
    }
    this.events.push(`write ${buf.toString().split('\n').length - 1} rows`);
  }
  sync(): Promise<void> {
    this.syncs++;
    this.events.push('sync');
    return new Promise((r) => this.gates.push(r));
  }
  /** Lets the oldest waiting fsync return. */
  release(): void {
    const g = this.gates.shift();
    assert.ok(g, 'no fsync is waiting');
    this.events.push('synced');
    g();
  }
  get waiting(): number {
    return this.gates.length;
  }
  async truncate(size: number): Promise<void> {
    this.events.push(`truncate ${size}`);
    this.bytes = this.bytes.subarray(0, size);
  }
  async close(): Promise<void> {}
}

describe('sink: group commit and what it believes', () => {
  let bus: MemoryBus;
  let events: string[];
  let file: GatedFile;
  let sink: Sink;
  let leased: Set<string>;
  let committed: CommitGroup[];
  let stalls: Array<string | null>;
  const subj = subjects('t');
  const ids = (n: number, from = 0): string[] => Array.from({ length: n }, (_, i) => `spin_${String(from + i).padStart(3, '0')}`);

  beforeEach(async () => {
    bus = new MemoryBus();
    events = [];
    file = new GatedFile(events);
    leased = new Set(ids(100).map((id) => `agent-1 ${id}`));
    committed = [];
    stalls = [];
    const host: SinkHost = {
      writable: (_job, agent) => (task) => leased.has(`${agent} ${task}`),
      committed: (groups) => {
        events.push(`committed ${groups.reduce((n, g) => n + g.ids.length, 0)}`);
        committed.push(...groups);
      },
      stalled: (_job, reason) => stalls.push(reason),
      inputOf: (_job, task) => ({ number: Number(task.slice(5)) }),
    };
    const fs: OutputFs = { open: async () => ({ file, size: 0 }) };
    // The in-process bus, but rows checked as if they came over the network.
    sink = new Sink(bus, subj, silentLogger(), host, { fs, checkRows: 'always' });
    sink.start();
    await sink.open({ job: 'J', kind: 'spin', params: {}, out: join(tmp, `never-${Math.random()}.jsonl`) });
  });

  const agent = (id = 'agent-1'): RawAgent => new RawAgent(bus, subj, id);
  const settled = (p: Promise<unknown>): { done: boolean } => {
    const s = { done: false };
    void p.then(() => (s.done = true), () => (s.done = true));
    return s;
  };

  it('no ack and no commit notice leave before the fsync that covers the rows has returned', async () => {
    const a = agent();
    const ack = a.send([a.rows('J', ids(3))]);
    const s = settled(ack);
    await until('the fsync is waiting', () => file.waiting === 1, 20_000, 1);
    for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r));
    assert.equal(s.done, false, 'acknowledged before the fsync returned');
    assert.deepEqual(committed, [], 'committed before the fsync returned');
    file.release();
    assert.deepEqual(await ack, { kind: 'ack', v: PROTOCOL_VERSION, seq: 1, written: 3, duplicates: 0, refused: 0 });
    assert.deepEqual(events, ['write 3 rows', 'sync', 'synced', 'committed 3']);
  });

  it('batches that arrive during an fsync share the next one: one write and one fsync for all of them', async () => {
    const a = agent();
    const first = a.send([a.rows('J', ids(2))]);
    await until('the first fsync waits', () => file.waiting === 1, 20_000, 1);
    const more = [a.send([a.rows('J', ids(3, 2))]), a.send([a.rows('J', ids(4, 5))]), a.send([a.rows('J', ids(1, 9))])];
    await until('the three batches wait for the disk', () => sink.stats.written === 10, 20_000, 1);
    assert.equal(file.writes, 1, 'nothing else is written while the first fsync runs');
    file.release();
    await first;
    await until('the second fsync waits', () => file.waiting === 1, 20_000, 1);
    file.release();
    const acks = await Promise.all(more);
    assert.deepEqual(acks.map((x) => (x.kind === 'ack' ? x.written : -1)), [3, 4, 1]);
    assert.deepEqual([file.writes, file.syncs], [2, 2]);
    assert.equal(file.bytes.toString().split('\n').length - 1, 10);
  });

  it('a failed write is cut back, commits nothing, stalls the job once, and the job goes on when writes succeed', async () => {
    const a = agent();
    const ok = a.send([a.rows('J', ids(2))]);
    await until('fsync', () => file.waiting === 1, 20_000, 1);
    file.release();
    await ok;
    const size = file.bytes.length;
    file.failNext = 'ENOSPC';
    const failed: AckReply = await a.send([a.rows('J', ids(3, 2))]);
    assert.equal(failed.kind, 'error');
    assert.equal(failed.kind === 'error' && failed.code, 'E_STALLED');
    assert.match(failed.kind === 'error' ? failed.message : '', /ENOSPC/);
    assert.equal(file.bytes.length, size, 'the half-written rows were cut off');
    assert.ok(events.includes(`truncate ${size}`));
    assert.equal(committed.reduce((n, g) => n + g.ids.length, 0), 2, 'nothing of the failed batch is committed');
    // Resent (as an agent's outbox does) and failing again: still stalled, said only once.
    file.failNext = 'ENOSPC';
    assert.equal((await a.send([a.rows('J', ids(3, 2))])).kind, 'error');
    assert.equal(stalls.length, 1);
    assert.match(stalls[0]!, /ENOSPC/);
    // Where the filesystem tells its free space, a stalled writer does not even try while the
    // rows would not fit: nothing is written (and cut) again and again.
    file.freeBytes = 100;
    const writes = file.writes;
    const probed = await a.send([a.rows('J', ids(3, 2))]);
    assert.equal(probed.kind === 'error' && probed.code, 'E_STALLED');
    assert.equal(file.writes, writes, 'no write while there is no room');
    file.freeBytes = 1 << 20;
    // Room again: the same rows go through, once.
    const again = a.send([a.rows('J', ids(3, 2))]);
    await until('fsync', () => file.waiting === 1, 20_000, 1);
    file.release();
    assert.deepEqual(await again, { kind: 'ack', v: PROTOCOL_VERSION, seq: 5, written: 3, duplicates: 0, refused: 0 });
    assert.deepEqual(stalls, [stalls[0], null]);
    const rows = file.bytes.toString().trim().split('\n').map((l) => JSON.parse(l) as { task: string });
    assert.deepEqual(rows.map((r) => r.task), ids(5));
  });

  it('tasks the sender holds no lease on are refused; the rest of its batch is written', async () => {
    const a = agent();
    leased.delete('agent-1 spin_001');
    const ack = a.send([a.rows('J', ids(3))]);
    await until('fsync', () => file.waiting === 1, 20_000, 1);
    file.release();
    assert.deepEqual(await ack, { kind: 'ack', v: PROTOCOL_VERSION, seq: 1, written: 2, duplicates: 0, refused: 1 });
    assert.deepEqual(committed.flatMap((g) => g.ids), ['spin_000', 'spin_002']);
    // An agent that never held anything: nothing is written, nothing waits for the disk.
    const other = agent('agent-2');
    assert.deepEqual(await other.send([other.rows('J', ids(3))]), { kind: 'ack', v: PROTOCOL_VERSION, seq: 1, written: 0, duplicates: 0, refused: 3 });
    assert.equal(file.writes, 1);
  });

  it('results that speak for another agent, or for the coordinator, are refused whole', async () => {
    const impostor = new RawAgent(bus, subj, 'agent-1@chem-agent-1', 'chem-agent-2');
    const r = await impostor.send([impostor.rows('J', ids(1))]);
    assert.equal(r.kind === 'error' && r.code, 'E_REFUSED');
    const anon = new RawAgent(bus, subj, 'x', ANONYMOUS);
    assert.equal((await anon.send([anon.rows('J', ids(1))], 'coordinator')).kind, 'error');
    assert.equal(file.writes, 0);
  });

  it('rows that are not whole rows of their task become one error row each; an oversize result an E_TOO_LARGE row', async () => {
    const a = agent();
    const bad = [
      '{"job":"J","task":"spin_000","kind":"spin","status":"ok"}\n{"job":"J","task":"spin_000","kind":"spin","status":"ok"}\n', // two lines, no record set
      '{"job":"OTHER","task":"spin_001","kind":"spin","status":"ok"}\n', // another job
      '{"job":"J","task":"spin_002","kind":"spin","status":"ok",\n', // not JSON
      `{"job":"J","task":"spin_003","kind":"spin","status":"ok","value":"${'x'.repeat(6 << 20)}"}\n`, // over the limit
    ];
    const g = a.rows('J', ids(4));
    g.text = bad.join('');
    g.ends = bad.map((_, i) => bad.slice(0, i + 1).join('').length);
    const ack = a.send([g]);
    await until('fsync', () => file.waiting === 1, 20_000, 1);
    file.release();
    assert.equal((await ack).kind, 'ack');
    const rows = file.bytes.toString().trim().split('\n').map((l) => JSON.parse(l) as { task: string; status: string; error: { code: string }; input: unknown });
    // Each says what its task was given, as the coordinator knows it.
    assert.deepEqual(rows.map((r) => [r.task, r.status, r.error.code, r.input]), [
      ['spin_000', 'error', 'E_INTERNAL', { number: 0 }],
      ['spin_001', 'error', 'E_INTERNAL', { number: 1 }],
      ['spin_002', 'error', 'E_INTERNAL', { number: 2 }],
      ['spin_003', 'error', 'E_TOO_LARGE', { number: 3 }],
    ]);
    assert.equal(committed.flatMap((c) => c.status.split('')).join(''), 'eeee');
  });
  it("the coordinator's own rows (cache hits): tasks already written are left out, the others written as given", async () => {
    const a = agent();
    const sent = a.send([a.rows('J', ids(1, 1))]);
    await until('fsync', () => file.waiting === 1, 20_000, 1);
    file.release();
    await sent;
    const own = ids(3).map((id) => `{"job":"J","task":"${id}","kind":"spin","status":"ok","cached":true,"value":"é${id}"}\n`);
    let end = 0;
    const hits = { ids: ids(3), ends: own.map((t) => (end += t.length)), text: own.join(''), rows: [1, 1, 1] };
    const wrote = sink.writeOwn('J', hits);
    await until('fsync of the own rows', () => file.waiting === 1, 20_000, 1);
    file.release();
    await wrote;
    const lines = file.bytes.toString().split('\n').filter(Boolean);
    assert.equal(lines.length, 3, 'one row from the agent, two of the three own');
    assert.deepEqual(lines.slice(1), [own[0]!.trim(), own[2]!.trim()]);
    const last = committed[committed.length - 1]!;
    assert.deepEqual([last.from, last.ids, last.status, last.attempts], ['coordinator', [ids(3)[0], ids(3)[2]], 'oo', [1, 1]]);
    // All written already: nothing more.
    await sink.writeOwn('J', hits);
    assert.equal(file.writes, 2);
  });
});
