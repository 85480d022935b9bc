/**
 * Two hundred agents at once: simulated agents (test/helpers/fleet, real agents on the inline
 * pool, each with a NATS connection of its own) run a 50,000-task `spin --sleep` job on a real
 * coordinator while some vanish without a word (as crashed nodes), some drain, and new ones
 * join; the output has exactly one ok row per task. Tasks go out ten to a dispatch: the test is
 * about agents coming and going, and a dispatch per task would cost the machine most of its CPU
 * in messages.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Fleet } from '../helpers/fleet/fleet.js';
import { assertOneRowPerTask, readRows, spinIds } from '../helpers/rows.js';
import { connArgs, runShoal } from '../helpers/shoal.js';
import { natsSuite } from '../helpers/suite.js';
import { until } from '../helpers/wait.js';

const suite = natsSuite('shoal-fleet-');
const fleets: Fleet[] = [];
after(async () => {
  for (const f of fleets) await f.stop();
});

describe('a fleet of simulated agents', () => {
  it('200 agents, some vanishing, some draining, some joining: one ok row per task of 50,000', async () => {
    // Losses cost an attempt: allow enough that a task caught by several never fails for it.
    const { ns, out, coord, ctl } = await suite.coordinator('fleet', ['--agent-timeout', '3', '--max-attempts', '10']);
    const fleet = new Fleet({ url: suite.nats.url, ns, slots: 2, perHost: 100 });
    fleets.push(fleet);
    const first = await fleet.add(170);

    const tasks = 50_000;
    const sub = await runShoal(['submit', 'spin', '--sleep', '--ms', '50', '--granularity', '10', '--tasks', String(tasks), '--job', 'F1', ...connArgs(suite.nats.url, ns)]);
    assert.equal(sub.code, 0, sub.describe());

    /** Waits until the job has `n` tasks done and is still running (so what follows happens during it). */
    const atDone = async (n: number): Promise<void> => {
      const j = await until(`F1 to have ${n} tasks done`, async () => {
        const s = await ctl.job('F1');
        return s.done >= n || s.state !== 'running' ? s : null;
      }, 60_000);
      assert.equal(j.state, 'running', `precondition: F1 still running at ${n} done (${JSON.stringify(j)})`);
    };

    await atDone(3_000);
    const vanished = first.slice(0, 15);
    await fleet.vanish(vanished);

    await atDone(10_000);
    const drainedHosts = first.slice(15, 30);
    const drained = fleet.drain(drainedHosts);
    const joined = await fleet.add(30);

    await atDone(20_000);
    const vanishedLate = joined.slice(0, 5);
    await fleet.vanish(vanishedLate);
    const joinedLate = await fleet.add(10);

    assert.deepEqual(await drained, drainedHosts.map(() => 0), 'every drained agent exits 0');
    const final = await ctl.waitEnd('F1', 180_000);
    assert.equal(final.state, 'done', JSON.stringify(final));
    assert.equal(final.done, tasks);
    assert.equal(final.failed, 0);

    const rows = readRows(join(out, 'F1.jsonl'));
    assertOneRowPerTask(rows, spinIds(tasks), { status: 'ok', job: 'F1' });

    // Each vanished agent was found silent and lost; the agents that joined late ran tasks.
    for (const host of [...vanished, ...vanishedLate]) {
      const id = fleet.ids.get(host)!;
      await coord.waitForLog((l) => l.msg === 'agent lost; its tasks requeued' && l.agent === id, 30_000);
    }
    const ranOn = new Set(rows.map((r) => r.agent));
    assert.ok([...joined, ...joinedLate].some((h) => ranOn.has(fleet.ids.get(h)!)), 'agents that joined during the job ran tasks');
    assert.ok(rows.some((r) => r.attempt > 1), 'tasks of the vanished agents ran again');
    assert.ok(coord.alive, coord.describe());
  });
});
