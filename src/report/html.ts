/**
 * The self-contained HTML report: the data as inline JSON, the page's CSS and script inline,
 * the tables rendered here (readable even with scripts off). Nothing is fetched at view time.
 */
import type { ErrorExample, ReportData, TaskBrief } from './scan.js';
import type { AllocationSummary, JobSummary, ReportSummary } from './summary.js';
import type { PageData } from './page-data.js';
import { PAGE_CSS, PALETTE, pageScript } from './page.js';

const ESC: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const esc = (s: unknown): string => String(s).replace(/[&<>"']/g, (c) => ESC[c]!);

function dur(ms: number): string {
  if (ms >= 3600e3) return `${(ms / 3600e3).toFixed(1)}h`;
  if (ms >= 60e3) return `${(ms / 60e3).toFixed(1)}m`;
  if (ms >= 1e3) return `${(ms / 1e3).toFixed(ms >= 10e3 ? 0 : 2)}s`;
  return `${ms.toFixed(ms >= 10 ? 0 : 1)}ms`;
}

const secs = (s: number): string => dur(s * 1000);
const pct = (x: number): string => `${(100 * x).toFixed(0)}%`;

interface Col<T> {
  head: string;
  num?: boolean;
  cls?: string;
  cell(row: T): string | number;
}

function table<T>(id: string, cols: Array<Col<T>>, rows: T[], empty: string): string {
  if (rows.length === 0) return `<p class="note" id="${id}">${esc(empty)}</p>`;
  const head = cols.map((c) => `<th${c.num ? ' class="num"' : ''}>${esc(c.head)}</th>`).join('');
  const body = rows.map((r) => `<tr>${cols.map((c) => `<td${c.num ? ' class="num"' : c.cls ? ` class="${c.cls}"` : ''}>${esc(c.cell(r))}</td>`).join('')}</tr>`).join('\n');
  return `<table id="${id}"><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

/** A titled block, folded when it is long. */
function fold(title: string, rows: number, body: string): string {
  return `<details${rows <= 20 ? ' open' : ''}><summary><h3 style="display:inline">${esc(title)}</h3></summary>\n${body}\n</details>`;
}

function card(label: string, value: string, bad = false): string {
  return `<div class="card${bad ? ' bad' : ''}"><b>${esc(value)}</b><span>${esc(label)}</span></div>`;
}

/** Inline JSON that cannot close its <script> element. */
function scriptJson(v: unknown): string {
  return JSON.stringify(v).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

/** The timeline's legend: a swatch per kind, then retried and failed tasks. */
function legend(kinds: string[]): string {
  const item = (color: string, text: string): string => `<span><i style="background:${color}"></i>${esc(text)}</span>`;
  const p = PALETTE;
  return [...kinds.map((k, j) => item(p.kinds[j % p.kinds.length]!, `${k} ok`)), item(p.retry, 'ok after a retry'), item(p.error, 'error')].join('');
}

/**
 * The labels beside the timeline's rows, at the heights the page draws them: per lane its
 * agent and worker, and with several jobs a label on each job's band (its figures on hover).
 */
function laneLabels(d: ReportData, s: ReportSummary): string {
  const { laneHeight, bandHeight } = d.geometry;
  const out: string[] = [];
  d.lanes.forEach((ln, i) => {
    const g = d.groups[ln.group]!;
    if (bandHeight > 0 && i === g.lane) {
      const j = s.perJob[ln.group]!;
      const title = `${j.job || '-'}: ${j.tasks} tasks (${j.ok} ok, ${j.error} failed) on ${j.lanes} lanes, from ${secs(j.startS)} to ${secs(j.endS)} (${secs(j.spanS)})${j.previous === null ? '' : `, overlapping ${j.previous || '-'} for ${secs(j.overlapS)}`}`;
      out.push(`<div class="group-label" style="height:${bandHeight}px" title="${esc(title)}">${esc(j.job || '-')}</div>`);
    }
    const worker = ln.worker === null ? '-' : String(ln.worker);
    const title = `${ln.agent} (${ln.host}) worker ${worker}: ${ln.tasks} tasks${bandHeight > 0 ? ` of ${ln.job || '-'}` : ''}`;
    const cls = `lane-label${laneHeight < 10 ? ' tiny' : ''}${i > g.lane && d.lanes[i - 1]!.agent !== ln.agent ? ' agent-start' : ''}`;
    out.push(`<div class="${cls}" style="height:${laneHeight}px" title="${esc(title)}">${esc(`${ln.agent} / ${ln.worker === null ? '-' : `w${ln.worker}`}`)}</div>`);
  });
  return out.join('\n');
}

export function renderHtml(d: ReportData, s: ReportSummary): string {
  const at = (t: number): string => dur(t - d.t0);
  const several = s.perJob.length > 1;
  // With several jobs a task is named by its job too (a stage's tasks have its upstream's ids).
  const jobCol: Array<Col<TaskBrief>> = several ? [{ head: 'job', cell: (t) => t.job || '-' }] : [];
  const taskCols: Array<Col<TaskBrief>> = [
    ...jobCol,
    { head: 'task', cell: (t) => t.task },
    { head: 'kind', cell: (t) => t.kind },
    { head: 'status', cell: (t) => t.status },
    { head: 'attempt', num: true, cell: (t) => t.attempt },
    { head: 'duration', num: true, cell: (t) => dur(t.ms) },
    { head: 'started at', num: true, cell: (t) => at(t.start) },
    { head: 'agent', cell: (t) => t.agent },
    { head: 'worker', num: true, cell: (t) => (t.worker === null ? '-' : t.worker) },
  ];
  const codes = Object.entries(d.errorsByCode).sort((a, b) => b[1] - a[1]);
  const attempts = Object.entries(d.attempts).sort((a, b) => Number(a[0]) - Number(b[0]));
  const sampled = d.bars.task.length < d.barsTotal;
  const data: PageData = { t0: d.t0, t1: d.t1, kinds: d.kinds, groups: d.groups, lanes: d.lanes, geometry: d.geometry, palette: PALETTE, bars: d.bars, util: d.util };
  const title = `shoal report — ${d.file}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>${PAGE_CSS}</style>
</head>
<body>
<header>
<h1>shoal report</h1>
<div class="meta">${esc(d.files.length > 1 ? d.files.join(', ') : d.file)} · jobs: ${esc(d.jobs.join(', ') || '-')} · kinds: ${esc(d.kinds.join(', ') || '-')} · ${esc(d.t0 ? new Date(d.t0).toISOString() : '-')}</div>
<div class="cards">
${card('tasks', String(d.tasks))}
${card('ok', String(d.ok))}
${card('failed', String(d.error), d.error > 0)}
${card('failed records', String(d.failedRecords), d.failedRecords > 0)}
${card('retried', String(d.retried), d.retried > 0)}
${card('span', dur(d.t1 - d.t0))}
${card('busy worker time', dur(d.busyMs))}
${card('utilization', pct(s.utilization))}
${several ? card('jobs', String(s.perJob.length)) : ''}
${card('agents', String(d.agents.length))}
${card('worker lanes', String(d.workers))}
</div>
</header>

<section id="stream">
<h2>Task stream</h2>
<div class="toolbar"><button id="zoom-in" title="zoom in">+</button><button id="zoom-out" title="zoom out">−</button><button id="zoom-reset">reset</button>
<span id="range" class="hint"></span><span class="hint">· wheel to zoom, drag to pan, double-click to reset</span></div>
${sampled ? `<p class="note">${d.bars.task.length} of ${d.barsTotal} tasks drawn (a uniform random sample); every figure and table counts all of them.</p>` : ''}
<div id="legend">${legend(d.kinds)}</div>
<div id="timeline-wrap"><div id="lanes">
${laneLabels(d, s)}
</div><div id="plot"><canvas id="axis"></canvas><canvas id="timeline"></canvas></div></div>
<div id="tooltip" hidden></div>
</section>

${
  several
    ? `<section>
<h2>Per job</h2>
<p class="note">In the timeline's order (by first start), each job's lanes under its band. Times from the first start; overlap: how long a job's span and the previous one's ran together.</p>
${table<JobSummary>(
  'jobs',
  [
    { head: 'job', cell: (j) => j.job || '-' },
    { head: 'kinds', cell: (j) => j.kinds.join(', ') },
    { head: 'tasks', num: true, cell: (j) => j.tasks },
    { head: 'ok', num: true, cell: (j) => j.ok },
    { head: 'failed', num: true, cell: (j) => j.error },
    { head: 'retried', num: true, cell: (j) => j.retried },
    { head: 'lanes', num: true, cell: (j) => j.lanes },
    { head: 'start', num: true, cell: (j) => secs(j.startS) },
    { head: 'end', num: true, cell: (j) => secs(j.endS) },
    { head: 'span', num: true, cell: (j) => secs(j.spanS) },
    { head: 'busy', num: true, cell: (j) => secs(j.busyS) },
    { head: 'utilization', num: true, cell: (j) => pct(j.utilization) },
    { head: 'overlap with previous', num: true, cell: (j) => (j.previous === null ? '-' : `${secs(j.overlapS)} (${j.previous || '-'})`) },
  ],
  s.perJob,
  'no jobs',
)}
</section>

`
    : ''
}<section>
<h2>Utilization over time</h2>
<p class="note">Filled: tasks running (average per ${esc(dur(d.util.width))} bin). Line: worker lanes alive (from their first task to their last${several ? '; a worker that ran several jobs counts once' : ''}). Overall ${esc(pct(s.utilization))} busy.</p>
<div id="util-wrap"><canvas id="util"></canvas></div>
</section>

<section>
<h2>Slowest tasks</h2>
${table('slowest', taskCols, d.slowest, 'no tasks')}
</section>

<section>
<h2>Retries and errors</h2>
<div class="two">
<div><h3>Error rows by code</h3>${table<[string, number]>('error-codes', [{ head: 'code', cell: (r) => r[0] }, { head: 'rows', num: true, cell: (r) => r[1] }], codes, 'no errors')}</div>
<div><h3>Tasks by attempt</h3>${table<[string, number]>('attempts', [{ head: 'attempt', num: true, cell: (r) => r[0] }, { head: 'tasks', num: true, cell: (r) => r[1] }], attempts, 'no tasks')}</div>
</div>
${fold(`Failed tasks${d.error > d.errors.length ? ` (first ${d.errors.length} of ${d.error})` : ` (${d.errors.length})`}, ${d.failedRecords} failed records`, d.errors.length, table<ErrorExample>('errors', [...jobCol, { head: 'task', cell: (t) => t.task }, { head: 'failed records', num: true, cell: (t) => `${t.failedRecords} of ${t.records}` }, { head: 'code', cell: (t) => t.code }, { head: 'first error', cls: 'msg', cell: (t) => t.message }, { head: 'attempt', num: true, cell: (t) => t.attempt }, { head: 'agent', cell: (t) => t.agent }], d.errors, 'no errors'))}
${fold(`Retried tasks${d.retried > d.retries.length ? ` (first ${d.retries.length} of ${d.retried})` : ` (${d.retries.length})`}`, d.retries.length, table('retries', taskCols, d.retries, 'no task needed a second attempt'))}
</section>

<section>
<h2>Per agent</h2>
${table(
  'agents',
  [
    { head: 'agent', cell: (a) => a.agent },
    { head: 'host', cell: (a) => a.host },
    { head: 'lanes', num: true, cell: (a) => a.lanes },
    { head: 'tasks', num: true, cell: (a) => a.tasks },
    { head: 'ok', num: true, cell: (a) => a.ok },
    { head: 'failed', num: true, cell: (a) => a.error },
    { head: 'failed records', num: true, cell: (a) => a.failedRecords },
    { head: 'retried', num: true, cell: (a) => a.retried },
    { head: 'busy', num: true, cell: (a) => dur(a.busyS * 1000) },
    { head: 'utilization', num: true, cell: (a) => pct(a.utilization) },
  ],
  s.agents,
  'no agents',
)}
</section>

${allocationsSection(s)}
<script id="shoal-data" type="application/json">${scriptJson(data)}</script>
<script type="module">${pageScript()}</script>
</body>
</html>
`;
}

/** When each allocation's agents (`shoal alloc`) joined and left, after the report's first start; nothing when the out dir records none. */
function allocationsSection(s: ReportSummary): string {
  if (!s.allocations?.length) return '';
  const at = (x: number): string => (x < 0 ? `-${secs(-x)}` : `+${secs(x)}`);
  return `<section>
<h2>Allocations</h2>
${table<AllocationSummary>(
  'allocations',
  [
    { head: 'allocation', cell: (a) => `${a.queue}/${a.alloc}` },
    { head: 'Slurm job', cell: (a) => a.slurmJob ?? '-' },
    { head: 'agents', cell: (a) => a.agents.join(' ') },
    { head: 'joined', num: true, cell: (a) => at(a.joinedS) },
    { head: 'left', num: true, cell: (a) => (a.leftS === null ? '-' : at(a.leftS)) },
    { head: 'state', cell: (a) => a.state },
  ],
  s.allocations,
  'no allocation brought agents',
)}
</section>
`;
}
