/**
 * A full disk, for real: the output lives on a small tmpfs that fills up mid-job. Nothing is
 * acknowledged that is not on disk, so no row is lost or torn: the job stalls, says why in
 * `status`, and completes by itself with exactly one row per task once there is room. A
 * `shoal run` whose disk never gets room gives up within --stall-timeout (exit 5), saying
 * why, and the same command resumes it later.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { uniqueNs } from '../helpers/nats.js';
import { assertOneRowPerTask, readRows, spinIds } from '../helpers/rows.js';
import { runShoal, connArgs, startAgent, startCoordinator } from '../helpers/shoal.js';
import { natsSuite } from '../helpers/suite.js';
import { logsOf, stopAgent } from '../helpers/faults.js';
import { until } from '../helpers/wait.js';
import { smallDisk } from '../helpers/tmpfs.js';

const suite = natsSuite('shoal-fault-disk-');

/** Every line of the file is whole JSON (throws naming the line otherwise); returns the tasks, each at most once. */
function wholeRows(path: string): string[] {
  const rows = readRows(path);
  const tasks = rows.map((r) => r.task);
  assert.equal(new Set(tasks).size, tasks.length, 'a task has two rows');
  return tasks;
}

describe('a full disk', () => {
  it('shoal run on a disk that never gets room exits 5 within --stall-timeout saying why; with room, the same command completes it', async (t) => {
    // 2 MB: room for the first commit whatever its size (at most 1 MB of rows and one more
    // group), not for all the rows.
    const disk = smallDisk(t, '2m');
    if (!disk) return;
    const file = join(disk.dir, 'full.jsonl');
    const tasks = 20_000; // about 3.6 MB of rows
    const cmd = ['run', 'spin', '--tasks', String(tasks), '--ms', '0', '--workers', '1', '--job', 'D1', '--out', file, '--stall-timeout', '3'];
    const r = await runShoal(cmd, { timeoutMs: 60_000 });
    assert.equal(r.code, 5, r.describe());
    assert.match(r.stderr, /ENOSPC/);
    assert.match(r.stderr, /stalled for \d+ s, giving up/);
    const written = wholeRows(file);
    const before = readFileSync(file, 'utf8');
    assert.ok(written.length > 0 && written.length < tasks, `precondition: the disk filled up part way (${written.length} rows)`);
    assert.deepEqual(readdirSync(disk.dir).filter((f) => f.includes('.tmp') || /\.[0-9a-f]{6,}$/.test(f)), [], 'no temp file left behind');

    disk.resize('16m');
    const again = await runShoal(cmd, { timeoutMs: 60_000 });
    assert.equal(again.code, 0, again.describe());
    assert.match(again.stderr, new RegExp(`resuming D1: ${written.length} of ${tasks} tasks already`));
    assertOneRowPerTask(readRows(file), spinIds(tasks), { status: 'ok', job: 'D1' });
    assert.ok(readFileSync(file, 'utf8').startsWith(before), 'the rows written before the disk filled up are kept as they were');
  });

  it('over NATS the job stalls with the reason in status, no row torn; room again and it completes exactly once', async (t) => {
    const disk = smallDisk(t, '1m');
    if (!disk) return;
    const ns = uniqueNs('disk');
    const coord = await startCoordinator(suite.nats.url, ns, disk.dir);
    const ctl = await suite.control(ns);
    const agent = await startAgent(suite.nats.url, ns, ['--workers', '1']);
    const tasks = 20_000;
    const sub = await runShoal(['submit', 'spin', '--tasks', String(tasks), '--ms', '0', ...connArgs(suite.nats.url, ns), '--job', 'D2']);
    assert.equal(sub.code, 0, sub.describe());
    const file = join(disk.dir, 'D2.jsonl');

    const stalled = await until('D2 stalled', async () => {
      const j = await ctl.job('D2');
      return j.state === 'stalled' ? j : null;
    });
    assert.match(stalled.stalled ?? '', /ENOSPC/, JSON.stringify(stalled));
    assert.ok(stalled.done < tasks);
    // What is committed is exactly what is on disk, whole.
    assert.equal(wholeRows(file).length, stalled.done);
    // The agent keeps the results the sink could not write; they are not lost.
    assert.ok(agent.proc.alive);

    disk.resize('16m');
    const final = await ctl.waitEnd('D2', 120_000);
    assert.equal(final.state, 'done', JSON.stringify(final));
    assertOneRowPerTask(readRows(file), spinIds(tasks), { status: 'ok', job: 'D2' });
    // Said once, not per batch: one stall and one recovery.
    assert.equal(logsOf(coord, 'the output cannot be written: the job is stalled; results wait with the agents and the job continues by itself when writes succeed again').length, 1, coord.describe());
    assert.equal(logsOf(coord, 'the output can be written again: the job continues').length, 1);
    await stopAgent(agent.proc);
  });
});
