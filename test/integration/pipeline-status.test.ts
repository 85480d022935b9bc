/**
 * Pipelines one can see and stop, over a real nats-server: `shoal status` draws a stage under
 * the job that feeds it and a waiting job under the one it waits for, with their counts;
 * `status --json` stays a flat list with `from` and `after`; `shoal cancel A --downstream`
 * cancels A, the stage it feeds and the job waiting for that stage in one request, leaving
 * whole rows, each committed task once. Without --downstream, the stage runs the rows A
 * committed before the cancel and ends done, what waits for the stage runs, and a job waiting
 * for A itself (--after-ok) is cancelled by A's end.
 */
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { readRows, type Row } from '../helpers/rows.js';
import { runShoal, shoalJson, type JobStatusJson } from '../helpers/shoal.js';
import { natsSuite, type Run } from '../helpers/suite.js';
import { until } from '../helpers/wait.js';

let run: Run;
const suite = natsSuite('shoal-pipeline-status-', {
  setup: async (s) => {
    run = await s.coordinator('pipeline-status');
    // Slots for the slow upstream and the python stage side by side, on a machine of any size.
    await run.agents(1, ['--workers', '3', '--oversubscribe', '--allow-command']);
  },
});
const conn = (): string[] => suite.conn(run.ns);

async function shoal(args: string[]): Promise<string> {
  const r = await runShoal([...args, ...conn()], { cwd: suite.dir });
  assert.equal(r.code, 0, r.describe());
  return r.stdout;
}

/**
 * Submits the pipeline: `up` a slow spin job (it runs until cancelled), `stage` a python job
 * fed by its rows, `last` a spin job waiting for the stage.
 */
async function pipeline(up: string, stage: string, last: string): Promise<void> {
  await shoal(['submit', 'spin', '--job', up, '--tasks', '2000', '--ms', '300', '--sleep', '--no-speculate']);
  await shoal(['submit', 'python', '--job', stage, '--fn', 'mod.py:plain', '--from', up]);
  await shoal(['submit', 'spin', '--job', last, '--tasks', '5', '--ms', '10', '--after', stage]);
}

/** The line of the human status's job table whose JOB cell is `cell` (tree glyphs and name). */
function tableLine(stdout: string, cell: string): string {
  const line = stdout.split('\n').find((l) => l.startsWith(cell + ' '));
  assert.ok(line, `no line for '${cell}' in:\n${stdout}`);
  return line;
}

/** A job's row in the table as [kind, state, done, total]. */
function cells(line: string, cell: string): [string, string, number, number] {
  const m = /^(\S+)\s+(\S+)\s+(\d+)\/(\d+)\s/.exec(line.slice(cell.length).trimStart());
  assert.ok(m, `cannot read '${line}'`);
  return [m[1]!, m[2]!, Number(m[3]), Number(m[4])];
}

/** Waits until the job's output is closed (its summary written): no row of it comes after. */
async function closed(job: string): Promise<void> {
  await until(`${job}'s output to be closed`, () => existsSync(join(run.out, `${job}.summary.json`)));
}

/** Asserts whole rows, one per task, and that `shoal verify` finds the file clean; returns the rows. */
async function wholeRows(job: string): Promise<Row[]> {
  const file = join(run.out, `${job}.jsonl`);
  const rows = readRows(file);
  const ids = rows.map((r) => r.task);
  assert.equal(new Set(ids).size, ids.length, `${job}: a task twice`);
  assert.ok(rows.every((r) => r.job === job));
  if (rows.length > 0) {
    const v = await runShoal(['verify', file]);
    assert.equal(v.code, 0, v.describe());
  }
  return rows;
}

describe('pipelines in status, and cancel --downstream', () => {
  before(() => writeFileSync(join(suite.dir, 'mod.py'), 'def plain(v, params):\n    return v\n'));

  it('status draws B under A and C under B with their counts; cancel A --downstream cancels all three, leaving whole rows', async () => {
    await pipeline('A', 'B', 'C');
    await until('B to have run rows of A', async () => (await run.ctl.job('B')).done >= 2, 60_000);

    const human = await shoal(['status']);
    const lines = ['A', '└─ B', '   └─ C'].map((cell) => tableLine(human, cell));
    const [a, b, c] = lines.map((l, i) => cells(l, ['A', '└─ B', '   └─ C'][i]!));
    assert.deepEqual([a![0], a![1], a![3]], ['spin', 'running', 2000], lines[0]);
    assert.deepEqual([b![0], b![1]], ['python', 'running'], lines[1]);
    assert.ok(b![2] >= 2 && b![3] >= b![2], lines[1]);
    assert.deepEqual(c, ['spin', 'waiting', 0, 5], lines[2]);
    const order = human.split('\n');
    assert.ok(order.indexOf(lines[0]!) < order.indexOf(lines[1]!) && order.indexOf(lines[1]!) < order.indexOf(lines[2]!), human);
    assert.match(human, /^waiting \(C\): for B to end$/m);

    // --json stays the flat list, with the links.
    const json = await shoalJson<{ jobs: JobStatusJson[] }>(['status', '--json', ...conn()]);
    const byName = new Map(json.jobs.map((j) => [j.job, j]));
    assert.deepEqual(
      ['A', 'B', 'C'].map((n) => [byName.get(n)?.from, byName.get(n)?.after]),
      [
        [undefined, undefined],
        ['A', undefined],
        [undefined, ['B']],
      ],
    );

    const cancelled = await shoal(['cancel', 'A', '--downstream']);
    assert.deepEqual(cancelled.trim().split('\n'), ['job A cancelled', 'job B cancelled (downstream of A)', 'job C cancelled (downstream of A)']);
    for (const j of ['A', 'B', 'C']) assert.equal((await run.ctl.waitEnd(j)).state, 'cancelled', j);
    const after = await shoal(['status']);
    for (const cell of ['A', '└─ B', '   └─ C']) assert.equal(cells(tableLine(after, cell), cell)[1], 'cancelled', after);
    // Cancelled by the request, not by an upstream's end: no reason given.
    assert.doesNotMatch(after, /upstream job/);

    for (const j of ['A', 'B', 'C']) await closed(j);
    const [ra, rb, rc] = [await wholeRows('A'), await wholeRows('B'), await wholeRows('C')];
    assert.ok(ra.length >= 2 && ra.length < 2000, `A was cut short with rows written (${ra.length})`);
    // The stage ran only committed rows of A, each once; C never ran.
    const upIds = new Set(ra.map((r) => r.task));
    assert.ok(rb.length >= 2 && rb.every((r) => upIds.has(r.task)), 'every row of B is for a row of A');
    assert.equal(rc.length, 0);
    for (const [j, rows] of [['A', ra], ['B', rb]] as const) assert.equal((await run.ctl.job(j)).done, rows.length, `${j}: status counts the rows written`);
  });

  it('without --downstream: the stage runs the rows its upstream committed and ends done, the job after it runs, a job after the upstream is cancelled', async () => {
    await pipeline('A2', 'B2', 'C2');
    await shoal(['submit', 'spin', '--job', 'D2', '--tasks', '3', '--ms', '10', '--after', 'A2']);
    await until('B2 to have run rows of A2', async () => (await run.ctl.job('B2')).done >= 2, 60_000);
    const human = await shoal(['status']);
    // D2 waits for A2 too: drawn under it, after the stage (submission order).
    for (const cell of ['A2', '├─ B2', '│  └─ C2', '└─ D2']) tableLine(human, cell);

    assert.deepEqual((await shoal(['cancel', 'A2'])).trim().split('\n'), ['job A2 cancelled']);
    assert.equal((await run.ctl.waitEnd('B2', 120_000)).state, 'done');
    assert.equal((await run.ctl.waitEnd('C2', 60_000)).state, 'done');
    const d2 = await run.ctl.waitEnd('D2');
    assert.equal(d2.state, 'cancelled');
    assert.equal(d2.error, 'upstream job A2 ended cancelled');
    for (const j of ['A2', 'B2', 'C2', 'D2']) await closed(j);
    const ra = await wholeRows('A2');
    const rb = await wholeRows('B2');
    // One stage row per row A2 committed, and no more.
    assert.deepEqual(rb.map((r) => r.task).sort(), ra.map((r) => r.task).sort());
    assert.equal((await wholeRows('C2')).length, 5);

    const after = await shoal(['status']);
    assert.deepEqual(
      [
        ['A2', 'cancelled'],
        ['├─ B2', 'done'],
        ['│  └─ C2', 'done'],
        ['└─ D2', 'cancelled'],
      ].map(([cell]) => [cell, cells(tableLine(after, cell!), cell!)[1]]),
      [
        ['A2', 'cancelled'],
        ['├─ B2', 'done'],
        ['│  └─ C2', 'done'],
        ['└─ D2', 'cancelled'],
      ],
    );
    assert.match(after, /^cancelled \(D2\): upstream job A2 ended cancelled$/m);
  });
});
