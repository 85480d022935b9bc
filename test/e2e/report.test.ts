/**
 * `shoal report --html` on the output of a real job, opened in headless Chromium (Debian's
 * `chromium`, driven by playwright-core) with every network request refused: the page
 * renders one lane per agent × worker with its label, draws a bar per task in the lane's
 * row of the canvas, the utilization chart, and zooms on the wheel. Then on the out dir of a
 * real two-stage pipeline (the second stage fed by the first's rows): one timeline with a
 * labelled band per stage, upstream first, each over its own lanes, and the summary's per-job
 * figures as the rows give them. Screenshots are saved in the test's temp dir (their paths
 * are printed as diagnostics).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { PageState, ReportSummary } from '../../src/report/index.js';
import { readRows } from '../helpers/rows.js';
import { killLeftovers, runShoal } from '../helpers/shoal.js';

const CHROMIUM = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium';

// The functions given to page.evaluate run in the page; this project compiles without the
// DOM lib (only the page's own script, src/report/browser, has it), so the page's globals are
// declared here, for this file only. What the page records is typed by PageState.
declare const document: any;
declare const window: any;

let tmp: string;
let browser: Browser | null = null;

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'shoal-report-'));
  if (!existsSync(CHROMIUM)) throw new Error(`this test needs headless Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_BIN)`);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // playwright-core gives each launch a fresh user-data-dir.
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  await browser?.close();
  await killLeftovers();
  // tmp stays: it holds the screenshot.
});

/** Pixels in a lane's row of the timeline canvas that are neither background, stripe nor grid. */
async function barPixelsPerLane(page: Page): Promise<number[]> {
  return page.evaluate(() => {
    const c = document.getElementById('timeline');
    const r = window.shoalReport as PageState;
    const ctx = c.getContext('2d')!;
    const scale = c.height / c.clientHeight;
    const data = ctx.getImageData(0, 0, c.width, c.height).data;
    const counts: number[] = [];
    for (let l = 0; l < r.lanes; l++) {
      const y = Math.floor((r.laneTops[l]! + 0.5 * r.laneHeight) * scale);
      let n = 0;
      for (let x = 0; x < c.width; x++) {
        const i = 4 * (y * c.width + x);
        const [red, green, blue, alpha] = [data[i]!, data[i + 1]!, data[i + 2]!, data[i + 3]!];
        const grey = Math.abs(red - green) < 12 && Math.abs(green - blue) < 12;
        if (alpha > 0 && !grey) n++;
      }
      counts.push(n);
    }
    return counts;
  });
}

/** Opens a report page with every request but file: ones refused; what it asked for and its script errors are collected. */
async function openReport(html: string): Promise<{ page: Page; requests: string[]; errors: string[] }> {
  const page = await browser!.newPage({ viewport: { width: 1280, height: 900 } });
  const requests: string[] = [];
  await page.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith('file:')) return route.continue();
    requests.push(url);
    return route.abort();
  });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(pathToFileURL(html).href);
  await page.waitForFunction(() => window.shoalReport !== undefined);
  return { page, requests, errors };
}

/**
 * The first and last x (CSS px) of a band's coloured span on the timeline canvas, read on the
 * band's span bar's top row (above its label's glyphs); null when none is coloured.
 */
async function bandExtent(page: Page, top: number): Promise<{ from: number; to: number; width: number } | null> {
  return page.evaluate((bandTop: number) => {
    const c = document.getElementById('timeline');
    const scale = c.height / c.clientHeight;
    const y = Math.floor((bandTop + 4.5) * scale);
    const data = c.getContext('2d')!.getImageData(0, y, c.width, 1).data;
    let from = -1;
    let to = -1;
    for (let x = 0; x < c.width; x++) {
      const [red, green, blue] = [data[4 * x]!, data[4 * x + 1]!, data[4 * x + 2]!];
      if (Math.abs(red - green) < 12 && Math.abs(green - blue) < 12) continue;
      if (from < 0) from = x;
      to = x;
    }
    return from < 0 ? null : { from: from / scale, to: (to + 1) / scale, width: c.clientWidth };
  }, top);
}

describe('shoal report --html in headless Chromium', () => {
  it('renders the lanes and bars of a real job, works offline, zooms, and the text summary agrees', async (t) => {
    const out = join(tmp, 'spin.jsonl');
    const run = await runShoal(['run', 'spin', '--tasks', '300', '--sleep', '--ms', '5', '--workers', '2', '--out', out]);
    assert.equal(run.code, 0, run.describe());
    const rows = readRows(out);
    assert.equal(rows.length, 300);
    const lanes = [...new Set(rows.map((r) => `${r.agent} / w${r.worker as number}`))].sort();

    const html = join(tmp, 'report.html');
    const rep = await runShoal(['report', out, '--html', html]);
    assert.equal(rep.code, 0, rep.describe());
    assert.match(rep.stdout, /300 tasks \(300 ok, 0 failed, 0 failed records, 0 retried\) in 300 rows/);
    assert.match(rep.stdout, new RegExp(`1 agent, ${lanes.length} worker lanes?`));
    assert.match(rep.stdout, /AGENT\s+HOST\s+LANES\s+TASKS/);
    const json = await runShoal(['report', out, '--json']);
    assert.equal(JSON.parse(json.stdout).tasks, 300, json.describe());

    const { page, requests, errors } = await openReport(html);
    assert.deepEqual(errors, [], 'no script errors');
    assert.deepEqual(requests, [], 'the page fetches nothing');

    const report = await page.evaluate(() => window.shoalReport as PageState);
    assert.equal(report.lanes, lanes.length);
    assert.equal(report.groups.length, 1);
    assert.equal(await page.locator('#lanes .group-label').count(), 0, 'one job: no band');
    assert.equal(report.bars, 300);
    assert.equal(report.barsDrawn, 300);
    const labels = await page.locator('#lanes .lane-label').allTextContents();
    assert.deepEqual([...labels].sort(), lanes);
    assert.equal(await page.locator('#timeline').getAttribute('data-bars-drawn'), '300');

    // Every lane's row has bar-coloured pixels: the bars are really drawn.
    const pixels = await barPixelsPerLane(page);
    assert.equal(pixels.length, lanes.length);
    pixels.forEach((n, l) => assert.ok(n > 50, `lane ${labels[l]} has ${n} bar pixels`));
    // The utilization chart is drawn too (its filled area is coloured).
    const utilPixels = await page.evaluate(() => {
      const c = document.getElementById('util');
      const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 0; i < d.length; i += 4) if (d[i + 3]! > 0 && d[i + 2]! > d[i]! + 20) n++;
      return n;
    });
    assert.ok(utilPixels > 1000, `utilization chart pixels: ${utilPixels}`);
    assert.equal(await page.locator('#slowest tbody tr').count(), 25);
    assert.equal(await page.locator('#agents tbody tr').count(), 1);

    const shot = join(tmp, 'report.png');
    await page.screenshot({ path: shot, fullPage: true });
    assert.ok(readFileSync(shot).subarray(1, 4).toString() === 'PNG');
    t.diagnostic(`screenshot: ${shot}`);

    // Zoom in on the timeline: a narrower window, fewer bars in view.
    const box = (await page.locator('#timeline').boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.wheel(0, -800);
    await page.waitForFunction(() => (window.shoalReport as PageState).barsDrawn < 300);
    const zoomed = await page.evaluate(() => window.shoalReport as PageState);
    assert.ok(zoomed.view.from > 0 && zoomed.barsDrawn > 0, JSON.stringify(zoomed));
    await page.screenshot({ path: join(tmp, 'report-zoomed.png') });
    await page.close();
  });

  it('draws the stages of a real pipeline as bands on one time axis, upstream first, and the summary agrees with the rows', async (t) => {
    const dir = join(tmp, 'pipeline');
    mkdirSync(dir);
    // A stage fed by the other's rows as they commit: it may start while the first still runs.
    writeFileSync(join(dir, 'fns.py'), 'import time\n\ndef double(x, params):\n    time.sleep(0.01)\n    return int(x) * 2\n\ndef plus(x, params):\n    time.sleep(0.01)\n    return x + params["k"]\n');
    writeFileSync(join(dir, 'nums.txt'), Array.from({ length: 60 }, (_, i) => String(i)).join('\n') + '\n');
    const file = join(dir, 'two.yaml');
    writeFileSync(file, ['stages:', '  - { name: twice, kind: python, options: { fn: fns.py:double, inputs: nums.txt } }', '  - { name: more, kind: python, from: twice, options: { fn: fns.py:plus, params: { k: 100 } } }', ''].join('\n'));
    const out = join(dir, 'out');
    const run = await runShoal(['pipeline', file, '--out-dir', out, '--workers', '2'], { cwd: dir });
    assert.equal(run.code, 0, run.describe());
    writeFileSync(join(out, 'notes.jsonl'), '{"note":"not a row"}\n');

    // What the rows say: each stage's span and lanes, and the overlap of the second with the first.
    const stages = ['twice', 'more'].map((job) => {
      const rows = readRows(join(out, `${job}.jsonl`));
      assert.equal(rows.length, 60, job);
      const first = Math.min(...rows.map((r) => r.start as number));
      const last = Math.max(...rows.map((r) => r.end as number));
      return { job, first, last, lanes: new Set(rows.map((r) => `${r.agent} / w${r.worker as number}`)) };
    });
    const [up, down] = stages as [(typeof stages)[0], (typeof stages)[0]];
    assert.ok(up.first < down.first, 'a stage fed by another starts after it');
    const t0 = up.first;
    const t1 = Math.max(up.last, down.last);
    const overlap = Math.max(0, Math.min(up.last, down.last) - down.first);
    t.diagnostic(`twice ${up.last - up.first} ms, more ${down.last - down.first} ms, overlapping ${overlap} ms`);

    const html = join(dir, 'pipeline.html');
    const rep = await runShoal(['report', out, '--html', html]);
    assert.equal(rep.code, 0, rep.describe());
    assert.match(rep.stderr, /skipped \S*notes\.jsonl: its first line is not a row/);
    assert.match(rep.stdout, /: 120 tasks \(120 ok, 0 failed, 0 failed records, 0 retried\) in 120 rows/);
    assert.match(rep.stdout, /^jobs: twice, more /m);
    assert.match(rep.stdout, new RegExp(`^twice\\s+60\\s+60\\s+0\\s+0\\s+${up.lanes.size}\\s+0ms\\s.*\\s-$`, 'm'));
    assert.match(rep.stdout, new RegExp(`^more\\s+60\\s+60\\s+0\\s+0\\s+${down.lanes.size}\\s.*\\(twice\\)$`, 'm'));
    assert.match(rep.stdout, /^all\s+120\s+120\s+0\s+0\s/m);

    const json = await runShoal(['report', out, '--json']);
    assert.equal(json.code, 0, json.describe());
    const s = JSON.parse(json.stdout) as ReportSummary & { skipped: Array<{ file: string }> };
    assert.deepEqual(s.files, [join(out, 'more.jsonl'), join(out, 'twice.jsonl')]);
    assert.deepEqual(s.skipped.map((x) => x.file), [join(out, 'notes.jsonl')]);
    const near = (a: number, b: number, what: string): void => assert.ok(Math.abs(a - b) < 1e-6, `${what}: ${a} vs ${b}`);
    assert.deepEqual(s.perJob.map((j) => [j.job, j.tasks, j.ok, j.lanes, j.previous]), [['twice', 60, 60, up.lanes.size, null], ['more', 60, 60, down.lanes.size, 'twice']]);
    s.perJob.forEach((j, i) => {
      near(j.startS, (stages[i]!.first - t0) / 1000, `${j.job} start`);
      near(j.endS, (stages[i]!.last - t0) / 1000, `${j.job} end`);
    });
    near(s.perJob[1]!.overlapS, overlap / 1000, 'overlap');
    near(s.spanS, (t1 - t0) / 1000, 'span');

    const { page, requests, errors } = await openReport(html);
    assert.deepEqual(errors, [], 'no script errors');
    assert.deepEqual(requests, [], 'the page fetches nothing');
    const report = await page.evaluate(() => window.shoalReport as PageState);
    assert.deepEqual(report.groups.map((g) => [g.job, g.lanes]), [['twice', up.lanes.size], ['more', down.lanes.size]]);
    assert.equal(report.lanes, up.lanes.size + down.lanes.size);
    assert.equal(report.barsDrawn, 120);
    assert.deepEqual(await page.locator('#lanes .group-label').allTextContents(), ['twice', 'more']);
    // Each band's label, then its job's lanes.
    const labels = await page.locator('#lanes > div').allTextContents();
    assert.deepEqual(labels, ['twice', ...[...up.lanes].sort(), 'more', ...[...down.lanes].sort()], 'one label per band and lane, in order');
    assert.equal(await page.locator('#jobs tbody tr').count(), 2);
    // Every lane's row has bars; each band's coloured span runs from its job's first start to its last end.
    const pixels = await barPixelsPerLane(page);
    pixels.forEach((n, l) => assert.ok(n > 0, `lane ${l} has ${n} bar pixels`));
    for (const [i, st] of stages.entries()) {
      const got = await bandExtent(page, report.groups[i]!.top);
      assert.ok(got !== null, `band ${st.job} is drawn`);
      const x = (ms: number): number => ((ms - t0) / (t1 - t0)) * got.width;
      assert.ok(Math.abs(got.from - x(st.first)) <= 3 && Math.abs(got.to - x(st.last)) <= 3, `${st.job}: band ${got.from}..${got.to}, span ${x(st.first)}..${x(st.last)}`);
    }
    const shot = join(tmp, 'pipeline-report.png');
    await page.screenshot({ path: shot, fullPage: true });
    t.diagnostic(`screenshot: ${shot}`);
    await page.close();
  });
});
