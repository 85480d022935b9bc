/**
 * The invariant check can fail for each invariant it claims: each test breaks one on purpose
 * (reaching into the state through the accessor meant for tests) and sees check() name it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { INVARIANTS, InvariantError, type InvariantName, type Scheduler } from '../../coordinator/index.js';
import { agentInfo, commit, newScheduler, pullParams, replies, submit, taskIds, tasks } from '../helpers/sched.js';

/** Job J of four tasks: two leased to agent a, two queued; agent b idle. */
function busy(): { s: Scheduler; leased: string[]; queued: string[] } {
  const s = newScheduler();
  submit(s, 'J', tasks(4, (i) => i + 1), { granularity: 1 });
  const a = s.onHello('a', agentInfo({ slots: 2 }), [], 0);
  s.onHello('b', agentInfo({ slots: 2 }), [], 0);
  const leased = taskIds(replies(s.onPull('a', pullParams(a.epoch, a.seq, 2), 'pa', 0))[0]!.bundles);
  assert.deepEqual(leased, ['t3', 't2']);
  s.check();
  return { s, leased, queued: ['t1', 't0'] };
}

/** A field the scheduler keeps read-only, written as a bug would. */
function poke<T>(o: T, field: string, value: unknown): void {
  (o as Record<string, unknown>)[field] = value;
}

const inside = (s: Scheduler) => s.internalsForTests();
const job = (s: Scheduler) => inside(s).jobs.get('J')!;
const task = (s: Scheduler, id: string) => job(s).queue.get(id)!;
const agent = (s: Scheduler, id: string) => inside(s).agents.get(id)!;

const breaks: Record<InvariantName, (s: Scheduler, leased: string[], queued: string[]) => void> = {
  'queued-reachable': (s, _l, q) => job(s).queue.forTests().drop(task(s, q[0]!)),
  'holder-alive': (s) => void inside(s).agents.forTests().agents.delete('a'),
  'holder-lists-lease': (s, l) => void agent(s, 'a').leases.delete(task(s, l[0]!)),
  'lessee-recorded': (s, l) => poke(task(s, l[0]!), 'lessees', null),
  'attempts-bounded': (s, _l, q) => poke(task(s, q[0]!), 'attempt', 99),
  counts: (s) => void job(s).queue.forTests().counts.done++,
  'queued-cost': (s) => job(s).queue.forTests().addCost(5),
  'job-end': (s) => {
    // A running job whose tasks are all finished.
    s.onCommitted(commit('J', ['t0', 't1', 't2', 't3'].map((id) => [id, 'ok', 1, 'a', 1])), 1);
    assert.equal(s.jobState('J'), 'done');
    s.check();
    job(s).state = 'running';
    inside(s).running.push(job(s));
  },
  'job-lists': (s) => {
    job(s).state = 'waiting';
  },
  'waiting-upstream': (s) => void job(s).waitingFor.add('X'),
  'waiting-idle': (s) => {
    // A job with leased tasks moved back to waiting (for a job that has not ended).
    inside(s).running.splice(0, 1);
    inside(s).waiting.push(job(s));
    job(s).state = 'waiting';
    job(s).waitingFor.add('X');
  },
  'lost-no-leases': (s) => inside(s).agents.move(agent(s, 'a'), { s: 'lost', since: 0 }),
  // Agent a taken to have left while it still holds its two leases.
  'left-idle': (s) => {
    inside(s).agents.move(agent(s, 'a'), { s: 'draining' });
    inside(s).agents.move(agent(s, 'a'), { s: 'left', since: 0 });
  },
  'lease-held': (s, _l, q) => void agent(s, 'b').leases.add(task(s, q[0]!)),
  'active-slots': (s) => inside(s).agents.forTests().addSlots(1),
  'gpu-fit': (s, l) => poke(task(s, l[0]!), 'gpus', 1),
  'free-gpus': (s) => poke(agent(s, 'a'), 'freeGpus', 1),
  // Agent b's info changed behind the roster's back: one GPU the roster never heard of.
  'largest-gpus': (s) => poke(agent(s, 'b'), 'info', { ...agentInfo({ slots: 2 }), gpus: [{ index: 0 }] }),
};

for (const [name, breakIt] of Object.entries(breaks) as Array<[InvariantName, (typeof breaks)[InvariantName]]>) {
  test(`check() names a broken '${name}' invariant`, () => {
    const { s, leased, queued } = busy();
    breakIt(s, leased, queued);
    assert.throws(
      () => s.check(),
      (err: unknown) => err instanceof InvariantError && err.invariant === name && err.message.startsWith(`invariant ${name}: `),
    );
  });
}

test('every invariant check() claims is broken by one test above', () => {
  assert.deepEqual(Object.keys(breaks).sort(), Object.keys(INVARIANTS).sort());
});

test('a job that ended while a task of it is still queued breaks job-end too', () => {
  const { s } = busy();
  job(s).state = 'done';
  inside(s).running.splice(0, 1);
  assert.throws(() => s.check(), (err: unknown) => err instanceof InvariantError && err.invariant === 'job-end');
});
