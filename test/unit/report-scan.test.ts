/**
 * The report's streamed pass: time bins against a brute-force sum, lanes and per-agent
 * totals, multi-record tasks counted once, the bounded bar sample, slowest tasks, retries
 * and errors, the text summary, and HTML that cannot be broken out of by a row's text.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderHtml, scanRows, summarize, summaryLines, TimeBins } from '../../src/report/index.js';
import { iter, reportRow, type ReportRowSpec } from '../helpers/report-rows.js';

/** A small deterministic PRNG for the brute-force comparison. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296;
}

const row = (r: ReportRowSpec): Record<string, unknown> => reportRow(r, { job: 'J', kind: 'spin', agent: 'a-1' });

describe('TimeBins', () => {
  it('matches a brute-force per-bin sum for intervals in any order, across coarsening', () => {
    const rand = lcg(7);
    const ivs: Array<[number, number]> = [];
    for (let i = 0; i < 3000; i++) {
      const s = 1_700_000_000_000 + Math.floor(rand() * 50_000) - (i % 10 === 0 ? 20_000 : 0);
      ivs.push([s, s + Math.floor(rand() * 3000) + 1]);
    }
    const bins = new TimeBins(100);
    for (const [s, e] of ivs) bins.add(s, e);
    const r = bins.result();
    assert.ok(r.values.length <= 101 && r.values.length >= 50, `bins: ${r.values.length}`);
    const expect = new Array<number>(r.values.length).fill(0);
    for (const [s, e] of ivs) {
      for (let k = 0; k < expect.length; k++) {
        const a = r.from + k * r.width;
        expect[k]! += Math.max(0, Math.min(e, a + r.width) - Math.max(s, a));
      }
    }
    r.values.forEach((v, k) => assert.ok(Math.abs(v - expect[k]!) < 1e-6, `bin ${k}: ${v} vs ${expect[k]}`));
    const total = ivs.reduce((t, [s, e]) => t + (e - s), 0);
    assert.ok(Math.abs(r.values.reduce((a, b) => a + b, 0) - total) < 1e-6);
  });

  it('coarsens to a requested width (to line up two series)', () => {
    const a = new TimeBins(1000);
    a.add(0, 10);
    const r = a.result(8);
    assert.equal(r.width, 8);
    assert.deepEqual(r.values, [8, 2]);
  });
});

describe('scanRows', () => {
  const t = 1_700_000_000_000;
  const rows = [
    row({ task: 't1', agent: 'n1-1', worker: 1, start: t, end: t + 100 }),
    row({ task: 't2', agent: 'n1-1', worker: 2, start: t + 10, end: t + 60, status: 'error', error: { code: 'E_EXIT', message: 'exited with code 3' } }),
    // A multi-record task: three rows, one bar.
    row({ task: 'f0', agent: 'n2-2', worker: 1, start: t + 20, end: t + 220, kind: 'frames', index: 0, of: 3 }),
    row({ task: 'f0', agent: 'n2-2', worker: 1, start: t + 20, end: t + 220, kind: 'frames', index: 1, of: 3 }),
    row({ task: 'f0', agent: 'n2-2', worker: 1, start: t + 20, end: t + 220, kind: 'frames', index: 2, of: 3 }),
    row({ task: 't3', agent: 'n1-1', worker: 1, start: t + 100, end: t + 400, attempt: 2 }),
    row({ task: 't4', agent: 'n2-2', worker: null, start: t + 300, end: t + 300, status: 'error', attempt: 3, error: { code: 'E_WORKER', message: 'worker thread died' } }),
    { not: 'a row' },
  ];

  it('counts tasks once, by lane and agent, with retries, errors and the slowest first', async () => {
    const d = await scanRows(iter(rows), 'x.jsonl');
    assert.equal(d.rows, 7);
    assert.equal(d.tasks, 5);
    assert.equal(d.ok, 3);
    assert.equal(d.error, 2);
    assert.equal(d.retried, 2);
    assert.deepEqual(d.attempts, { 1: 3, 2: 1, 3: 1 });
    assert.deepEqual(d.kinds, ['spin', 'frames']);
    assert.equal(d.t0, t);
    assert.equal(d.t1, t + 400);
    assert.equal(d.busyMs, 100 + 50 + 200 + 300);
    assert.deepEqual(
      d.lanes.map((l) => [l.agent, l.worker, l.tasks]),
      [
        ['n1-1', 1, 2],
        ['n1-1', 2, 1],
        ['n2-2', null, 1],
        ['n2-2', 1, 1],
      ],
    );
    assert.deepEqual(
      d.agents.map((a) => [a.agent, a.lanes, a.tasks, a.ok, a.error, a.retried]),
      [
        ['n1-1', 2, 3, 2, 1, 1],
        ['n2-2', 2, 2, 1, 1, 1],
      ],
    );
    assert.deepEqual(
      d.slowest.map((s) => s.task),
      ['t3', 'f0', 't1', 't2', 't4'],
    );
    assert.deepEqual(d.errorsByCode, { E_EXIT: 1, E_WORKER: 1 });
    assert.deepEqual(
      d.errors.map((e) => [e.task, e.code]),
      [
        ['t2', 'E_EXIT'],
        ['t4', 'E_WORKER'],
      ],
    );
    // Bars: relative starts, pointing at the sorted lanes.
    assert.equal(d.bars.task.length, 5);
    const i3 = d.bars.task.indexOf('t3');
    assert.equal(d.bars.start[i3], 100);
    assert.equal(d.bars.ms[i3], 300);
    assert.equal(d.lanes[d.bars.lane[i3]!]!.worker, 1);
    assert.equal(d.bars.status[d.bars.task.indexOf('t2')], 1);
    // Utilization: busy time over lane time; all busy time is in the bins.
    assert.equal(d.util.busy.reduce((a, b) => a + b, 0), d.busyMs);
    const s = summarize(d);
    const laneTime = 400 + 50 + 0 + 200;
    assert.ok(Math.abs(s.utilization - d.busyMs / laneTime) < 1e-9, `utilization ${s.utilization}`);
    const text = summaryLines(s).join('\n');
    assert.match(text, /5 tasks \(3 ok, 2 failed, 2 failed records, 2 retried\)/);
    assert.match(text, /E_EXIT 1/);
    assert.match(text, /n2-2/);
  });

  it('counts a multi-record task with any error row as failed, and its failed records', async () => {
    const err = (index: number, code = 'E_INPUT'): ReportRowSpec => ({
      task: 'frames_0-3', agent: 'n1-1', start: t, end: t + 50, kind: 'frames', index, of: 4, status: 'error',
      error: { code, message: `traj.dcd frame ${index}: truncated file` },
    });
    const chunk = (task: string, index: number, start: number): ReportRowSpec => ({ task, agent: 'n1-1', start, end: start + 50, kind: 'frames', index, of: 2 });
    const crafted = [
      // The first row is ok: the task must still end up failed.
      row({ task: 'frames_0-3', agent: 'n1-1', start: t, end: t + 50, kind: 'frames', index: 0, of: 4 }),
      row(err(1)),
      row({ task: 'frames_0-3', agent: 'n1-1', start: t, end: t + 50, kind: 'frames', index: 2, of: 4 }),
      row(err(3, 'E_TASK')),
      row(chunk('frames_4-5', 4, t + 60)),
      row(chunk('frames_4-5', 5, t + 60)),
      // A single-row task that failed as a whole.
      row({ task: 'frames_6-7', agent: 'n2-2', start: t + 70, end: t + 80, kind: 'frames', status: 'error', attempt: 3, error: { code: 'E_LOST', message: 'agent lost' } }),
    ];
    const d = await scanRows(iter(crafted), 'x.jsonl');
    assert.deepEqual({ rows: d.rows, tasks: d.tasks, ok: d.ok, error: d.error, failedRecords: d.failedRecords }, { rows: 7, tasks: 3, ok: 1, error: 2, failedRecords: 3 });
    assert.deepEqual(d.errorsByCode, { E_INPUT: 1, E_TASK: 1, E_LOST: 1 });
    assert.deepEqual(
      d.errors.map((e) => [e.task, e.code, e.failedRecords, e.records, e.message]),
      [
        ['frames_0-3', 'E_INPUT', 2, 4, 'traj.dcd frame 1: truncated file'],
        ['frames_6-7', 'E_LOST', 1, 1, 'agent lost'],
      ],
    );
    assert.deepEqual(
      d.agents.map((a) => [a.agent, a.tasks, a.ok, a.error, a.failedRecords]),
      [
        ['n1-1', 2, 1, 1, 2],
        ['n2-2', 1, 0, 1, 1],
      ],
    );
    assert.equal(d.bars.status[d.bars.task.indexOf('frames_0-3')], 1, 'the failed chunk is drawn as an error');
    assert.equal(d.bars.status[d.bars.task.indexOf('frames_4-5')], 0);
    assert.equal(d.slowest.find((b) => b.task === 'frames_0-3')?.status, 'error');

    const s = summarize(d);
    assert.equal(s.failedRecords, 3);
    assert.deepEqual(JSON.parse(JSON.stringify(s)).agents.map((a: { failedRecords: number }) => a.failedRecords), [2, 1]);
    const text = summaryLines(s).join('\n');
    assert.match(text, /3 tasks \(1 ok, 2 failed, 3 failed records, 1 retried\) in 7 rows/);
    assert.match(text, /FAILED\s+FAILED RECORDS/);
    const html = renderHtml(d, s);
    assert.match(html, /<b>2<\/b><span>failed<\/span>/);
    assert.match(html, /<b>3<\/b><span>failed records<\/span>/);
    assert.match(html, /<td>frames_0-3<\/td><td class="num">2 of 4<\/td>/);
  });

  it('keeps at most maxBars bars, a sample of every task, and still counts them all', async () => {
    const many = Array.from({ length: 5000 }, (_, i) => row({ task: `t${i}`, worker: (i % 4) + 1, start: t + i, end: t + i + 3 }));
    const d = await scanRows(iter(many), 'x.jsonl', { maxBars: 500 });
    assert.equal(d.tasks, 5000);
    assert.equal(d.barsTotal, 5000);
    assert.equal(d.bars.task.length, 500);
    assert.equal(new Set(d.bars.task).size, 500);
    // A uniform sample reaches into the second half of the file.
    assert.ok(d.bars.task.some((id) => Number(id.slice(1)) >= 2500));
    assert.equal(d.lanes.length, 4);
  });

  it('renders HTML with the data inline and no way out of its script element', async () => {
    const evil = [row({ task: '</script><script>alert(1)</script>', start: t, end: t + 5, status: 'error', error: { code: 'E_TASK', message: '<img src=x onerror=alert(1)>' } })];
    const d = await scanRows(iter(evil), 'x.jsonl');
    const html = renderHtml(d, summarize(d));
    assert.equal(html.match(/<\/script>/g)?.length, 2, 'only the data and the page script close');
    assert.ok(!html.includes('<img src=x'), 'text is escaped in tables');
    assert.ok(!/<(link|img|iframe)\b|src="http|href="http/i.test(html), 'nothing is fetched');
    const json = /<script id="shoal-data" type="application\/json">(.*?)<\/script>/s.exec(html)![1]!;
    assert.equal(JSON.parse(json).bars.task[0], '</script><script>alert(1)</script>');
  });

  it('inlines the compiled page script whole, as a module that imports nothing', async () => {
    const d = await scanRows(iter([row({ task: 'a', start: t, end: t + 5 })]), 'x.jsonl');
    const script = /<script type="module">(.*?)<\/script>/s.exec(renderHtml(d, summarize(d)))?.[1];
    assert.ok(script !== undefined, 'the page script is a module script');
    assert.match(script, /window\.shoalReport = /, 'it is the compiled browser/main.ts');
    assert.ok(!/^\s*import\b/m.test(script), 'a page with no network cannot load an import');
  });
});
