/**
 * A bundle does not wait behind a long one while another thread frees: an agent of two threads
 * runs a task that waits (until a task of another job has run) and one that sleeps; the other
 * job's task, arriving while both run, must run on the sleeper's thread once it frees, not be
 * held second in line behind the waiting one (which would then wait for ever: here, fail at its
 * deadline). Bundles of a job not yet known to be short never have another held behind them.
 */
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { readRows } from '../helpers/rows.js';
import { runShoal } from '../helpers/shoal.js';
import { natsSuite } from '../helpers/suite.js';
import { until } from '../helpers/wait.js';

const suite = natsSuite('shoal-head-of-line-');

const MODULE = `
import os, time

def held(x, params):
    open(params["dir"] + "/started-" + x, "a").close()
    if x == "wait":
        deadline = time.time() + 30
        while not os.path.exists(params["dir"] + "/marked"):
            if time.time() > deadline:
                raise RuntimeError("the other job's task never ran while this one waited")
            time.sleep(0.02)
    else:
        time.sleep(1.0)
    return {"x": x}

def mark(x, params):
    open(params["dir"] + "/marked", "a").close()
    return {"x": x}
`;

describe('head of line', () => {
  it('a bundle arriving while every thread is busy waits for the first to free, not behind a task that waits', async () => {
    const dir = suite.dir;
    writeFileSync(join(dir, 'hol.py'), MODULE);
    writeFileSync(join(dir, 'two.txt'), 'wait\nsleep\n');
    writeFileSync(join(dir, 'one.txt'), 'm\n');
    const run = await suite.coordinator('hol');
    await run.agents(1, ['--workers', '2', '--oversubscribe', '--allow-command']);
    const conn = suite.conn(run.ns);
    const params = JSON.stringify({ dir });
    const held = await runShoal(['submit', 'python', ...conn, '--job', 'held', '--fn', 'hol.py:held', '--inputs', join(dir, 'two.txt'), '--granularity', 'task', '--params', params], { cwd: dir });
    assert.equal(held.code, 0, held.describe());
    await until('both tasks of the first job running', () => existsSync(join(dir, 'started-wait')) && existsSync(join(dir, 'started-sleep')), 60_000, 20);
    const other = await runShoal(['submit', 'python', ...conn, '--job', 'other', '--fn', 'hol.py:mark', '--inputs', join(dir, 'one.txt'), '--params', params], { cwd: dir });
    assert.equal(other.code, 0, other.describe());
    for (const job of ['other', 'held']) assert.equal((await run.ctl.waitEnd(job, 90_000)).state, 'done', job);
    const rows = readRows(join(run.out, 'held.jsonl'));
    assert.deepEqual(rows.map((r) => `${r.status} ${JSON.stringify(r.value ?? r.error?.message)}`).sort(), ['ok {"x":"sleep"}', 'ok {"x":"wait"}']);
    assert.equal(readRows(join(run.out, 'other.jsonl'))[0]?.status, 'ok');
  });
});
