/**
 * Splitting while dispatching, over a real nats-server with a coordinator and two agents as
 * processes: a task over a fair share of the queued work is run as two halves (`<id>/0`,
 * `<id>/1`), the output has one row per half and none for the whole, and submitting the job
 * again finds its halves in the output (nothing runs twice).
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { assertOneRowPerTask, readRows } from '../helpers/rows.js';
import { runShoal, connArgs, type Agent } from '../helpers/shoal.js';
import { natsSuite } from '../helpers/suite.js';
import { stopAgent } from '../helpers/faults.js';

const suite = natsSuite('shoal-split-');

describe('splitting while dispatching', () => {
  it('runs a task over a fair share as two halves, one row each, and a resubmit finds them', async () => {
    const { ns, out, coord, agents, ctl } = await suite.coordinator('split', ['--split-min-s', '0.3']);
    const [a, b] = (await agents(2, ['--workers', '1'])) as [Agent, Agent];

    // spin_0 runs 1.2 s, the others 0.15 s: 1.8 s on 2 slots is 0.9 s each, so spin_0 is split
    // in two 0.6 s halves (not further: 0.6 s is under a fair share).
    const sizes = join(suite.dir, 'sizes.json');
    writeFileSync(sizes, JSON.stringify([8, 1, 1, 1, 1]));
    const job = ['spin', '--sizes', sizes, '--sleep', '--ms', '150', '--splittable', '--no-speculate', ...connArgs(suite.nats.url, ns), '--job', 'S1'];
    const sub = await runShoal(['submit', ...job]);
    assert.equal(sub.code, 0, sub.describe());
    const final = await ctl.waitEnd('S1');
    assert.equal(final.state, 'done', JSON.stringify(final));
    assert.deepEqual([final.total, final.done, final.failed, final.split], [6, 6, 0, 1], JSON.stringify(final));
    const file = join(out, 'S1.jsonl');
    const ids = ['spin_0/0', 'spin_0/1', 'spin_1', 'spin_2', 'spin_3', 'spin_4'];
    const rows = readRows(file);
    assertOneRowPerTask(rows, ids, { status: 'ok', job: 'S1' });
    assert.deepEqual(rows.filter((r) => r.task.startsWith('spin_0/')).map((r) => (r.value as { ms: number }).ms), [600, 600]);
    assert.notEqual(rows.find((r) => r.task === 'spin_0/0')!.agent, rows.find((r) => r.task === 'spin_0/1')!.agent, 'the halves ran side by side');

    // The same job again: the output holds the halves, so spin_0 is split again and found done.
    const again = await runShoal(['submit', ...job]);
    assert.equal(again.code, 0, again.describe());
    const resumed = await coord.waitForLog((l) => l.msg === 'job submitted' && l.job === 'S1' && l.resplit === 1);
    assert.deepEqual([resumed.tasks, resumed.alreadyDone], [6, 6]);
    const second = await ctl.waitEnd('S1');
    assert.deepEqual([second.state, second.total, second.done], ['done', 6, 6]);
    assertOneRowPerTask(readRows(file), ids, { status: 'ok', job: 'S1' });
    const ran = (await stopAgent(a.proc)) + (await stopAgent(b.proc));
    assert.equal(ran, 6, 'nothing ran twice');
  });
});
