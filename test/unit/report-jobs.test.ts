/**
 * The report over several jobs (a pipeline's stages, each its own file): one lane group per
 * job, groups in the order the jobs started whatever order the files are read in, lanes of a
 * worker that ran two jobs in both groups but counted once for utilization, each job's overlap
 * with the one before, one bar sample over all files, the per-job summary (text and JSON), the
 * rows' geometry and the page's bands and labels.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderHtml, ReportScan, scanRows, summarize, summaryLines } from '../../src/report/index.js';
import { geometryOf, layOut, overlapMs, BAND_HEIGHT } from '../../src/report/layout.js';
import { iter, reportRow, type ReportRowSpec } from '../helpers/report-rows.js';

const T = 1_700_000_000_000;

/** A row at `start`..`end` ms after T; an error row gets an error. */
function row(r: ReportRowSpec & { job: string }): Record<string, unknown> {
  return { ...reportRow(r, { kind: 'python', agent: 'n1-1', t0: T }), ...(r.status === 'error' ? { error: { code: 'E_EXCEPTION', message: 'boom' } } : {}) };
}

/**
 * A two-stage pipeline: `up` runs 0..1000 ms on n1-1's workers 1 and 2 and n2-1's worker 1;
 * `down` runs 600..1500 ms, fed as up's rows commit, on n1-1's worker 2 and n2-1's worker 1
 * (the same workers as up: each has a lane in both groups) and n2-1's worker 2.
 */
const up = [
  row({ job: 'up', task: 'x0', worker: 1, start: 0, end: 400 }),
  row({ job: 'up', task: 'x1', worker: 2, start: 100, end: 600 }),
  row({ job: 'up', task: 'x2', agent: 'n2-1', worker: 1, start: 200, end: 700 }),
  row({ job: 'up', task: 'x3', worker: 1, start: 400, end: 1000, status: 'error' }),
];
const down = [
  row({ job: 'down', task: 'x1', agent: 'n2-1', worker: 2, start: 600, end: 900 }),
  row({ job: 'down', task: 'x0', worker: 2, start: 650, end: 1100 }),
  row({ job: 'down', task: 'x2', agent: 'n2-1', worker: 1, start: 700, end: 1500, attempt: 2 }),
];

/** Reads the files in `order` into one scan. */
async function scanBoth(order: Array<[string, Array<Record<string, unknown>>]>, maxBars?: number) {
  const scan = new ReportScan(maxBars === undefined ? {} : { maxBars });
  for (const [file, rows] of order) await scan.add(iter(rows), file);
  return scan.result(order.map(([f]) => f).join(', '));
}

describe('report over several jobs', () => {
  it('groups lanes by job, upstream first whatever the file order, each group contiguous', async () => {
    const d = await scanBoth([
      ['down.jsonl', down],
      ['up.jsonl', up],
    ]);
    assert.deepEqual(d.files, ['down.jsonl', 'up.jsonl']);
    assert.deepEqual(d.jobs, ['up', 'down'], 'ordered by first start, not by file');
    assert.deepEqual(
      d.groups.map((g) => [g.job, g.lane, g.lanes, g.tasks, g.ok, g.error, g.first - T, g.last - T]),
      [
        ['up', 0, 3, 4, 3, 1, 0, 1000],
        ['down', 3, 3, 3, 3, 0, 600, 1500],
      ],
    );
    // In a group: the agent that started first, then worker by worker.
    assert.deepEqual(
      d.lanes.map((l) => [l.group, l.job, l.agent, l.worker, l.tasks]),
      [
        [0, 'up', 'n1-1', 1, 2],
        [0, 'up', 'n1-1', 2, 1],
        [0, 'up', 'n2-1', 1, 1],
        [1, 'down', 'n2-1', 1, 1],
        [1, 'down', 'n2-1', 2, 1],
        [1, 'down', 'n1-1', 2, 1],
      ],
    );
    // Every bar is in a lane of its own job.
    for (let i = 0; i < d.bars.task.length; i++) {
      const lane = d.lanes[d.bars.lane[i]!]!;
      assert.equal(lane.job, d.bars.start[i]! < 600 ? 'up' : 'down', `bar ${d.bars.task[i]} at ${d.bars.start[i]}`);
    }
    assert.equal(d.bars.task.length, 7);
  });

  it('counts per job, the overlap with the job before, and a worker of two jobs once', async () => {
    const d = await scanBoth([
      ['up.jsonl', up],
      ['down.jsonl', down],
    ]);
    assert.deepEqual(
      d.jobTotals.map((j) => [j.job, j.tasks, j.ok, j.error, j.failedRecords, j.retried, j.busyMs, j.previous, j.overlapMs, j.aliveMs, j.kinds]),
      [
        ['up', 4, 3, 1, 1, 0, 400 + 500 + 500 + 600, null, 0, 1000 + 500 + 500, ['python']],
        ['down', 3, 3, 0, 0, 1, 300 + 450 + 800, 'up', 1000 - 600, 800 + 300 + 450, ['python']],
      ],
    );
    assert.equal(d.tasks, 7);
    assert.equal(d.lanes.length, 6, 'a lane per job and worker');
    assert.equal(d.workers, 4, 'n1-1 w1, w2; n2-1 w1, w2');
    // Capacity: each worker from its first task to its last, whatever the job.
    const alive = 1000 + (1100 - 100) + (1500 - 200) + 300;
    assert.equal(d.util.capacity.reduce((a, b) => a + b, 0), alive);
    assert.equal(d.util.busy.reduce((a, b) => a + b, 0), d.busyMs);
    assert.deepEqual(
      d.agents.map((a) => [a.agent, a.lanes, a.tasks, a.aliveMs]),
      [
        ['n1-1', 2, 4, 1000 + 1000],
        ['n2-1', 2, 3, 1300 + 300],
      ],
    );

    const s = summarize(d);
    assert.equal(s.lanes, 4);
    assert.ok(Math.abs(s.utilization - d.busyMs / alive) < 1e-9, `utilization ${s.utilization}`);
    assert.deepEqual(
      s.perJob.map((j) => [j.job, j.tasks, j.ok, j.error, j.lanes, j.startS, j.endS, j.spanS, j.previous, j.overlapS]),
      [
        ['up', 4, 3, 1, 3, 0, 1, 1, null, 0],
        ['down', 3, 3, 0, 3, 0.6, 1.5, 0.9, 'up', 0.4],
      ],
    );
    assert.ok(Math.abs(s.perJob[1]!.utilization - 1550 / 1550) < 1e-9);
    const json = JSON.parse(JSON.stringify(s)) as typeof s;
    assert.deepEqual(json.perJob.map((j) => j.overlapS), [0, 0.4], '--json carries the per-job figures');

    const text = summaryLines(s).join('\n');
    assert.match(text, /^files: up\.jsonl, down\.jsonl$/m);
    assert.match(text, /^JOB\s+TASKS\s+OK\s+FAILED\s+RETRIED\s+LANES\s+START\s+END\s+SPAN\s+BUSY\s+UTIL\s+OVERLAP WITH PREVIOUS$/m);
    assert.match(text, /^up\s+4\s+3\s+1\s+0\s+3\s+0ms\s+1\.0s\s+1\.0s\s+2\.0s\s+\d+%\s+-$/m);
    assert.match(text, /^down\s+3\s+3\s+0\s+1\s+3\s+600ms\s+1\.5s\s+900ms\s+1\.6s\s+100%\s+400ms \(up\)$/m);
    assert.match(text, /^all\s+7\s+6\s+1\s+1\s+4\s+0ms\s+1\.5s\s+1\.5s\s+3\.5s\s+99%$/m);
    assert.match(text, /slowest: down\/x2 800ms, up\/x3 600ms/, 'a task is named with its job');
  });

  it('orders jobs that start together by name, and gives jobs that never ran together no overlap', async () => {
    const d = await scanBoth([
      ['c.jsonl', [row({ job: 'c', task: 't', start: 2000, end: 2100 })]],
      ['b.jsonl', [row({ job: 'b', task: 't', start: 0, end: 500 })]],
      ['a.jsonl', [row({ job: 'a', task: 't', worker: 2, start: 0, end: 300 })]],
    ]);
    assert.deepEqual(
      d.jobTotals.map((j) => [j.job, j.previous, j.overlapMs]),
      [
        ['a', null, 0],
        ['b', 'a', 300],
        ['c', 'b', 0],
      ],
    );
    assert.deepEqual(overlapMs({ first: 0, last: 10 }, { first: 3, last: 5 }), 2, 'a span inside another overlaps for its length');
  });

  it('draws one sample of bars over every file, within the cap, from each job', async () => {
    const many = (job: string, at: number): Array<Record<string, unknown>> => Array.from({ length: 3000 }, (_, i) => row({ job, task: `t${i}`, worker: (i % 4) + 1, start: at + i, end: at + i + 5 }));
    const d = await scanBoth(
      [
        ['a.jsonl', many('a', 0)],
        ['b.jsonl', many('b', 1000)],
      ],
      400,
    );
    assert.equal(d.tasks, 6000);
    assert.equal(d.barsTotal, 6000);
    assert.equal(d.bars.task.length, 400, 'the cap holds for the files together');
    const perJob = [0, 0];
    for (const lane of d.bars.lane) perJob[d.lanes[lane]!.group]!++;
    assert.ok(perJob[0]! > 100 && perJob[1]! > 100, `a uniform sample reaches both files: ${perJob.join(', ')}`);
  });

  it('lays out a band above each job\'s lanes only when there are several jobs', async () => {
    const two = await scanBoth([
      ['up.jsonl', up],
      ['down.jsonl', down],
    ]);
    const g = two.geometry;
    assert.equal(g.bandHeight, BAND_HEIGHT);
    assert.deepEqual(g.bandTop, [0, BAND_HEIGHT + 3 * g.laneHeight]);
    assert.deepEqual(g.laneTop, [0, 1, 2, 3, 4, 5].map((l) => BAND_HEIGHT * (l < 3 ? 1 : 2) + l * g.laneHeight));
    assert.equal(g.height, 2 * BAND_HEIGHT + 6 * g.laneHeight);

    const one = await scanRows(iter(up), 'up.jsonl');
    assert.equal(one.geometry.bandHeight, 0, 'a lone job has no band');
    assert.deepEqual(one.geometry.laneTop, [0, 1, 2].map((l) => l * one.geometry.laneHeight));
    // Many lanes: thinner lanes keep the canvas, bands included, within 16000px.
    const big = layOut(
      Array.from({ length: 9000 }, (_, i) => ({ job: i < 4500 ? 'a' : 'b', agent: `n${i}`, host: 'h', worker: 1, tasks: 1, busyMs: 1, first: i, last: i + 1, index: i })),
      ['a', 'b'].map((job, i) => ({ job, tasks: 4500, ok: 4500, error: 0, failedRecords: 0, retried: 0, busyMs: 4500, first: i * 4500, last: i * 4500 + 4500 })),
    );
    const bg = geometryOf(big.groups, big.lanes.length);
    assert.deepEqual([bg.laneHeight, bg.bandTop, bg.height], [1, [0, BAND_HEIGHT + 4500], 2 * BAND_HEIGHT + 9000]);
  });

  it('renders a labelled band per job, its lanes under it, a per-job table, and tasks named with their job', async () => {
    const d = await scanBoth([
      ['up.jsonl', up],
      ['down.jsonl', down],
    ]);
    const html = renderHtml(d, summarize(d));
    const labels = [...html.matchAll(/<div class="(group-label|lane-label[^"]*)"[^>]*>([^<]*)<\/div>/g)].map((m) => `${m[1]!.split(' ')[0]}:${m[2]}`);
    assert.deepEqual(labels, ['group-label:up', 'lane-label:n1-1 / w1', 'lane-label:n1-1 / w2', 'lane-label:n2-1 / w1', 'group-label:down', 'lane-label:n2-1 / w1', 'lane-label:n2-1 / w2', 'lane-label:n1-1 / w2']);
    assert.match(html, /title="down: 3 tasks \(3 ok, 0 failed\) on 3 lanes, from 600ms to 1.50s \(900ms\), overlapping up for 400ms"/);
    const jobsTable = /<table id="jobs">(.*?)<\/table>/s.exec(html)?.[1] ?? '';
    assert.match(jobsTable, /<td>up<\/td><td>python<\/td><td class="num">4<\/td><td class="num">3<\/td><td class="num">1<\/td>/);
    assert.match(jobsTable, /<td>down<\/td>.*<td class="num">400ms \(up\)<\/td><\/tr>/);
    assert.match(html, /<b>2<\/b><span>jobs<\/span>/);
    assert.match(html, /<b>4<\/b><span>worker lanes<\/span>/);
    assert.match(html, /<table id="slowest"><thead><tr><th>job<\/th><th>task<\/th>/);
    const data = JSON.parse(/<script id="shoal-data" type="application\/json">(.*?)<\/script>/s.exec(html)![1]!) as { groups: unknown[]; geometry: { bandTop: number[] } };
    assert.equal(data.groups.length, 2);
    assert.equal(data.geometry.bandTop.length, 2);

    const lone = await scanRows(iter(up), 'up.jsonl');
    const page = renderHtml(lone, summarize(lone));
    assert.ok(!page.includes('class="group-label"') && !page.includes('<table id="jobs">'), 'one job: no band, no per-job table');
    assert.match(page, /<table id="slowest"><thead><tr><th>task<\/th>/);
    assert.ok(!summaryLines(summarize(lone)).some((l) => l.startsWith('JOB')), 'one job: no per-job block');
  });
});
