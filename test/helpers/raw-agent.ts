/**
 * An agent spoken by hand on a raw bus connection, for tests that replay, forge or flood:
 * it says hello, pulls, heartbeats and sends result batches exactly as it is told, right or
 * wrong.
 *
 *   const a = new RawAgent(bus, subjects(ns), 'forger-1');
 *   await a.hello();
 *   const tasks = await a.pull(4);
 *   const ack = await a.send([a.rows('J1', tasks.map((t) => t.id))]);
 */
import assert from 'node:assert/strict';
import type { Bus } from '../../src/bus/index.js';
import { decode, encode, principalOf, PROTOCOL_VERSION, type AckReply, type AgentInfo, type HeldTask, type HelloReply, type PullReply, type ResultGroup, type Subjects, type TaskMsg } from '../../protocol/index.js';
import { GroupBuilder, okRow, type RowHead } from '../../src/rows/index.js';

/** What a small agent says about itself. */
export function rawInfo(slots = 1): AgentInfo {
  return { host: 'raw', pid: 1, slots, cpus: { logical: slots, physical: slots, usable: slots }, memory: { total: 1e9, available: 1e9, limit: 1e9 }, spot: false, allowCommand: false, kinds: [] };
}

export class RawAgent {
  epoch = 0;
  seq = 0;
  private batch = 0;

  constructor(
    readonly bus: Bus,
    readonly subj: Subjects,
    /** The agent id it speaks for. */
    readonly id: string,
    /** The principal of the subjects it sends on (default: its id's own). */
    readonly principal = principalOf(id),
  ) {}

  /** Says hello; returns the reply (a welcome is remembered for later pulls). */
  async hello(held: HeldTask[] = [], info = rawInfo()): Promise<HelloReply> {
    const raw = await this.bus.request(this.subj.hello(this.principal), encode({ kind: 'hello', v: PROTOCOL_VERSION, agent: this.id, info, held }), { timeoutMs: 10_000 });
    const d = decode('HelloReply', raw);
    assert.ok(d.ok, `hello reply: ${d.ok ? '' : d.detail}`);
    if (d.msg.kind === 'welcome') {
      this.epoch = d.msg.epoch;
      this.seq = d.msg.seq;
    }
    return d.msg;
  }

  /** Pulls (no waiting); returns the reply. */
  async pullReply(want: number, o: { freeSlots?: number; waitMs?: number } = {}): Promise<PullReply> {
    const msg = { kind: 'pull', v: PROTOCOL_VERSION, agent: this.id, epoch: this.epoch, seq: this.seq, want, freeSlots: o.freeSlots ?? want, memory: 1e9, waitMs: o.waitMs ?? 0, reports: [] };
    const raw = await this.bus.request(this.subj.pull(this.principal), encode(msg), { timeoutMs: 15_000 });
    const d = decode('PullReply', raw);
    assert.ok(d.ok, `pull reply: ${d.ok ? '' : d.detail}`);
    if (d.msg.kind === 'dispatch') this.seq = d.msg.seq;
    return d.msg;
  }

  /** Pulls and returns the tasks it was given (with their job). */
  async pull(want: number, o: { freeSlots?: number; waitMs?: number } = {}): Promise<Array<TaskMsg & { job: string }>> {
    const r = await this.pullReply(want, o);
    assert.equal(r.kind, 'dispatch', JSON.stringify(r));
    return r.kind === 'dispatch' ? r.bundles.flatMap((b) => b.tasks.map((t) => ({ ...t, job: b.job }))) : [];
  }

  heartbeat(busySlots = 0): void {
    this.bus.publish(this.subj.heartbeat(this.principal), encode({ kind: 'heartbeat', v: PROTOCOL_VERSION, agent: this.id, epoch: this.epoch, busySlots, memory: 1e9, state: 'active', done: 0 }));
  }

  /** Sends one result batch; returns the sink's reply. */
  async send(groups: ResultGroup[], from = this.id): Promise<AckReply> {
    const raw = await this.bus.request(this.subj.results(this.principal), encode({ kind: 'results', v: PROTOCOL_VERSION, from, seq: ++this.batch, groups }), { timeoutMs: 15_000 });
    const d = decode('AckReply', raw);
    assert.ok(d.ok, `ack: ${d.ok ? '' : d.detail}`);
    return d.msg;
  }

  /** A result group of well-formed ok rows (value `{ms: 0}`) for tasks of a spin job. */
  rows(job: string, ids: string[], o: { attempt?: number; agent?: string; value?: string } = {}): ResultGroup {
    const b = new GroupBuilder(job);
    const now = Date.now();
    for (const id of ids) {
      const head: RowHead = { job, task: id, kind: 'spin', attempt: o.attempt ?? 1, agent: o.agent ?? this.id, host: 'raw', worker: 0, start: now, end: now };
      b.add(id, o.attempt ?? 1, true, 1, okRow(head, o.value ?? '{"ms":0}'));
    }
    return b.build();
  }
}
