/**
 * `shoal report --html` on the output of a real job, opened in headless Chromium (Debian's
 * `chromium`, driven by playwright-core) with every network request refused: the page
 * renders one lane per agent × worker with its label, draws a bar per task in the lane's
 * row of the canvas, the utilization chart, and zooms on the wheel. A screenshot is saved
 * in the test's temp dir (its path is printed as a diagnostic).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { PageState } from '../../src/report/index.js';
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
      const y = Math.floor((l + 0.5) * r.laneHeight * scale);
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

describe('shoal report --html in headless Chromium', () => {
  it('renders the lanes and bars of a real job, works offline, zooms, and the text summary agrees', async (t) => {
    const out = join(tmp, 'spin.jsonl');
    const run = await runShoal(['run', 'spin', '--tasks', '300', '--ms', '5', '--workers', '2', '--out', out]);
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
    assert.deepEqual(errors, [], 'no script errors');
    assert.deepEqual(requests, [], 'the page fetches nothing');

    const report = await page.evaluate(() => window.shoalReport as PageState);
    assert.equal(report.lanes, lanes.length);
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
});
