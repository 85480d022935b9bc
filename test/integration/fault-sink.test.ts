/**
 * The sink and its journal (DESIGN §1, §4): a torn tail (a crash mid-write) is cut back to
 * the last complete task on the next start and only the torn task runs again; replaying
 * results already committed (a re-run of a finished job, the same batch sent twice, a late
 * copy from another agent) writes nothing new.
 */
import assert from 'node:assert/strict';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { connectNats, type NatsBus } from '../../src/bus/index.js';
import { PROTOCOL_VERSION, subjects } from '../../protocol/index.js';
import { errorRow, GroupBuilder, okRow, type RowHead } from '../../src/rows/index.js';
import { uniqueNs } from '../helpers/nats.js';
import { RawAgent } from '../helpers/raw-agent.js';
import { assertOneRowPerTask, readRows, spinIds } from '../helpers/rows.js';
import { runShoal, spawnShoal, type RunResult, type ShoalProcess, connArgs, startAgent, startCoordinator } from '../helpers/shoal.js';
import { Control, natsSuite } from '../helpers/suite.js';
import { killHard, rowsSoFar, stopAgent } from '../helpers/faults.js';
import { until } from '../helpers/wait.js';

let bus: NatsBus | undefined;

const suite = natsSuite('shoal-fault-sink-', {
  cleanup: async () => {
    await bus?.close();
  },
});

/** The pino lines a `shoal run` printed on stderr. */
function runLogs(r: RunResult): Array<Record<string, unknown>> {
  return r.stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

function repairedBytes(r: RunResult): number {
  const l = runLogs(r).find((x) => x.msg === 'repaired a torn tail of the output');
  assert.ok(l, `no 'repaired a torn tail' warning:\n${r.describe()}`);
  return l.bytes as number;
}

describe('sink: torn tail and replay', () => {
  it('a torn last line is cut on the next run; only its task runs again; the rest of the file is kept byte for byte', async () => {
    const file = join(suite.dir, 'torn', 'S1.jsonl');
    const cmd = ['run', 'spin', '--tasks', '200', '--ms', '0', '--workers', '1', '--job', 'S1', '--out', file];
    const r1 = await runShoal(cmd);
    assert.equal(r1.code, 0, r1.describe());
    const whole = readFileSync(file, 'utf8');
    const lines = whole.split('\n').slice(0, -1);
    assert.equal(lines.length, 200);

    // Power loss mid-write: the last row is half on disk, without its newline.
    const last = lines.at(-1)!;
    const tornTask = (JSON.parse(last) as { task: string }).task;
    const kept = lines.slice(0, -1).join('\n') + '\n';
    const torn = last.slice(0, Math.floor(last.length / 2));
    writeFileSync(file, kept + torn);

    const r2 = await runShoal(cmd);
    assert.equal(r2.code, 0, r2.describe());
    assert.equal(repairedBytes(r2), Buffer.byteLength(torn), 'exactly the torn fragment is cut');
    assert.match(r2.stderr, /resuming S1: 199 of 200 tasks already/);
    const after = readFileSync(file, 'utf8');
    assert.ok(after.startsWith(kept), 'the complete rows are kept unchanged');
    const added = readRows(file).slice(199);
    assert.deepEqual(
      added.map((r) => r.task),
      [tornTask],
      'only the torn task ran again',
    );
    assertOneRowPerTask(readRows(file), spinIds(200), { status: 'ok', job: 'S1' });

    // Replay: the same command on the finished output writes nothing.
    const r3 = await runShoal(cmd);
    assert.equal(r3.code, 0, r3.describe());
    assert.match(r3.stderr, /resuming S1: 200 of 200 tasks already/);
    assert.equal(readFileSync(file, 'utf8'), after, 'a re-run of a finished job leaves the output byte for byte');
  });

  it('a run SIGKILLed mid-job with a half-written row at the end resumes to one row per task', async () => {
    const file = join(suite.dir, 'killed', 'S2.jsonl');
    const tasks = 3000;
    const cmd = ['run', 'spin', '--tasks', String(tasks), '--sleep', '--ms', '2', '--workers', '1', '--job', 'S2', '--out', file];
    const p = spawnShoal(cmd);
    await until('rows of S2', () => rowsSoFar(file).length >= 300, 30_000);
    await killHard(p);
    const done = new Set(rowsSoFar(file).map((r) => r.task));
    assert.ok(done.size < tasks, 'precondition: killed before the end');
    const before = readFileSync(file, 'utf8');
    const clean = before.slice(0, before.lastIndexOf('\n') + 1);
    const torn = '{"job":"S2","task":"spin_2999","kind":"spin","status":"ok","attempt":1,"agent":"gone-1","ho';
    appendFileSync(file, torn);

    const r = await runShoal(cmd, { timeoutMs: 60_000 });
    assert.equal(r.code, 0, r.describe());
    assert.equal(repairedBytes(r), Buffer.byteLength(before) - Buffer.byteLength(clean) + Buffer.byteLength(torn));
    assert.match(r.stderr, new RegExp(`resuming S2: ${done.size} of ${tasks} tasks already`));
    assert.ok(readFileSync(file, 'utf8').startsWith(clean), 'rows written before the kill are kept');
    assertOneRowPerTask(readRows(file), spinIds(tasks), { status: 'ok', job: 'S2' });
  });

  describe('a live sink over NATS', () => {
    const ns = uniqueNs('sink');
    const subj = subjects(ns);
    let out: string;
    let coord: ShoalProcess;
    let ctl: Control;

    before(async () => {
      out = join(suite.dir, 'live');
      coord = await startCoordinator(suite.nats.url, ns, out, ['--agent-timeout', '1']);
      ctl = await suite.control(ns);
      bus = await connectNats({ url: suite.nats.url, name: 'shoal-test replayer' });
    });

    const head = (job: string, task: string, agent: string): RowHead => ({ job, task, kind: 'spin', attempt: 1, agent, host: 'replay', worker: 0, start: Date.now(), end: Date.now() });

    it('the same result batch sent twice, and a late copy from an agent that held the lease too, are acked and write nothing', async () => {
      // No real agent yet: the job is open in the sink and its tasks wait in the queue.
      const sub = await runShoal(['submit', 'spin', '--tasks', '50', '--ms', '0', ...connArgs(suite.nats.url, ns), '--job', 'S3']);
      assert.equal(sub.code, 0, sub.describe());
      const file = join(out, 'S3.jsonl');
      // Agent A is leased some tasks, then goes silent (cut off) and is declared lost.
      const a = new RawAgent(bus!, subj, 'replayer-a');
      assert.equal((await a.hello()).kind, 'welcome');
      const ids = (await a.pull(1, { freeSlots: 1 })).map((t) => t.id);
      assert.ok(ids.length > 0);
      await until('replayer-a lost', async () => (await ctl.agent('replayer-a'))?.state === 'lost');
      // Agent B gets the same tasks again and commits them.
      const b = new RawAgent(bus!, subj, 'replayer-b');
      assert.equal((await b.hello()).kind, 'welcome');
      assert.deepEqual((await b.pull(1, { freeSlots: 1 })).map((t) => t.id).sort(), [...ids].sort());
      const rows = b.rows('S3', ids);
      assert.deepEqual(await b.send([rows]), { kind: 'ack', v: PROTOCOL_VERSION, seq: 1, written: ids.length, duplicates: 0, refused: 0 });
      const once = readFileSync(file, 'utf8');
      assert.equal(rowsSoFar(file).length, ids.length, 'acknowledged rows are on disk');

      // B's outbox resends after a lost ack: the very same batch again.
      assert.deepEqual(await b.send([rows]), { kind: 'ack', v: PROTOCOL_VERSION, seq: 2, written: 0, duplicates: ids.length, refused: 0 });
      // A comes back with its late results (error rows, even): duplicates.
      const late = new GroupBuilder('S3');
      for (const id of ids) late.add(id, 1, false, 5, errorRow(head('S3', id, 'replayer-a'), { code: 'E_TASK', message: 'late copy' }));
      assert.deepEqual(await a.send([late.build()]), { kind: 'ack', v: PROTOCOL_VERSION, seq: 1, written: 0, duplicates: ids.length, refused: 0 });
      // An agent that never held these tasks: refused.
      const c = new RawAgent(bus!, subj, 'replayer-c');
      assert.deepEqual(await c.send([c.rows('S3', spinIds(50))]), { kind: 'ack', v: PROTOCOL_VERSION, seq: 1, written: 0, duplicates: 0, refused: 50 });
      assert.equal(readFileSync(file, 'utf8'), once, 'the replays wrote nothing');

      // The scheduler counts the replayed tasks as done: a real agent runs only the others.
      await until(`${ids.length} of S3 committed`, async () => (await ctl!.job('S3')).done === ids.length);
      const agent = await startAgent(suite.nats.url, ns, ['--workers', '1']);
      const final = await ctl!.waitEnd('S3');
      assert.equal(final.state, 'done');
      const all = readRows(file);
      assertOneRowPerTask(all, spinIds(50), { status: 'ok', job: 'S3' });
      assert.ok(all.slice(0, ids.length).every((r) => r.agent === 'replayer-b'), 'the first committed copy wins');
      assert.equal(await stopAgent(agent.proc), 50 - ids.length, 'the agent ran only the tasks not replayed');
    });

    it('an output ending in a partial multi-record task is cut back to the last complete task when the job opens', async () => {
      const file = join(out, 'S4.jsonl');
      const h = (task: string): RowHead => head('S4', task, 'before-1');
      const complete = okRow(h('spin_00'), '{"ms":0}') + okRow(h('spin_01'), '{"r":0}', { index: 0, of: 2 }) + okRow(h('spin_01'), '{"r":1}', { index: 1, of: 2 });
      // spin_02 had three records; two reached the disk and the third is torn.
      const partial = okRow(h('spin_02'), '{"r":0}', { index: 0, of: 3 }) + okRow(h('spin_02'), '{"r":1}', { index: 1, of: 3 }) + '{"job":"S4","task":"spin_02","kind":"sp';
      writeFileSync(file, complete + partial);

      const sub = await runShoal(['submit', 'spin', '--tasks', '20', '--ms', '0', ...connArgs(suite.nats.url, ns), '--job', 'S4', '--out', file]);
      assert.equal(sub.code, 0, sub.describe());
      const repaired = await coord.waitForLog((l) => l.msg === 'repaired a torn tail of the output' && l.job === 'S4');
      assert.equal(repaired.bytes, Buffer.byteLength(partial));
      const opened = await coord.waitForLog((l) => l.msg === 'output opened' && l.job === 'S4');
      assert.equal(opened.tasks, 2, 'two complete tasks on disk');
      const a = await startAgent(suite.nats.url, ns, ['--workers', '1']);
      const final = await ctl!.waitEnd('S4');
      assert.equal(final.state, 'done');
      const text = readFileSync(file, 'utf8');
      assert.ok(text.startsWith(complete), 'the complete tasks are kept');
      assert.ok(!text.includes('"task":"spin_02","kind":"spin","status":"ok","attempt":1,"agent":"before-1"'), 'the partial task is gone');
      const rows = readRows(file);
      assert.equal(rows.filter((r) => r.task === 'spin_01').length, 2, 'the complete two-record task keeps both rows');
      assertOneRowPerTask(
        rows.filter((r) => r.task !== 'spin_01'),
        spinIds(20).filter((id) => id !== 'spin_01'),
        { status: 'ok', job: 'S4' },
      );
      assert.equal(await stopAgent(a.proc), 18, 'the agent ran the 17 missing tasks and the torn one');
    });
  });
});
