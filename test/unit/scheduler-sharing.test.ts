/**
 * Several jobs at once in the scheduling core, under a simulated clock: priorities (a job of
 * higher priority takes the next free slots), fair share between equal ones (each about half
 * the slots, a small one done in about its own time, one of unknown speed not starved by one
 * that keeps every slot supplied), and barriers (`--after`: nothing
 * dispatched until the upstream jobs end; --after-ok cancels on a bad end). Agents join and
 * vanish on the way; the invariants are checked after every step.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Command, JobOptions, Scheduler } from '../../coordinator/index.js';
import type { JobSpec } from '../../protocol/index.js';
import { agentInfo, BUILTIN, commit, newScheduler, pullParams, replies, submit, tasks } from '../helpers/sched.js';

interface SimAgent {
  id: string;
  slots: number;
  epoch: number;
  seq: number;
  /** Stopped pulling, committing and beating (lost after the timeout). */
  vanished: boolean;
  running: Array<{ job: string; id: string; attempt: number; end: number }>;
}

/** Agents that pull for their free slots, run each task `taskMs` and commit it; the clock moves in steps. */
class Cluster {
  readonly s: Scheduler;
  now = 1_000_000;
  readonly agents: SimAgent[] = [];
  /** Task-milliseconds run per job (a slot busy for 1 ms counts 1). */
  readonly slotMs = new Map<string, number>();
  /** Per job: when its first task was dispatched, and when its last one ended. */
  readonly firstStart = new Map<string, number>();
  readonly lastEnd = new Map<string, number>();
  /** Dispatched task ids per job, in order. */
  readonly dispatched: Array<{ job: string; id: string; at: number }> = [];
  /** Tasks that fail (the agent reports an error row). */
  readonly failing = new Set<string>();

  constructor(readonly taskMs: number) {
    this.s = newScheduler({ agentTimeoutMs: 5_000, maxAttempts: 5 });
  }

  submit(job: string, n: number, extra: Partial<JobSpec> = {}, opts: Partial<JobOptions> = {}): Command[] {
    const cmds = this.s.onSubmit({ job, kind: 'spin', params: {}, ...extra }, tasks(n), new Map(), { ...BUILTIN, granularity: 1, ...opts }, this.now);
    this.s.check();
    return cmds;
  }

  join(id: string, slots: number): void {
    const h = this.s.onHello(id, agentInfo({ slots }), [], this.now);
    this.agents.push({ id, slots, epoch: h.epoch, seq: h.seq, vanished: false, running: [] });
    this.s.check();
  }

  /** One step: finished tasks commit, free slots pull, time passes. */
  step(ms: number): void {
    for (const a of this.agents) {
      if (a.vanished) continue;
      const done = a.running.filter((r) => r.end <= this.now);
      a.running = a.running.filter((r) => r.end > this.now);
      const byJob = new Map<string, typeof done>();
      for (const r of done) byJob.set(r.job, [...(byJob.get(r.job) ?? []), r]);
      for (const [job, rs] of byJob) {
        this.s.onCommitted(commit(job, rs.map((r) => [r.id, this.failing.has(`${job}/${r.id}`) ? 'error' : 'ok', r.attempt, a.id, this.taskMs])), this.now);
        for (const r of rs) this.lastEnd.set(job, Math.max(this.lastEnd.get(job) ?? 0, r.end));
        this.s.check();
      }
      this.s.onHeartbeat(a.id, a.epoch, a.running.length, 2 ** 40, false, this.now);
      const free = a.slots - a.running.length;
      if (free <= 0) continue;
      const cmds = this.s.onPull(a.id, pullParams(a.epoch, a.seq, free, { waitMs: 0 }), `${a.id}-${this.now}`, this.now);
      this.s.check();
      for (const r of replies(cmds)) {
        a.seq = r.seq;
        for (const b of r.bundles) {
          for (const t of b.tasks) {
            a.running.push({ job: b.job, id: t.id, attempt: t.attempt, end: this.now + this.taskMs });
            this.dispatched.push({ job: b.job, id: t.id, at: this.now });
            if (!this.firstStart.has(b.job)) this.firstStart.set(b.job, this.now);
          }
        }
      }
    }
    for (const a of this.agents) {
      if (a.vanished) continue;
      for (const r of a.running) this.slotMs.set(r.job, (this.slotMs.get(r.job) ?? 0) + ms);
    }
    this.now += ms;
    this.s.onTick(this.now);
    this.s.check();
  }

  runUntil(done: () => boolean, ms: number, maxSteps = 100_000): void {
    for (let i = 0; i < maxSteps && !done(); i++) this.step(ms);
    assert.ok(done(), 'the simulation reached its end');
  }

  state(job: string): string | null {
    return this.s.jobState(job);
  }

  status(job: string) {
    return this.s.status(this.now, job).jobs[0]!;
  }
}

test('two equal jobs each get about half the slots, with agents joining and vanishing', () => {
  const c = new Cluster(100);
  for (let i = 0; i < 6; i++) c.join(`a${i}`, 4);
  c.submit('A', 3000);
  c.submit('B', 3000);
  // Measured while both have queued work.
  const bothQueued = (): boolean => c.status('A').queued > 0 && c.status('B').queued > 0;
  let steps = 0;
  while (bothQueued()) {
    c.step(50);
    steps++;
    if (steps === 200) c.join('late', 8);
    if (steps === 400) c.agents[0]!.vanished = true;
  }
  const a = c.slotMs.get('A')!;
  const b = c.slotMs.get('B')!;
  assert.ok(Math.abs(a - b) / (a + b) < 0.1, `A ran ${a} slot-ms, B ${b}: within 10% of half each`);
  c.runUntil(() => c.state('A') === 'done' && c.state('B') === 'done', 50);
  assert.equal(c.status('A').done, 3000);
  assert.equal(c.status('B').done, 3000);
});

test('a high-priority job submitted late takes the next free slots', () => {
  const c = new Cluster(100);
  for (let i = 0; i < 5; i++) c.join(`a${i}`, 4);
  c.submit('big', 2000);
  for (let i = 0; i < 20; i++) c.step(50);
  const at = c.now;
  c.submit('urgent', 200, { priority: 5 });
  c.runUntil(() => c.status('urgent').queued === 0, 50);
  const after = c.dispatched.filter((d) => d.at >= at);
  const firstBig = after.findIndex((d) => d.job === 'big');
  const lastUrgent = after.map((d) => d.job).lastIndexOf('urgent');
  assert.ok(firstBig === -1 || firstBig > lastUrgent, 'no task of the low-priority job started while the urgent one had queued tasks');
  assert.equal(c.status('urgent').priority, 5);
  // The urgent job's 200 tasks on 20 slots: ten rounds of 100 ms, not the big job's 10 s.
  c.runUntil(() => c.state('urgent') === 'done', 50);
  assert.ok(c.lastEnd.get('urgent')! - at <= 12 * 100, `urgent done ${c.lastEnd.get('urgent')! - at} ms after its submission`);
  c.runUntil(() => c.state('big') === 'done', 50);
});

test('a small job submitted behind a huge one of equal priority finishes in about its own time', () => {
  const c = new Cluster(100);
  for (let i = 0; i < 5; i++) c.join(`a${i}`, 4);
  c.submit('huge', 5000);
  for (let i = 0; i < 10; i++) c.step(50);
  const at = c.now;
  c.submit('small', 10);
  c.runUntil(() => c.state('small') === 'done', 50);
  // Its own time: one round of tasks, plus the wait for the first slots to free up.
  assert.ok(c.lastEnd.get('small')! - at <= 3 * 100, `small done ${c.lastEnd.get('small')! - at} ms after its submission`);
  assert.equal(c.state('huge'), 'running');
});

test('shoal priority: a running job raised above another takes the free slots from then on', () => {
  const c = new Cluster(100);
  for (let i = 0; i < 4; i++) c.join(`a${i}`, 2);
  c.submit('A', 500);
  c.submit('B', 500);
  for (let i = 0; i < 10; i++) c.step(50);
  const r = c.s.onPriority('B', 3, c.now);
  assert.equal(r.changed, true);
  c.s.check();
  const at = c.now;
  c.runUntil(() => c.status('B').queued === 0, 50);
  assert.ok(c.dispatched.filter((d) => d.at > at).every((d) => d.job === 'B'), 'only B was dispatched while it had queued work');
  assert.equal(c.status('B').priority, 3);
  assert.equal(c.s.onPriority('nope', 1, c.now).changed, false);
});

test('--after: nothing of the waiting job is dispatched until its upstream ends, then it runs', () => {
  const c = new Cluster(100);
  for (let i = 0; i < 3; i++) c.join(`a${i}`, 4);
  c.submit('up', 300);
  c.submit('down', 100, { after: ['up'] });
  assert.deepEqual(c.status('down').waitingFor, ['up']);
  assert.equal(c.status('down').state, 'running', 'a waiting job is running on the wire');
  c.runUntil(() => c.state('up') === 'done', 50);
  assert.equal(c.status('down').waitingFor, undefined);
  c.runUntil(() => c.state('down') === 'done', 50);
  assert.ok(c.firstStart.get('down')! >= c.lastEnd.get('up')!, 'nothing of down started before the last task of up ended');
});

test('--after-ok: an upstream with failed tasks cancels the waiting job, naming why; --after-any runs anyway', () => {
  const c = new Cluster(100);
  c.join('a0', 4);
  c.submit('up', 20, {}, { needsCommand: false });
  for (const i of [3, 7, 11]) c.failing.add(`up/t${i}`);
  c.submit('ok', 10, { after: ['up'] });
  c.submit('any', 10, { after: ['up'], afterAny: true });
  c.runUntil(() => c.state('up') === 'done', 50);
  assert.equal(c.state('ok'), 'cancelled');
  assert.equal(c.status('ok').error, 'upstream job up ended with 3 failed tasks');
  c.runUntil(() => c.state('any') === 'done', 50);
  assert.equal(c.status('any').done, 10);
});

test('--after: an upstream already ended (here or in a record on disk) counts as ended; a cancel reaches a waiting job', () => {
  const c = new Cluster(100);
  c.join('a0', 4);
  c.s.knowEnded('old', { state: 'cancelled', failed: 0 });
  c.submit('x', 5, { after: ['old'] });
  assert.equal(c.state('x'), 'cancelled');
  assert.equal(c.status('x').error, 'upstream job old ended cancelled');
  c.s.knowEnded('fine', { state: 'done', failed: 0 });
  c.submit('y', 5, { after: ['fine'] });
  assert.equal(c.status('y').waitingFor, undefined);
  c.submit('z', 5, { after: ['y'] });
  c.s.onCancel('z', c.now);
  c.s.check();
  assert.equal(c.state('z'), 'cancelled');
  c.runUntil(() => c.state('y') === 'done', 50);
});

/** An agent of 2 slots that pulls for 2 bundles, saying how many slots are free; each pull gives the jobs of its bundles. */
function twoSlotAgent(s: Scheduler): (freeSlots: number, at: number) => string[] {
  const h = s.onHello('a', agentInfo({ slots: 2 }), [], 0);
  let seq = h.seq;
  return (freeSlots, at) => {
    const r = replies(s.onPull('a', pullParams(h.epoch, seq, 2, { freeSlots, waitMs: 0 }), `p${at}`, at))[0];
    s.check();
    if (r) seq = r.seq;
    return (r?.bundles ?? []).map((b) => b.job);
  };
}

test('a job of unknown speed beside one whose short tasks keep every slot supplied gets one bundle queued behind them, up to its fair share', () => {
  const s = newScheduler();
  submit(s, 'U', tasks(10_000), { secondsPerCost: 0.001 });
  const pull = twoSlotAgent(s);
  assert.ok(pull(2, 1).every((j) => j === 'U'), 'U takes both slots');
  // A stage comes (its tasks' length unknown); the agent, busy with U, pulls for its prefetch only.
  submit(s, 'S', tasks(100), { now: 2 });
  const first = pull(0, 3);
  assert.ok(first.includes('S'), `S gets a bundle though no slot is free: ${first.join(',')}`);
  assert.equal(first.filter((j) => j === 'S').length, 1, 'one bundle of S per pull');
  // Its fair share is one of the two slots: held, it gets no more until a slot is free.
  assert.ok(!pull(0, 4).includes('S'));
  assert.ok(pull(1, 5).includes('S'), 'a free slot still goes to it');
});

test('a job of unknown speed alone does not queue behind its own work: it waits for a free slot', () => {
  const s = newScheduler();
  submit(s, 'S', tasks(100));
  const pull = twoSlotAgent(s);
  assert.ok(pull(2, 1).length > 0);
  assert.deepEqual(pull(0, 2), [], 'no free slot: nothing of S is prefetched');
});
