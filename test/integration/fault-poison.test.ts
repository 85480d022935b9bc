/**
 * Poison tasks (DESIGN §5): a task that throws, one that kills its worker thread, and one
 * that exceeds the worker's heap limit (--worker-heap) are retried on other agents up to
 * --max-attempts and then recorded as error rows carrying the last error; the pools replace
 * their dead threads and every other task finishes.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { assertOneRowPerTask, readRows, spinIds } from '../helpers/rows.js';
import { runShoal, connArgs } from '../helpers/shoal.js';
import { natsSuite } from '../helpers/suite.js';
import { logsOf, stopAgent } from '../helpers/faults.js';

const suite = natsSuite('shoal-fault-poison-');

describe('poison tasks', () => {
  it('throw, thread crash and heap exhaustion: retried on other agents up to --max-attempts, then error rows; the rest finishes', async () => {
    const run = await suite.coordinator('poison', ['--max-attempts', '3']);
    const { ns, out, coord, ctl } = run;
    const agents = await run.agents(3, ['--workers', '1', '--worker-heap', '64']);

    const tasks = 60;
    const ids = spinIds(tasks);
    const [fail, crash, hog] = [5, 17, 33];
    const sub = await runShoal([
      'submit', 'spin', '--tasks', String(tasks), '--sleep', '--ms', '20', '--no-speculate',
      '--fail-tasks', String(fail), '--crash-tasks', String(crash), '--hog-tasks', String(hog),
      ...connArgs(suite.nats.url, ns), '--job', 'P1', '--wait',
    ], { timeoutMs: 80_000 });
    assert.equal(sub.code, 1, `submit --wait exits 1: done with failed tasks\n${sub.describe()}`);

    const final = await ctl.job('P1');
    assert.equal(final.state, 'done', JSON.stringify(final));
    assert.equal(final.done, tasks);
    assert.equal(final.failed, 3);

    const rows = readRows(join(out, 'P1.jsonl'));
    assertOneRowPerTask(rows, ids, { job: 'P1' });
    const bad = new Map<string, { code: string; attempt: number; message: string }>();
    for (const r of rows) if (r.status === 'error') bad.set(r.task, { code: (r.error as { code: string }).code, message: (r.error as { message: string }).message, attempt: r.attempt });
    assert.deepEqual([...bad.keys()].sort(), [ids[fail], ids[crash], ids[hog]].sort(), 'exactly the three poison tasks failed');
    assert.equal(bad.get(ids[fail]!)!.code, 'E_TASK');
    assert.match(bad.get(ids[fail]!)!.message, /fails on purpose/);
    assert.equal(bad.get(ids[crash]!)!.code, 'E_WORKER');
    assert.match(bad.get(ids[crash]!)!.message, /worker thread died/);
    assert.equal(bad.get(ids[hog]!)!.code, 'E_WORKER');
    assert.match(bad.get(ids[hog]!)!.message, /heap limit \(64 MB\)/);
    for (const [id, e] of bad) assert.equal(e.attempt, 3, `${id} failed for good at attempt 3`);

    // Each attempt ran on another agent than the one before.
    const byId = new Map(agents.map((a) => [a.id, a]));
    for (const i of [fail, crash, hog]) {
      const id = ids[i]!;
      const failed = logsOf(coord, 'task failed; retrying elsewhere', (l) => l.task === id).map((l) => [l.attempt as number, l.agent as string] as const);
      assert.deepEqual(failed.map(([n]) => n), [1, 2], `${id}: two retried failures:\n${coord.describe()}`);
      const last = rows.find((r) => r.task === id)!.agent;
      const chain = [...failed.map(([, ag]) => ag), last];
      for (const ag of chain) assert.ok(byId.has(ag), `${id} ran on unknown agent ${ag}`);
      assert.ok(chain[0] !== chain[1] && chain[1] !== chain[2], `${id} attempts ran on ${chain.join(' → ')}`);
    }

    // Two tasks killed a thread three times each; every death was logged and the thread replaced.
    const deaths = agents.flatMap((a) => logsOf(a.proc, 'a worker thread died; replaced'));
    const story = (id: string): string =>
      [coord, ...agents.map((a) => a.proc)]
        .flatMap((p) => p.logs.filter((l) => l.task === id || (Array.isArray(l.tasks) && l.tasks.includes(id))))
        .map((l) => JSON.stringify(l))
        .join('\n');
    assert.equal(deaths.length, 6, `thread deaths: ${JSON.stringify(deaths.map((d) => [d.task, d.err]))}\n${story(ids[hog]!)}\n${story(ids[crash]!)}`);
    assert.equal(deaths.filter((d) => d.task === ids[crash]).length, 3);
    assert.equal(deaths.filter((d) => d.task === ids[hog]).length, 3);

    // The pools still work: a second job runs on every agent (each has its one thread back).
    const again = await runShoal(['submit', 'spin', '--tasks', '300', '--sleep', '--ms', '10', ...connArgs(suite.nats.url, ns), '--job', 'P2', '--wait']);
    assert.equal(again.code, 0, again.describe());
    const rows2 = readRows(join(out, 'P2.jsonl'));
    assertOneRowPerTask(rows2, spinIds(300), { status: 'ok', job: 'P2' });
    for (const a of agents) assert.ok(rows2.some((r) => r.agent === a.id), `agent ${a.id} ran no task of P2 after its thread deaths`);
    for (const a of agents) await stopAgent(a.proc);
    assert.ok(coord.alive, coord.describe());
  });
});
