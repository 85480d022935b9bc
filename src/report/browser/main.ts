/**
 * The report page's script, run in the browser. It reads the data from
 * <script id="shoal-data" type="application/json"> and draws the task stream and the
 * utilization chart on canvases (hundreds of thousands of bars are too many for SVG), with
 * wheel/drag zoom and a tooltip. The tables, the legend and the lanes' labels are rendered on
 * the server side (html.ts), the rows laid out there too (layout.ts), in the page's colours
 * (page.ts).
 *
 * With several jobs, each job's lanes are drawn together under a band that names the job and
 * marks its span (first start to last end), bands in the order the jobs started: how the
 * stages of a pipeline overlap is seen at a glance.
 *
 * After each draw, the page records what it drew on `window.shoalReport` and on the timeline
 * canvas's data attributes (lanes, bars drawn), which the browser test reads.
 *
 * Built by tsconfig.browser.json and inlined whole into the page by page.ts as a module
 * script: it may import types only (a real import would be a request the page cannot make).
 */
import type { PageData, PageState } from '../page-data.js';

declare global {
  interface Window {
    shoalReport?: PageState;
  }
}

/** The element with this id, which must be of this type (the page is ours: anything else is a bug). */
function byId<T extends HTMLElement>(id: string, type: { new (): T; prototype: T }): T {
  const e = document.getElementById(id);
  if (!(e instanceof type)) throw new Error(`report page: #${id} is not a ${type.name}`);
  return e;
}

const D = JSON.parse(byId('shoal-data', HTMLScriptElement).textContent ?? '') as PageData;
const B = D.bars;
const n = B.task.length;
const nl = D.lanes.length;
const span = Math.max(1, D.t1 - D.t0);
/** The time window shown, in ms after t0. */
const view = { a: 0, b: span };

const { kinds: KIND, error: ERROR, retry: RETRY, bands: GROUP } = D.palette;
const AXIS_H = 22;
// Where the rows are (laid out on the server, which rendered their labels at the same heights).
const { laneHeight: laneH, bandHeight: BAND_H, bandTop, laneTop, height: plotH } = D.geometry;

function colorOf(i: number): string {
  if (B.status[i]) return ERROR;
  if (B.attempt[i]! > 1) return RETRY;
  return KIND[B.kind[i]! % KIND.length]!;
}

// Bars of each lane, by start (for drawing only what is visible, and for the tooltip).
const byLane: number[][] = D.lanes.map(() => []);
for (let i = 0; i < n; i++) byLane[B.lane[i]!]!.push(i);
for (const ix of byLane) ix.sort((x, y) => B.start[x]! - B.start[y]!);
// Longest bar per lane: how far back a visible bar may start.
const maxMs = byLane.map((ix) => ix.reduce((m, i) => Math.max(m, B.ms[i]!), 0));

const workerName = (worker: number | null): string => (worker === null ? '-' : String(worker));

const axis = byId('axis', HTMLCanvasElement);
const tl = byId('timeline', HTMLCanvasElement);
const util = byId('util', HTMLCanvasElement);
const tip = byId('tooltip', HTMLElement);
const rangeEl = byId('range', HTMLElement);

interface Surface {
  ctx: CanvasRenderingContext2D;
  /** Width and height in CSS pixels. */
  w: number;
  h: number;
}

/** Sizes the canvas to its parent's width and `h` CSS pixels, sharp on high-DPI screens. */
function fit(c: HTMLCanvasElement, h: number): Surface {
  const dpr = window.devicePixelRatio || 1;
  const w = Math.max(100, c.parentElement?.clientWidth ?? 0);
  c.style.height = `${h}px`;
  c.width = Math.round(w * dpr);
  c.height = Math.round(h * dpr);
  const ctx = c.getContext('2d');
  if (!ctx) throw new Error('report page: no 2d canvas');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  return { ctx, w, h };
}

/** A duration, short: 850ms, 2.5s, 12m, 1.5h. */
function fmt(ms: number): string {
  const a = Math.abs(ms);
  const f = (x: number, d: number): string => String(+x.toFixed(d));
  if (a >= 3600e3) return `${f(ms / 3600e3, a >= 36000e3 ? 0 : 1)}h`;
  if (a >= 60e3) return `${f(ms / 60e3, a >= 600e3 ? 0 : 1)}m`;
  if (a >= 1e3) return `${f(ms / 1e3, a >= 10e3 ? 0 : 2)}s`;
  return `${f(ms, a >= 10 ? 0 : 1)}ms`;
}

/** 1, 2 or 5 times a power of ten, at least `raw`. */
function niceStep(raw: number): number {
  const p = Math.pow(10, Math.floor(Math.log10(raw)));
  const m = raw / p;
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
}

// Tick steps that read well as times (ms, s, min, h).
const TIME_STEPS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 10e3, 15e3, 30e3, 60e3, 120e3, 300e3, 600e3, 900e3, 1800e3, 3600e3, 7200e3, 10800e3, 21600e3, 43200e3, 86400e3];

/** The time between ticks on a plot `w` pixels wide: about one per 110px. */
function timeStep(w: number): number {
  const raw = (view.b - view.a) / Math.max(2, w / 110);
  return TIME_STEPS.find((s) => s >= raw) ?? niceStep(raw);
}

/** Vertical grid lines from `top` down to `h`, labelled with their time on the axis (top 0). */
function ticks(ctx: CanvasRenderingContext2D, w: number, h: number, top: number): void {
  const step = timeStep(w);
  ctx.fillStyle = '#5f6b7a';
  ctx.strokeStyle = '#e6e9ee';
  ctx.font = '11px system-ui, sans-serif';
  ctx.textBaseline = 'middle';
  const k = (view.b - view.a) / w;
  for (let t = Math.ceil(view.a / step) * step; t <= view.b; t += step) {
    const x = Math.round((t - view.a) / k) + 0.5;
    ctx.beginPath();
    ctx.moveTo(x, top);
    ctx.lineTo(x, h);
    ctx.stroke();
    if (top === 0) ctx.fillText(fmt(t), x + 3, 11);
  }
}

/** The first of a lane's bars (sorted by start) that may be visible: a binary search on start >= from. */
function firstFrom(ix: number[], from: number): number {
  let lo = 0;
  let hi = ix.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (B.start[ix[mid]!]! < from) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Draws the axis and the bars in view; returns how many bars it drew. */
function drawTimeline(): number {
  const a = fit(axis, AXIS_H);
  a.ctx.clearRect(0, 0, a.w, AXIS_H);
  ticks(a.ctx, a.w, AXIS_H, 0);
  const H = plotH;
  const { ctx, w } = fit(tl, H);
  ctx.clearRect(0, 0, w, H);
  for (const g of D.groups) {
    for (let l = g.lane + 1; l < g.lane + g.lanes; l += 2) {
      ctx.fillStyle = '#f6f8fa';
      ctx.fillRect(0, laneTop[l]!, w, laneH);
    }
  }
  ticks(ctx, w, H, 1);
  const k = (view.b - view.a) / w;
  if (BAND_H > 0) drawBands(ctx, w, k);
  const pad = laneH >= 6 ? 1 : 0;
  const bh = Math.max(1, laneH - 2 * pad);
  let drawn = 0;
  for (let l = 0; l < nl; l++) {
    const ix = byLane[l]!;
    const y = laneTop[l]! + pad;
    for (let j = firstFrom(ix, view.a - maxMs[l]!); j < ix.length; j++) {
      const i = ix[j]!;
      const s = B.start[i]!;
      if (s > view.b) break;
      if (s + B.ms[i]! < view.a) continue;
      const x0 = (s - view.a) / k;
      const x1 = (s + B.ms[i]! - view.a) / k;
      ctx.fillStyle = colorOf(i);
      ctx.fillRect(x0, y, Math.max(1, x1 - x0), bh);
      drawn++;
    }
  }
  tl.setAttribute('data-lanes', String(nl));
  tl.setAttribute('data-bars-drawn', String(drawn));
  rangeEl.textContent = `${fmt(view.a)} – ${fmt(view.b)} of ${fmt(span)} · ${drawn} bars in view`;
  return drawn;
}

/** Each job's band: its name, and a bar from its first start to its last end (grey: the time it did not run). */
function drawBands(ctx: CanvasRenderingContext2D, w: number, k: number): void {
  ctx.font = '600 11px system-ui, sans-serif';
  ctx.textBaseline = 'middle';
  D.groups.forEach((g, gi) => {
    const y = bandTop[gi]!;
    ctx.fillStyle = '#e9edf2';
    ctx.fillRect(0, y, w, BAND_H);
    ctx.fillStyle = '#c5cdd8';
    ctx.fillRect(0, y, w, 1);
    const x0 = Math.max(0, (g.first - D.t0 - view.a) / k);
    const x1 = Math.min(w, (g.last - D.t0 - view.a) / k);
    if (x1 >= 0 && x0 <= w) {
      ctx.fillStyle = GROUP[gi % GROUP.length]!;
      ctx.fillRect(x0, y + 4, Math.max(2, x1 - x0), BAND_H - 8);
    }
    ctx.fillStyle = '#1d232b';
    ctx.fillText(g.job || '-', Math.min(Math.max(4, x0 + 4), Math.max(4, w - 160)), y + BAND_H / 2);
  });
}

/** The utilization chart: tasks running (filled) under lanes alive (line), per bin. */
function drawUtil(): void {
  const u = D.util;
  const { ctx, w, h } = fit(util, 180);
  const top = 14;
  const bottom = 18;
  ctx.clearRect(0, 0, w, h);
  let ymax = 1;
  for (let i = 0; i < u.capacity.length; i++) ymax = Math.max(ymax, u.capacity[i]! / u.width, u.busy[i]! / u.width);
  const k = (view.b - view.a) / w;
  const sy = (h - top - bottom) / ymax;
  ctx.strokeStyle = '#e6e9ee';
  ctx.fillStyle = '#5f6b7a';
  ctx.font = '11px system-ui, sans-serif';
  const ystep = niceStep(ymax / 4);
  for (let yv = 0; yv <= ymax + 1e-9; yv += ystep) {
    const yy = Math.round(h - bottom - yv * sy) + 0.5;
    ctx.beginPath();
    ctx.moveTo(0, yy);
    ctx.lineTo(w, yy);
    ctx.stroke();
    ctx.fillText(String(+yv.toFixed(2)), 4, yy - 3);
  }
  const xOf = (t: number): number => (t - view.a) / k;
  const base = u.from - D.t0;
  ctx.beginPath();
  ctx.moveTo(xOf(base), h - bottom);
  for (let i = 0; i < u.busy.length; i++) {
    const yb = h - bottom - (u.busy[i]! / u.width) * sy;
    ctx.lineTo(xOf(base + i * u.width), yb);
    ctx.lineTo(xOf(base + (i + 1) * u.width), yb);
  }
  ctx.lineTo(xOf(base + u.busy.length * u.width), h - bottom);
  ctx.closePath();
  ctx.fillStyle = 'rgba(78,121,167,0.55)';
  ctx.fill();
  ctx.beginPath();
  for (let i = 0; i < u.capacity.length; i++) {
    const yc = h - bottom - (u.capacity[i]! / u.width) * sy;
    if (i === 0) ctx.moveTo(xOf(base), yc);
    else ctx.lineTo(xOf(base + i * u.width), yc);
    ctx.lineTo(xOf(base + (i + 1) * u.width), yc);
  }
  ctx.strokeStyle = '#1d232b';
  ctx.lineWidth = 1.5;
  ctx.stroke();
  ctx.lineWidth = 1;
  ctx.fillStyle = '#5f6b7a';
  const step = timeStep(w);
  for (let t = Math.ceil(view.a / step) * step; t <= view.b; t += step) ctx.fillText(fmt(t), xOf(t) + 3, h - 4);
}

function draw(): void {
  const barsDrawn = drawTimeline();
  drawUtil();
  const groups = D.groups.map((g, gi) => ({ job: g.job, lanes: g.lanes, top: bandTop[gi]! }));
  window.shoalReport = { lanes: nl, groups, laneTops: laneTop, bars: n, barsDrawn, view: { from: view.a, to: view.b }, laneHeight: laneH, axisHeight: AXIS_H };
}

/** Scales the window by `factor` around `at` (px from the plot's left; its middle when absent), kept within the run. */
function zoom(factor: number, at?: number): void {
  const w = Math.max(1, tl.clientWidth);
  const t = view.a + (view.b - view.a) * (at === undefined ? 0.5 : at / w);
  let a = t - (t - view.a) * factor;
  let b = t + (view.b - t) * factor;
  if (b - a < 1) {
    const c = (a + b) / 2;
    a = c - 0.5;
    b = c + 0.5;
  }
  if (b - a > span) {
    a = 0;
    b = span;
  }
  if (a < 0) {
    b -= a;
    a = 0;
  }
  if (b > span) {
    a -= b - span;
    b = span;
  }
  view.a = Math.max(0, a);
  view.b = Math.min(span, b);
  draw();
}

function reset(): void {
  view.a = 0;
  view.b = span;
  draw();
}

tl.addEventListener(
  'wheel',
  (e) => {
    e.preventDefault();
    zoom(Math.exp(e.deltaY * 0.0015), e.offsetX);
  },
  { passive: false },
);

/** Where a drag started: the pointer's x and the window then. */
let drag: { x: number; a: number; b: number } | null = null;
tl.addEventListener('mousedown', (e) => {
  drag = { x: e.clientX, a: view.a, b: view.b };
  tl.classList.add('dragging');
});
window.addEventListener('mouseup', () => {
  drag = null;
  tl.classList.remove('dragging');
});
window.addEventListener('mousemove', (e) => {
  if (!drag) return;
  const k = (drag.b - drag.a) / Math.max(1, tl.clientWidth);
  const d = Math.max(-drag.a, Math.min(span - drag.b, -(e.clientX - drag.x) * k));
  view.a = drag.a + d;
  view.b = drag.b + d;
  draw();
});
tl.addEventListener('dblclick', reset);
byId('zoom-in', HTMLButtonElement).onclick = () => zoom(0.5);
byId('zoom-out', HTMLButtonElement).onclick = () => zoom(2);
byId('zoom-reset', HTMLButtonElement).onclick = reset;

/** The lane at `y` px down the timeline; -1 on a band or below the last lane. */
function laneAt(y: number): number {
  let gi = D.groups.length - 1;
  while (gi > 0 && bandTop[gi]! > y) gi--;
  const g = D.groups[gi];
  if (!g || y < bandTop[gi]! + BAND_H) return -1;
  const l = g.lane + Math.floor((y - bandTop[gi]! - BAND_H) / laneH);
  return l < g.lane + g.lanes ? l : -1;
}

/** The bar under the pointer (within 3px), the last of its lane that starts before it; -1 when none. */
function barAt(l: number, offsetX: number): number {
  if (l < 0 || l >= nl) return -1;
  const k = (view.b - view.a) / Math.max(1, tl.clientWidth);
  const t = view.a + offsetX * k;
  const tol = 3 * k;
  let found = -1;
  for (const i of byLane[l]!) {
    if (B.start[i]! - tol > t) break;
    if (B.start[i]! + B.ms[i]! + tol >= t) found = i;
  }
  return found;
}

tl.addEventListener('mousemove', (e) => {
  if (drag) {
    tip.hidden = true;
    return;
  }
  const l = laneAt(e.offsetY);
  const found = barAt(l, e.offsetX);
  if (found < 0) {
    tip.hidden = true;
    return;
  }
  const ln = D.lanes[l]!;
  tip.textContent =
    `${B.task[found]}  (${D.kinds[B.kind[found]!]}, ${B.status[found] ? 'error' : 'ok'}, attempt ${B.attempt[found]})\n` +
    `${fmt(B.ms[found]!)} from ${fmt(B.start[found]!)}\n${BAND_H > 0 ? `${ln.job} · ` : ''}${ln.agent} worker ${workerName(ln.worker)} on ${ln.host}`;
  tip.hidden = false;
  tip.style.left = `${Math.min(window.innerWidth - 300, e.clientX + 14)}px`;
  tip.style.top = `${e.clientY + 14}px`;
});
tl.addEventListener('mouseleave', () => {
  tip.hidden = true;
});

// Redraw once per frame at most while the window is resized.
let pending = false;
window.addEventListener('resize', () => {
  if (pending) return;
  pending = true;
  requestAnimationFrame(() => {
    pending = false;
    draw();
  });
});
draw();
