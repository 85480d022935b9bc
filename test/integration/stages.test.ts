/**
 * Stages that stream into each other (`--from JOB`) over a real nats-server: a chain of three
 * python jobs where each task is made as its upstream row commits (the last stage runs while
 * the first still runs: the first stage's last task waits for the third stage's first, and the
 * chain takes less than its stages' spans one after the other), a
 * generator's records giving one task each, upstream errors giving E_UPSTREAM rows that run
 * nothing, and a chain whose coordinator is killed and restarted mid-way ending with exactly
 * one row per task per stage.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { killHard, rowsSoFar } from '../helpers/faults.js';
import { readRows, type Row } from '../helpers/rows.js';
import { runShoal, startCoordinator } from '../helpers/shoal.js';
import { natsSuite } from '../helpers/suite.js';
import { until } from '../helpers/wait.js';

const suite = natsSuite('shoal-stages-');

const MODULE = `
import os, time

def first(x, params):
    if x == "bad":
        raise ValueError("cannot take " + x)
    if x == "gate":
        # Ends only once the third stage has run a task: the stages stream into each other.
        deadline = time.time() + 120
        while not os.path.exists(params["mark"]):
            if time.time() > deadline:
                raise RuntimeError("the third stage never ran while the first was running")
            time.sleep(0.02)
    return {"word": x}

def second(v, params):
    for i in range(2):
        yield {"word": v["word"], "part": i}

def third(v, params):
    open(params["mark"], "a").close()
    return {"word": v["word"], "part": v["part"], "done": True}

def gated(x, params):
    if x == "gate":
        # Ends only once the test has restarted the coordinator: the chain is cut mid-way.
        deadline = time.time() + 120
        while not os.path.exists(params["mark"]):
            if time.time() > deadline:
                raise RuntimeError("the coordinator was not restarted")
            time.sleep(0.02)
    time.sleep(0.02)
    return {"word": x}

def plain(v, params):
    time.sleep(0.02)
    return v
`;

/** Each row's key: its task, plus `.index` for a record of a multi-record task. */
const keyOf = (r: Row): string => (typeof r.index === 'number' ? `${r.task}.${r.index}` : r.task);

function assertOneRowEach(rows: readonly Row[], expected: readonly string[], what: string): void {
  const keys = rows.map(keyOf).sort();
  assert.deepEqual(keys, [...expected].sort(), `${what}: one row per expected task (record)`);
}

describe('stages', () => {
  let words: string;
  before(() => {
    writeFileSync(join(suite.dir, 'mod.py'), MODULE);
    words = join(suite.dir, 'words.txt');
    writeFileSync(words, ['alpha', 'beta', 'gate', 'bad', 'gamma'].join('\n') + '\n');
  });

  it('a chain of three: tasks made as rows commit, one task per record, upstream errors as E_UPSTREAM rows', async (t) => {
    const run = await suite.coordinator('stages');
    // Slots enough for the first stage's waiting task and the others (on a machine of any size).
    await run.agents(1, ['--workers', '4', '--oversubscribe', '--allow-command']);
    const mark = join(suite.dir, 'mark');
    const conn = suite.conn(run.ns);
    const params = JSON.stringify({ mark });
    const sub = (args: string[]) => runShoal(['submit', 'python', ...conn, '--fn', 'mod.py:' + args[0], ...args.slice(1), '--params', params], { cwd: suite.dir });
    for (const r of [await sub(['first', '--job', 'S1', '--inputs', words, '--granularity', 'task']), await sub(['second', '--job', 'S2', '--from', 'S1']), await sub(['third', '--job', 'S3', '--from', 'S2'])]) {
      assert.equal(r.code, 0, r.stderr);
    }
    const s3 = await run.ctl.waitEnd('S3', 120_000);
    assert.equal(s3.state, 'done');
    assert.ok(s3.notes.some((n) => n.includes("'S2'")), `status names the upstream: ${JSON.stringify(s3.notes)}`);
    const [r1, r2, r3] = ['S1', 'S2', 'S3'].map((j) => readRows(join(run.out, `${j}.jsonl`)));
    const ids = ['in_0', 'in_1', 'in_2', 'in_3', 'in_4'];
    assertOneRowEach(r1!, ids, 'S1');
    // in_3 ('bad') failed upstream: one E_UPSTREAM row instead of two records, in both later stages.
    const ok = ids.filter((i) => i !== 'in_3');
    assertOneRowEach(r2!, [...ok.flatMap((i) => [`${i}.0`, `${i}.1`]), 'in_3'], 'S2');
    assertOneRowEach(r3!, [...ok.flatMap((i) => [`${i}.0`, `${i}.1`]), 'in_3'], 'S3');
    for (const rows of [r2!, r3!]) {
      const bad = rows.find((r) => r.task === 'in_3')!;
      assert.equal(bad.status, 'error');
      assert.equal(bad.error?.code, 'E_UPSTREAM');
      assert.match(bad.error!.message, /in_3/);
      assert.deepEqual(bad.input, { upstream: 'in_3' }, 'the coordinator says which upstream task it was for');
    }
    assert.match(r2!.find((r) => r.task === 'in_3')!.error!.message, /upstream job S1/);
    assert.match(r3!.find((r) => r.task === 'in_3')!.error!.message, /upstream job S2/);
    // Values flow: the third stage saw the second's records of the first's values.
    for (const r of r3!.filter((x) => x.status === 'ok')) assert.deepEqual(r.value, { word: (r.value as { word: string }).word, part: Number(r.task.split('.')[1]), done: true });
    assert.deepEqual(new Set(r3!.filter((x) => x.status === 'ok').map((r) => (r.value as { word: string }).word)), new Set(['alpha', 'beta', 'gate', 'gamma']));
    // Streaming: the third stage's first task started before the first stage's last task ended.
    const firstEnd = Math.max(...r1!.map((r) => r.end as number));
    const thirdStart = Math.min(...r3!.filter((r) => r.status === 'ok').map((r) => r.start as number));
    assert.ok(thirdStart < firstEnd, `the third stage started (${thirdStart}) before the first ended (${firstEnd})`);
    // Overlap over the whole chain: from the first start of S1 to the last end of S3 is less than
    // the stages' own spans (first start to last end) one after the other. Rows that ran only:
    // an E_UPSTREAM row is written by the coordinator, its times are its commit's.
    const ran = (rows: readonly Row[]): Row[] => rows.filter((r) => r.error?.code !== 'E_UPSTREAM');
    const spanOf = (rows: readonly Row[]): [number, number] => [Math.min(...ran(rows).map((r) => r.start as number)), Math.max(...ran(rows).map((r) => r.end as number))];
    const spans = [r1!, r2!, r3!].map(spanOf);
    const makespan = spans[2]![1] - spans[0]![0];
    const sum = spans.reduce((n, [s, e]) => n + (e - s), 0);
    t.diagnostic(`makespan ${makespan} ms; stage spans ${spans.map(([s, e]) => e - s).join(' + ')} = ${sum} ms`);
    assert.ok(makespan < sum, `the chain took ${makespan} ms from S1's first start to S3's last end, not less than its stages' spans one after the other (${spans.map(([s, e]) => e - s).join(' + ')} = ${sum} ms)`);
    // The next test starts its own coordinator on the suite's out dir.
    run.coord.kill('SIGTERM');
    await run.coord.exited;
  });

  it('a handler stage between python stages: task.input is the row value, E_UPSTREAM passes through it', async () => {
    const handlers = join(suite.dir, 'shout.mjs');
    writeFileSync(handlers, 'export const kinds = [{ name: "shout", run(task) { return { word: String(task.input.word).toUpperCase(), index: task.index, line: task.line }; } }];\n');
    const list = join(suite.dir, 'three.txt');
    writeFileSync(list, 'alpha\nbad\nbeta\n');
    const run = await suite.coordinator('stages-handler');
    await run.agents(1, ['--workers', '2', '--allow-command', '--handlers', handlers]);
    const conn = suite.conn(run.ns);
    const subs = [
      ['submit', 'python', ...conn, '--job', 'H1', '--fn', 'mod.py:first', '--inputs', list],
      ['submit', 'shout', ...conn, '--job', 'H2', '--from', 'H1'],
      ['submit', 'python', ...conn, '--job', 'H3', '--fn', 'mod.py:plain', '--from', 'H2'],
    ];
    for (const args of subs) {
      const r = await runShoal(args, { cwd: suite.dir });
      assert.equal(r.code, 0, r.stderr);
    }
    assert.equal((await run.ctl.waitEnd('H3', 120_000)).state, 'done');
    const h2 = readRows(join(run.out, 'H2.jsonl'));
    const h3 = readRows(join(run.out, 'H3.jsonl'));
    assertOneRowEach(h2, ['in_0', 'in_1', 'in_2'], 'H2');
    assertOneRowEach(h3, ['in_0', 'in_1', 'in_2'], 'H3');
    assert.deepEqual(h2.find((r) => r.task === 'in_2')!.value, { word: 'BETA', index: 0, line: 0 });
    assert.deepEqual(h3.find((r) => r.task === 'in_0')!.value, { word: 'ALPHA', index: 0, line: 0 });
    for (const rows of [h2, h3]) assert.equal(rows.find((r) => r.task === 'in_1')!.error?.code, 'E_UPSTREAM');
    run.coord.kill('SIGTERM');
    await run.coord.exited;
  });

  it('the coordinator killed mid-chain and restarted: every stage ends with exactly one row per task', async () => {
    const run = await suite.coordinator('stages-restart');
    await run.agents(2, ['--workers', '2', '--oversubscribe', '--allow-command']);
    const list = join(suite.dir, 'many.txt');
    const n = 60;
    writeFileSync(list, Array.from({ length: n }, (_, i) => (i === 5 ? 'gate' : `w${i}`)).join('\n') + '\n');
    const mark = join(suite.dir, 'restarted');
    const conn = suite.conn(run.ns);
    const sub = (fn: string, job: string, src: string[]) => runShoal(['submit', 'python', ...conn, '--fn', `mod.py:${fn}`, '--job', job, ...src], { cwd: suite.dir });
    for (const r of [await sub('gated', 'R1', ['--inputs', list, '--params', JSON.stringify({ mark }), '--granularity', 'task']), await sub('plain', 'R2', ['--from', 'R1']), await sub('plain', 'R3', ['--from', 'R2'])]) {
      assert.equal(r.code, 0, r.stderr);
    }
    // Mid-chain: the last stage has rows, the first has not finished.
    await until('rows of the third stage', () => rowsSoFar(join(run.out, 'R3.jsonl')).length >= 3, 60_000);
    await killHard(run.coord);
    assert.ok(rowsSoFar(join(run.out, 'R1.jsonl')).length < n, 'precondition: the first stage was still running at the kill');
    const second = await startCoordinator(suite.nats.url, run.ns, run.out);
    try {
      await second.waitForLog((l) => l.msg === 'resuming job after restart' && l.job === 'R3');
      writeFileSync(mark, '');
      for (const j of ['R1', 'R2', 'R3']) assert.equal((await run.ctl.waitEnd(j, 120_000)).state, 'done', j);
      const ids = Array.from({ length: n }, (_, i) => `in_${String(i).padStart(2, '0')}`);
      for (const j of ['R1', 'R2', 'R3']) {
        const rows = readRows(join(run.out, `${j}.jsonl`));
        assertOneRowEach(rows, ids, j);
        assert.ok(rows.every((r) => r.status === 'ok'), `${j}: every row ok`);
      }
    } finally {
      second.kill('SIGTERM');
      await second.exited;
    }
  });
});
