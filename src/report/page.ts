/**
 * The report page's own CSS and script, inlined into the HTML (the page must work with no
 * network: no CDN, no fonts, no external files). The script is plain ES2017 kept as text;
 * it reads the data from <script id="shoal-data" type="application/json"> and draws the
 * task stream and the utilization chart on canvases (hundreds of thousands of bars are too
 * many for SVG), with wheel/drag zoom and a tooltip. Tables are rendered on the server side.
 *
 * After drawing, the page records what it drew on `window.shoalReport` and on the timeline
 * canvas's data attributes (lanes, bars drawn), which the browser test reads.
 */

export const PAGE_CSS = `
:root { --fg:#1d232b; --muted:#5f6b7a; --line:#d9dee5; --bg:#fff; --panel:#f6f8fa; --accent:#4e79a7; }
* { box-sizing: border-box; }
body { margin: 0; padding: 16px 24px 48px; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; color: var(--fg); background: var(--bg); }
h1 { font-size: 20px; margin: 0 0 4px; }
h2 { font-size: 16px; margin: 28px 0 8px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
.meta { color: var(--muted); word-break: break-all; }
.cards { display: flex; flex-wrap: wrap; gap: 8px; margin-top: 12px; }
.card { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 6px 12px; min-width: 96px; }
.card b { display: block; font-size: 18px; }
.card span { color: var(--muted); font-size: 12px; }
.card.bad b { color: #c0392b; }
.toolbar { display: flex; gap: 6px; align-items: center; margin: 6px 0; flex-wrap: wrap; }
.toolbar button { font: inherit; padding: 2px 10px; border: 1px solid var(--line); background: var(--panel); border-radius: 4px; cursor: pointer; }
.toolbar .hint, .note { color: var(--muted); font-size: 12px; }
#legend { display: flex; gap: 14px; flex-wrap: wrap; font-size: 12px; color: var(--muted); margin: 4px 0 8px; }
#legend i { display: inline-block; width: 12px; height: 12px; border-radius: 2px; margin-right: 4px; vertical-align: -2px; }
#timeline-wrap { display: flex; border: 1px solid var(--line); border-radius: 4px; overflow: hidden; }
#lanes { flex: 0 0 auto; max-width: 280px; border-right: 1px solid var(--line); background: var(--panel); font-size: 11px; padding-top: 22px; }
.lane-label { white-space: nowrap; overflow: hidden; text-overflow: ellipsis; padding: 0 8px; display: flex; align-items: center; }
.lane-label.tiny { font-size: 0; }
.lane-label.agent-start { border-top: 1px solid var(--line); }
#plot { position: relative; flex: 1 1 auto; min-width: 0; }
#plot canvas, #util { display: block; width: 100%; }
#timeline { cursor: grab; }
#timeline.dragging { cursor: grabbing; }
#util-wrap { border: 1px solid var(--line); border-radius: 4px; }
#tooltip { position: fixed; pointer-events: none; background: #1d232b; color: #fff; font-size: 12px; padding: 6px 8px; border-radius: 4px; max-width: 420px; white-space: pre-line; z-index: 10; }
table { border-collapse: collapse; font-size: 13px; margin: 4px 0 8px; }
th, td { text-align: left; padding: 3px 10px 3px 0; border-bottom: 1px solid var(--line); vertical-align: top; }
th { color: var(--muted); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.msg { max-width: 640px; word-break: break-word; font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12px; }
.two { display: flex; gap: 40px; flex-wrap: wrap; }
`;

export const PAGE_SCRIPT = String.raw`
(function () {
  'use strict';
  var D = JSON.parse(document.getElementById('shoal-data').textContent);
  var B = D.bars;
  var n = B.task.length;
  var nl = D.lanes.length;
  var span = Math.max(1, D.t1 - D.t0);
  var view = { a: 0, b: span };
  var KIND = ['#4e79a7', '#59a14f', '#76b7b2', '#b07aa1', '#9c755f', '#edc948', '#17becf', '#bab0ac', '#8cd17d', '#499894'];
  var ERROR = '#e15759';
  var RETRY = '#f28e2b';
  var AXIS_H = 22;
  var laneH = Math.max(2, Math.min(28, Math.floor(520 / Math.max(1, nl))));
  if (nl * laneH > 16000) laneH = Math.max(1, Math.floor(16000 / nl));

  function colorOf(i) {
    if (B.status[i]) return ERROR;
    if (B.attempt[i] > 1) return RETRY;
    return KIND[B.kind[i] % KIND.length];
  }

  // Bars of each lane, by start (for drawing only what is visible, and for the tooltip).
  var byLane = [];
  for (var l = 0; l < nl; l++) byLane.push([]);
  for (var i = 0; i < n; i++) byLane[B.lane[i]].push(i);
  for (l = 0; l < nl; l++) byLane[l].sort(function (x, y) { return B.start[x] - B.start[y]; });
  // Longest bar per lane: how far back a visible bar may start.
  var maxMs = byLane.map(function (ix) { var m = 0; for (var k = 0; k < ix.length; k++) m = Math.max(m, B.ms[ix[k]]); return m; });

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  // Legend.
  var legend = document.getElementById('legend');
  function legendItem(color, text) { var s = el('span'); var sw = el('i'); sw.style.background = color; s.appendChild(sw); s.appendChild(document.createTextNode(text)); legend.appendChild(s); }
  D.kinds.forEach(function (k, j) { legendItem(KIND[j % KIND.length], k + ' ok'); });
  legendItem(RETRY, 'ok after a retry');
  legendItem(ERROR, 'error');

  // Lane labels.
  var lanesEl = document.getElementById('lanes');
  D.lanes.forEach(function (ln, j) {
    var d = el('div', 'lane-label' + (laneH < 10 ? ' tiny' : '') + (j > 0 && D.lanes[j - 1].agent !== ln.agent ? ' agent-start' : ''), ln.agent + ' / ' + (ln.worker === null ? '-' : 'w' + ln.worker));
    d.style.height = laneH + 'px';
    d.title = ln.agent + ' (' + ln.host + ') worker ' + (ln.worker === null ? '-' : ln.worker) + ': ' + ln.tasks + ' tasks';
    lanesEl.appendChild(d);
  });

  var axis = document.getElementById('axis');
  var tl = document.getElementById('timeline');
  var util = document.getElementById('util');
  var plot = document.getElementById('plot');
  var tip = document.getElementById('tooltip');
  var rangeEl = document.getElementById('range');

  function fit(c, h) {
    var dpr = window.devicePixelRatio || 1;
    var w = Math.max(100, c.parentNode.clientWidth);
    c.style.height = h + 'px';
    c.width = Math.round(w * dpr);
    c.height = Math.round(h * dpr);
    var ctx = c.getContext('2d');
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    return { ctx: ctx, w: w, h: h };
  }

  function fmt(ms) {
    var a = Math.abs(ms);
    function f(x, d) { return String(+x.toFixed(d)); }
    if (a >= 3600e3) return f(ms / 3600e3, a >= 36000e3 ? 0 : 1) + 'h';
    if (a >= 60e3) return f(ms / 60e3, a >= 600e3 ? 0 : 1) + 'm';
    if (a >= 1e3) return f(ms / 1e3, a >= 10e3 ? 0 : 2) + 's';
    return f(ms, a >= 10 ? 0 : 1) + 'ms';
  }

  function niceStep(raw) {
    var p = Math.pow(10, Math.floor(Math.log10(raw)));
    var m = raw / p;
    return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
  }

  // Tick steps that read well as times (ms, s, min, h).
  var TIME_STEPS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 10e3, 15e3, 30e3, 60e3, 120e3, 300e3, 600e3, 900e3, 1800e3, 3600e3, 7200e3, 10800e3, 21600e3, 43200e3, 86400e3];
  function timeStep(w) {
    var raw = (view.b - view.a) / Math.max(2, w / 110);
    for (var i = 0; i < TIME_STEPS.length; i++) if (TIME_STEPS[i] >= raw) return TIME_STEPS[i];
    return niceStep(raw);
  }

  function ticks(ctx, w, h, top) {
    var step = timeStep(w);
    ctx.fillStyle = '#5f6b7a';
    ctx.strokeStyle = '#e6e9ee';
    ctx.font = '11px system-ui, sans-serif';
    ctx.textBaseline = 'middle';
    var k = (view.b - view.a) / w;
    for (var t = Math.ceil(view.a / step) * step; t <= view.b; t += step) {
      var x = Math.round((t - view.a) / k) + 0.5;
      ctx.beginPath(); ctx.moveTo(x, top); ctx.lineTo(x, h); ctx.stroke();
      if (top === 0) ctx.fillText(fmt(t), x + 3, 11);
    }
  }

  var drawn = 0;
  function drawTimeline() {
    var a = fit(axis, AXIS_H);
    a.ctx.clearRect(0, 0, a.w, AXIS_H);
    ticks(a.ctx, a.w, AXIS_H, 0);
    var H = Math.max(laneH, nl * laneH);
    var t = fit(tl, H);
    var ctx = t.ctx, w = t.w;
    ctx.clearRect(0, 0, w, H);
    for (var l = 0; l < nl; l++) if (l % 2) { ctx.fillStyle = '#f6f8fa'; ctx.fillRect(0, l * laneH, w, laneH); }
    ticks(ctx, w, H, 1);
    var k = (view.b - view.a) / w;
    var pad = laneH >= 6 ? 1 : 0;
    drawn = 0;
    for (l = 0; l < nl; l++) {
      var ix = byLane[l];
      // First bar that may be visible: binary search on start >= view.a - longest bar.
      var lo = 0, hi = ix.length, from = view.a - maxMs[l];
      while (lo < hi) { var mid = (lo + hi) >> 1; if (B.start[ix[mid]] < from) lo = mid + 1; else hi = mid; }
      var y = l * laneH + pad, bh = Math.max(1, laneH - 2 * pad);
      for (var j = lo; j < ix.length; j++) {
        var i = ix[j];
        var s = B.start[i];
        if (s > view.b) break;
        if (s + B.ms[i] < view.a) continue;
        var x0 = (s - view.a) / k, x1 = (s + B.ms[i] - view.a) / k;
        ctx.fillStyle = colorOf(i);
        ctx.fillRect(x0, y, Math.max(1, x1 - x0), bh);
        drawn++;
      }
    }
    tl.setAttribute('data-lanes', String(nl));
    tl.setAttribute('data-bars-drawn', String(drawn));
    rangeEl.textContent = fmt(view.a) + ' – ' + fmt(view.b) + ' of ' + fmt(span) + ' · ' + drawn + ' bars in view';
  }

  function drawUtil() {
    var u = D.util;
    var g = fit(util, 180);
    var ctx = g.ctx, w = g.w, h = g.h, top = 14, bottom = 18;
    ctx.clearRect(0, 0, w, h);
    var ymax = 1;
    for (var i = 0; i < u.capacity.length; i++) ymax = Math.max(ymax, u.capacity[i] / u.width, u.busy[i] / u.width);
    var k = (view.b - view.a) / w;
    var sy = (h - top - bottom) / ymax;
    ctx.strokeStyle = '#e6e9ee';
    ctx.fillStyle = '#5f6b7a';
    ctx.font = '11px system-ui, sans-serif';
    var ystep = niceStep(ymax / 4);
    for (var yv = 0; yv <= ymax + 1e-9; yv += ystep) {
      var yy = Math.round(h - bottom - yv * sy) + 0.5;
      ctx.beginPath(); ctx.moveTo(0, yy); ctx.lineTo(w, yy); ctx.stroke();
      ctx.fillText(String(+yv.toFixed(2)), 4, yy - 3);
    }
    function xOf(t) { return (t - view.a) / k; }
    var base = u.from - D.t0;
    ctx.beginPath();
    ctx.moveTo(xOf(base), h - bottom);
    for (i = 0; i < u.busy.length; i++) {
      var yb = h - bottom - (u.busy[i] / u.width) * sy;
      ctx.lineTo(xOf(base + i * u.width), yb);
      ctx.lineTo(xOf(base + (i + 1) * u.width), yb);
    }
    ctx.lineTo(xOf(base + u.busy.length * u.width), h - bottom);
    ctx.closePath();
    ctx.fillStyle = 'rgba(78,121,167,0.55)';
    ctx.fill();
    ctx.beginPath();
    for (i = 0; i < u.capacity.length; i++) {
      var yc = h - bottom - (u.capacity[i] / u.width) * sy;
      if (i === 0) ctx.moveTo(xOf(base), yc); else ctx.lineTo(xOf(base + i * u.width), yc);
      ctx.lineTo(xOf(base + (i + 1) * u.width), yc);
    }
    ctx.strokeStyle = '#1d232b';
    ctx.lineWidth = 1.5;
    ctx.stroke();
    ctx.lineWidth = 1;
    ctx.fillStyle = '#5f6b7a';
    var step = timeStep(w);
    for (var t = Math.ceil(view.a / step) * step; t <= view.b; t += step) ctx.fillText(fmt(t), xOf(t) + 3, h - 4);
  }

  function draw() {
    drawTimeline();
    drawUtil();
    window.shoalReport = { lanes: nl, bars: n, barsDrawn: drawn, view: { from: view.a, to: view.b }, laneHeight: laneH, axisHeight: AXIS_H };
  }

  function zoom(factor, at) {
    var w = Math.max(1, tl.clientWidth);
    var t = view.a + (view.b - view.a) * (at === undefined ? 0.5 : at / w);
    var a = t - (t - view.a) * factor, b = t + (view.b - t) * factor;
    if (b - a < 1) { var c = (a + b) / 2; a = c - 0.5; b = c + 0.5; }
    if (b - a > span) { a = 0; b = span; }
    if (a < 0) { b -= a; a = 0; }
    if (b > span) { a -= b - span; b = span; }
    view.a = Math.max(0, a); view.b = Math.min(span, b);
    draw();
  }

  tl.addEventListener('wheel', function (e) {
    e.preventDefault();
    zoom(Math.exp(e.deltaY * 0.0015), e.offsetX);
  }, { passive: false });
  var drag = null;
  tl.addEventListener('mousedown', function (e) { drag = { x: e.clientX, a: view.a, b: view.b }; tl.classList.add('dragging'); });
  window.addEventListener('mouseup', function () { drag = null; tl.classList.remove('dragging'); });
  window.addEventListener('mousemove', function (e) {
    if (!drag) return;
    var k = (drag.b - drag.a) / Math.max(1, tl.clientWidth);
    var d = -(e.clientX - drag.x) * k;
    d = Math.max(-drag.a, Math.min(span - drag.b, d));
    view.a = drag.a + d; view.b = drag.b + d;
    draw();
  });
  tl.addEventListener('dblclick', function () { view.a = 0; view.b = span; draw(); });
  document.getElementById('zoom-in').onclick = function () { zoom(0.5); };
  document.getElementById('zoom-out').onclick = function () { zoom(2); };
  document.getElementById('zoom-reset').onclick = function () { view.a = 0; view.b = span; draw(); };

  tl.addEventListener('mousemove', function (e) {
    if (drag) { tip.hidden = true; return; }
    var l = Math.floor(e.offsetY / laneH);
    var k = (view.b - view.a) / Math.max(1, tl.clientWidth);
    var t = view.a + e.offsetX * k, tol = 3 * k, found = -1;
    if (l >= 0 && l < nl) {
      var ix = byLane[l];
      for (var j = 0; j < ix.length; j++) {
        var i = ix[j];
        if (B.start[i] - tol > t) break;
        if (B.start[i] + B.ms[i] + tol >= t) found = i;
      }
    }
    if (found < 0) { tip.hidden = true; return; }
    var ln = D.lanes[l];
    tip.textContent = B.task[found] + '  (' + D.kinds[B.kind[found]] + ', ' + (B.status[found] ? 'error' : 'ok') + ', attempt ' + B.attempt[found] + ')\n' +
      fmt(B.ms[found]) + ' from ' + fmt(B.start[found]) + '\n' + ln.agent + ' worker ' + (ln.worker === null ? '-' : ln.worker) + ' on ' + ln.host;
    tip.hidden = false;
    tip.style.left = Math.min(window.innerWidth - 300, e.clientX + 14) + 'px';
    tip.style.top = (e.clientY + 14) + 'px';
  });
  tl.addEventListener('mouseleave', function () { tip.hidden = true; });

  var pending = false;
  window.addEventListener('resize', function () {
    if (pending) return;
    pending = true;
    requestAnimationFrame(function () { pending = false; draw(); });
  });
  draw();
})();
`;
