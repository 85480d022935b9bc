/**
 * The scheduling core under a simulated clock: a thousand agents joining, pulling, running,
 * vanishing (some coming back with stale leases), with a simulated sink that keeps the first
 * result per task. Every task must end committed exactly once, and the invariants must hold
 * after every step.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Command } from '../../coordinator/index.js';
import { agentInfo, commit, halving, newScheduler, ofKind, pullParams, rng, submit, tasks } from '../helpers/sched.js';

interface SimAgent {
  id: string;
  slots: number;
  epoch: number;
  seq: number;
  alive: boolean;
  /** Vanished but may come back (its leases become stale). */
  gone: boolean;
  parked: boolean;
  /** Tasks it runs: id → (attempt, finish time). */
  running: Map<string, { attempt: number; at: number }>;
  lastBeat: number;
}

/**
 * With `split`, tasks may be split while dispatching; commits then report a time in proportion
 * to the task's cost (so the scheduler measures seconds per cost unit) and the check is that the
 * committed pieces of every task cover its cost exactly once.
 */
function simulate(o: { speculate: boolean; taskMs: [number, number]; seed: number; split?: boolean }): { steps: number; status: ReturnType<ReturnType<typeof newScheduler>['status']>['jobs'][number] } {
  const rand = rng(o.seed);
  const s = newScheduler({ agentTimeoutMs: 10_000, maxAttempts: 50, dispatchMs: 50, speculate: o.speculate, speculateFactor: 3 });
  let now = 1_000_000;
  const N = 30_000;
  const sinkFirst = new Map<string, number>(); // task → commits written by the sink
  const agents: SimAgent[] = [];
  let pending: Command[] = [];

  const apply = (cmds: Command[]): void => {
    for (const c of cmds) pending.push(c);
  };
  const cost = (i: number): number => 1 + (i % 97);
  const costOf = new Map<string, number>();
  const submitCmds = submit(s, 'J', tasks(N, cost), o.split ? { split: halving(0.25), now } : { now });
  apply(submitCmds);

  const commitFrom = (a: SimAgent, ids: Array<[string, number]>): void => {
    const items: Array<[string, 'ok' | 'error', number, string, number]> = [];
    for (const [id, attempt] of ids) {
      const prior = sinkFirst.get(id);
      if (prior === undefined) {
        sinkFirst.set(id, 1);
        items.push([id, 'ok', attempt, a.id, o.split ? costOf.get(id)! * 1000 : 5]);
      } else {
        items.push([id, 'ok', attempt, a.id, 0]); // duplicate re-announced
      }
    }
    if (items.length) apply(s.onCommitted(commit('J', items), now));
  };

  let steps = 0;
  while (steps < 5000) {
    steps++;
    now += 50 + Math.floor(rand() * 100);
    // Joins: up to 1,000 agents over the first part of the run.
    if (agents.length < 1000 && rand() < 0.9) {
      for (let k = 0; k < 5 && agents.length < 1000; k++) {
        const id = `a${agents.length}`;
        const slots = 1 + Math.floor(rand() * 8);
        const { epoch, seq, commands } = s.onHello(id, agentInfo({ slots }), [], now);
        apply(commands);
        agents.push({ id, slots, epoch, seq, alive: true, gone: false, parked: false, running: new Map(), lastBeat: now });
      }
    }
    for (const a of agents) {
      if (!a.alive) continue;
      // Vanish (crash or partition) now and then.
      if (rand() < 0.0015) {
        a.alive = false;
        a.gone = true;
        a.parked = false;
        continue;
      }
      // Finish tasks whose time has come.
      const finished: Array<[string, number]> = [];
      for (const [id, r] of a.running) {
        if (r.at <= now) {
          finished.push([id, r.attempt]);
          a.running.delete(id);
        }
      }
      commitFrom(a, finished);
      if (now - a.lastBeat >= 2000) {
        if (!s.onHeartbeat(a.id, a.epoch, a.running.size, 2 ** 34, false, now)) a.parked = false;
        a.lastBeat = now;
      }
      const want = Math.max(0, a.slots * 2 - Math.ceil(a.running.size / 4));
      if (!a.parked && want > 0) {
        a.parked = true;
        apply(s.onPull(a.id, pullParams(a.epoch, a.seq, want), a, now));
      }
    }
    // Some vanished agents come back: late results of stale leases reach the sink, then they rejoin.
    for (const a of agents) {
      if (!a.gone || rand() > 0.01) continue;
      const late: Array<[string, number]> = [...a.running].map(([id, r]) => [id, r.attempt]);
      a.running.clear();
      commitFrom(a, late);
      const { epoch, seq, commands } = s.onHello(a.id, agentInfo({ slots: a.slots }), [], now);
      apply(commands);
      Object.assign(a, { epoch, seq, alive: true, gone: false, parked: false, lastBeat: now });
    }
    apply(s.onTick(now));
    // Deliver replies.
    const cmds = pending;
    pending = [];
    for (const c of cmds) {
      if (c.kind === 'reply-pull') {
        const a = c.token as SimAgent;
        if (!a.alive) continue; // lost on the way: the seq gap will show it
        a.parked = false;
        a.seq = c.seq;
        for (const b of c.bundles) {
          for (const t of b.tasks) {
            costOf.set(t.id, t.cost);
            a.running.set(t.id, { attempt: t.attempt, at: now + o.taskMs[0] + Math.floor(rand() * (o.taskMs[1] - o.taskMs[0])) });
          }
        }
      } else if (c.kind === 'rejoin') {
        const a = c.token as SimAgent;
        const { epoch, seq, commands } = s.onHello(a.id, agentInfo({ slots: a.slots }), [...a.running].map(([id, r]) => ['J', id, r.attempt]), now);
        Object.assign(a, { epoch, seq, parked: false });
        apply(commands);
      } else if (c.kind === 'abort') {
        const a = agents.find((x) => x.id === c.agent);
        if (a) for (const id of c.tasks ?? [...a.running.keys()]) a.running.delete(id);
      }
    }
    s.check();
    if (s.jobState('J') === 'done') break;
  }
  assert.equal(s.jobState('J'), 'done', `job not done after ${steps} steps: ${JSON.stringify(s.status(now).jobs[0])}`);
  for (const [id, n] of sinkFirst) assert.equal(n, 1, `task ${id} written ${n} times`);
  const st = s.status(now).jobs[0]!;
  if (o.split) {
    // The committed pieces of each task cover its cost, and none is a piece of another.
    const covered = new Map<string, number>();
    for (const id of sinkFirst.keys()) {
      for (let j = id.indexOf('/'); j > 0; j = id.indexOf('/', j + 1)) assert.ok(!sinkFirst.has(id.slice(0, j)), `${id} and ${id.slice(0, j)} both committed`);
      const root = id.split('/')[0]!;
      covered.set(root, (covered.get(root) ?? 0) + costOf.get(id)!);
    }
    assert.equal(covered.size, N);
    for (const [root, c] of covered) assert.ok(Math.abs(c - cost(Number(root.slice(1)))) < 1e-9, `${root}: pieces cover ${c} of ${cost(Number(root.slice(1)))}`);
    assert.equal(st.done, N + st.split!);
  } else {
    assert.equal(sinkFirst.size, N);
    assert.equal(st.done, N);
  }
  assert.equal(st.failed, 0);
  return { steps, status: st };
}

test('1,000 agents joining, pulling and vanishing: every task committed exactly once', () => {
  const { steps, status } = simulate({ speculate: false, taskMs: [20, 420], seed: 20261122 });
  assert.ok(status.retried > 0, `some tasks were requeued after agent losses: ${JSON.stringify(status)} after ${steps} steps`);
});

test('the same with speculative copies of stragglers: still exactly once', () => {
  const { steps, status } = simulate({ speculate: true, taskMs: [200, 3200], seed: 7 });
  assert.ok(status.speculated > 0, `some stragglers were copied: ${JSON.stringify(status)} after ${steps} steps`);
});

test('the same with tasks split while dispatching: every task covered exactly once by its committed pieces', () => {
  const { steps, status } = simulate({ speculate: true, taskMs: [200, 3200], seed: 11, split: true });
  assert.ok(status.split! > 10, `some tasks were split: ${JSON.stringify(status)} after ${steps} steps`);
});

test('lost agents: leases expire after the timeout and tasks are requeued with attempt+1', () => {
  const s = newScheduler({ agentTimeoutMs: 10_000 });
  let now = 0;
  submit(s, 'J', tasks(4), { now });
  const a = s.onHello('a', agentInfo({ slots: 4 }), [], now);
  const first = ofKind(s.onPull('a', pullParams(a.epoch, a.seq, 4), 'tokA', now), 'reply-pull')[0]!;
  const leased = first.bundles.flatMap((b) => b.tasks);
  assert.ok(leased.length > 0);
  assert.ok(leased.every((t) => t.attempt === 1));
  now += 9_999;
  s.onTick(now);
  s.check();
  assert.equal(s.status(now).agents[0]!.state, 'active', 'not lost before the timeout');
  now += 2;
  const cmds = s.onTick(now);
  s.check();
  assert.equal(s.status(now).agents[0]!.state, 'lost');
  assert.ok(ofKind(cmds, 'log').some((l) => l.msg.includes('agent lost')));
  const b = s.onHello('b', agentInfo({ slots: 4 }), [], now);
  const again = ofKind(s.onPull('b', pullParams(b.epoch, b.seq, 4), 'tokB', now), 'reply-pull')[0]!.bundles.flatMap((x) => x.tasks);
  for (const t of leased) assert.equal(again.find((x) => x.id === t.id)?.attempt, 2, `task ${t.id} back with attempt 2`);
  // The lost agent's old epoch is refused: it must say hello again.
  const stale = s.onPull('a', pullParams(a.epoch, a.seq, 4), 'tokA2', now);
  assert.equal(stale[0]!.kind, 'rejoin');
});

test('after --max-attempts losses a task becomes an error row, and its commit ends the job', () => {
  const s = newScheduler({ agentTimeoutMs: 1000, maxAttempts: 2 });
  let now = 0;
  submit(s, 'J', tasks(1), { now });
  let errorRows: Array<Extract<Command, { kind: 'error-rows' }>> = [];
  for (let i = 0; i < 2; i++) {
    const a = s.onHello(`a${i}`, agentInfo(), [], now);
    const r = ofKind(s.onPull(`a${i}`, pullParams(a.epoch, a.seq, 1), 't', now), 'reply-pull')[0]!;
    assert.equal(r.bundles[0]!.tasks[0]!.final, i === 1, 'the last allowed attempt is marked final');
    now += 1001;
    errorRows = ofKind(s.onTick(now), 'error-rows');
    s.check();
  }
  assert.equal(errorRows.length, 1);
  assert.equal(errorRows[0]!.rows[0]!.error.code, 'E_LOST');
  const end = s.onCommitted(commit('J', [['t0', 'error', 2, 'coordinator', 0, 0]]), now);
  s.check();
  assert.deepEqual(ofKind(end, 'job-ended').map((e) => e.state), ['done']);
  assert.equal(s.status(now).jobs[0]!.failed, 1);
});
