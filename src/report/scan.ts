/**
 * One streamed pass over a JSONL output, keeping only what the report shows: per-lane and
 * per-agent totals, utilization bins, the slowest tasks, retries and errors (capped), and a
 * bounded, uniform sample of task bars for the timeline. Rows are never held: a file of any
 * size is read in constant memory (up to the bar cap).
 *
 * A task with several rows (a frame chunk: `index`/`of`) is one bar; its rows are counted,
 * and it has failed when any of its rows is an error (its failed rows are counted too).
 */
import { mulberry32 } from '../random.js';
import { TimeBins } from './bins.js';
import type { Bars, LaneTotals, PageData } from './page-data.js';

export interface ScanOptions {
  /** Most bars kept for the timeline (a uniform random sample beyond). Default 200,000. */
  maxBars: number;
  /** Slowest tasks listed. Default 25. */
  slowest: number;
  /** Error and retry examples kept. Default 200. */
  examples: number;
  /** Utilization bins. Default 600. */
  bins: number;
}

export const DEFAULT_SCAN_OPTIONS: ScanOptions = { maxBars: 200_000, slowest: 25, examples: 200, bins: 600 };

export interface AgentTotals {
  agent: string;
  host: string;
  lanes: number;
  tasks: number;
  ok: number;
  error: number;
  /** Error rows of this agent's tasks (a failed frame chunk counts each failed frame). */
  failedRecords: number;
  retried: number;
  busyMs: number;
  first: number;
  last: number;
}

export interface TaskBrief {
  job: string;
  task: string;
  kind: string;
  status: 'ok' | 'error';
  attempt: number;
  agent: string;
  worker: number | null;
  start: number;
  ms: number;
}

/** A failed task, with its first error row's code and message. */
export interface ErrorExample extends TaskBrief {
  code: string;
  message: string;
  /** The task's rows, and how many of them are errors (1 and 1 for a single-row task). */
  records: number;
  failedRecords: number;
}

/** Everything the report shows; the page's own data (PageData) is a part of it. */
export interface ReportData extends PageData {
  file: string;
  rows: number;
  /** Lines that were not JSON rows (skipped). */
  badLines: number;
  tasks: number;
  ok: number;
  /** Failed tasks: tasks with at least one error row. */
  error: number;
  /** Error rows: a frame chunk with 53 unreadable frames is one failed task and 53 failed records. */
  failedRecords: number;
  /** Tasks whose row has attempt > 1. */
  retried: number;
  /** Tasks per final attempt number. */
  attempts: Record<string, number>;
  jobs: string[];
  busyMs: number;
  agents: AgentTotals[];
  /** Tasks seen; bars.task.length of them are drawn. */
  barsTotal: number;
  slowest: TaskBrief[];
  /** Error rows per error code. */
  errorsByCode: Record<string, number>;
  errors: ErrorExample[];
  retries: TaskBrief[];
}

interface RawRow {
  job?: unknown;
  task?: unknown;
  kind?: unknown;
  status?: unknown;
  attempt?: unknown;
  agent?: unknown;
  host?: unknown;
  worker?: unknown;
  start?: unknown;
  end?: unknown;
  error?: { code?: unknown; message?: unknown };
}


/** Keeps the `size` largest items by `key` (a min-heap). */
class TopK<T> {
  private heap: T[] = [];
  constructor(
    private readonly size: number,
    private readonly key: (t: T) => number,
  ) {}
  add(t: T): void {
    const h = this.heap;
    if (h.length < this.size) {
      h.push(t);
      let i = h.length - 1;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (this.key(h[p]!) <= this.key(h[i]!)) break;
        [h[p], h[i]] = [h[i]!, h[p]!];
        i = p;
      }
      return;
    }
    if (this.size === 0 || this.key(t) <= this.key(h[0]!)) return;
    h[0] = t;
    for (let i = 0; ; ) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && this.key(h[l]!) < this.key(h[m]!)) m = l;
      if (r < h.length && this.key(h[r]!) < this.key(h[m]!)) m = r;
      if (m === i) break;
      [h[m], h[i]] = [h[i]!, h[m]!];
      i = m;
    }
  }
  sorted(): T[] {
    return [...this.heap].sort((a, b) => this.key(b) - this.key(a));
  }
}

const str = (v: unknown, d = ''): string => (typeof v === 'string' ? v : d);
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** One task's rows (a multi-record task writes them together), gathered before it is counted. */
interface TaskRows {
  key: string;
  job: string;
  task: string;
  kind: string;
  agent: string;
  host: string;
  worker: number | null;
  attempt: number;
  start: number;
  end: number;
  records: number;
  failedRecords: number;
  /** The first error row's error. */
  error: { code: string; message: string } | null;
}

/** Streams `rows` (parsed JSONL objects) into the report's figures. */
export async function scanRows(rows: AsyncIterable<Record<string, unknown>>, file: string, opts: Partial<ScanOptions> = {}, badLines: () => number = () => 0): Promise<ReportData> {
  const o = { ...DEFAULT_SCAN_OPTIONS, ...opts };
  const random = mulberry32(0x5eed); // the same file gives the same sample
  const lanes = new Map<string, LaneTotals & { index: number }>();
  const agents = new Map<string, AgentTotals & { laneSet: Set<string> }>();
  const kinds = new Map<string, number>();
  const jobs = new Set<string>();
  const busy = new TimeBins(o.bins);
  const slowest = new TopK<TaskBrief>(o.slowest, (t) => t.ms);
  const attempts: Record<string, number> = {};
  const errorsByCode: Record<string, number> = {};
  const errors: ErrorExample[] = [];
  const retries: TaskBrief[] = [];
  // Absolute starts while streaming; made relative to t0 at the end.
  const bars: Bars = { lane: [], start: [], ms: [], kind: [], status: [], attempt: [], task: [] };
  let rowsSeen = 0;
  let tasks = 0;
  let ok = 0;
  let error = 0;
  let failedRecords = 0;
  let retried = 0;
  let busyMs = 0;
  let t0 = Infinity;
  let t1 = -Infinity;
  let current: TaskRows | null = null;

  for await (const raw of rows) {
    const r = raw as RawRow;
    const task = str(r.task);
    const start = num(r.start);
    const end = num(r.end);
    if (!task || start === null || end === null || (r.status !== 'ok' && r.status !== 'error')) continue;
    rowsSeen++;
    const job = str(r.job);
    const attempt = num(r.attempt) ?? 1;
    // The rows of one multi-record task are written together: one task, one bar for them.
    const key = `${job}\u0000${task}\u0000${attempt}\u0000${start}`;
    if (current === null || key !== current.key) {
      if (current !== null) addTask(current);
      current = {
        key, job, task, kind: str(r.kind, '?'), agent: str(r.agent, '?'), host: str(r.host, '?'), worker: num(r.worker),
        attempt, start, end, records: 0, failedRecords: 0, error: null,
      };
    }
    current.records++;
    if (r.status === 'error') {
      current.failedRecords++;
      failedRecords++;
      const code = str(r.error?.code, 'E_UNKNOWN');
      errorsByCode[code] = (errorsByCode[code] ?? 0) + 1;
      current.error ??= { code, message: str(r.error?.message).slice(0, 500) };
    }
  }
  if (current !== null) addTask(current);

  /** Counts one task: failed when any of its rows is an error. */
  function addTask(g: TaskRows): void {
    const { job, task, kind, agent, host, worker, attempt, start, end } = g;
    tasks++;
    jobs.add(job);
    const status = g.failedRecords > 0 ? 'error' : 'ok';
    if (status === 'ok') ok++;
    else error++;
    if (!kinds.has(kind)) kinds.set(kind, kinds.size);
    const ms = Math.max(0, end - start);
    busyMs += ms;
    t0 = Math.min(t0, start);
    t1 = Math.max(t1, end);
    busy.add(start, end);

    const laneKey = `${agent}\u0000${worker ?? '-'}`;
    let lane = lanes.get(laneKey);
    if (!lane) {
      lane = { agent, host, worker, tasks: 0, busyMs: 0, first: start, last: end, index: lanes.size };
      lanes.set(laneKey, lane);
    }
    lane.tasks++;
    lane.busyMs += ms;
    lane.first = Math.min(lane.first, start);
    lane.last = Math.max(lane.last, end);

    let a = agents.get(agent);
    if (!a) {
      a = { agent, host, lanes: 0, tasks: 0, ok: 0, error: 0, failedRecords: 0, retried: 0, busyMs: 0, first: start, last: end, laneSet: new Set() };
      agents.set(agent, a);
    }
    a.laneSet.add(laneKey);
    a.tasks++;
    if (status === 'ok') a.ok++;
    else a.error++;
    a.failedRecords += g.failedRecords;
    if (attempt > 1) a.retried++;
    a.busyMs += ms;
    a.first = Math.min(a.first, start);
    a.last = Math.max(a.last, end);

    attempts[attempt] = (attempts[attempt] ?? 0) + 1;
    const brief = (): TaskBrief => ({ job, task, kind, status, attempt, agent, worker, start, ms });
    slowest.add(brief());
    if (attempt > 1) {
      retried++;
      if (retries.length < o.examples) retries.push(brief());
    }
    if (g.error !== null && errors.length < o.examples) {
      errors.push({ ...brief(), ...g.error, records: g.records, failedRecords: g.failedRecords });
    }

    // Reservoir sample of bars (algorithm R).
    let slot = bars.task.length;
    if (slot >= o.maxBars) {
      const j = Math.floor(random() * tasks);
      if (j >= o.maxBars) return;
      slot = j;
    }
    bars.lane[slot] = lane.index;
    bars.start[slot] = start;
    bars.ms[slot] = ms;
    bars.kind[slot] = kinds.get(kind)!;
    bars.status[slot] = status === 'ok' ? 0 : 1;
    bars.attempt[slot] = attempt;
    bars.task[slot] = task;
  }

  if (tasks === 0) {
    t0 = 0;
    t1 = 0;
  }
  for (let i = 0; i < bars.start.length; i++) bars.start[i] = bars.start[i]! - t0;

  // Lanes in a stable order: by agent (first seen), then worker; bars re-pointed to it.
  const laneList = [...lanes.values()].sort((x, y) => (x.agent === y.agent ? (x.worker ?? -1) - (y.worker ?? -1) : agents.get(x.agent)!.first - agents.get(y.agent)!.first || (x.agent < y.agent ? -1 : 1)));
  const remap = new Array<number>(laneList.length);
  laneList.forEach((l, i) => (remap[l.index] = i));
  for (let i = 0; i < bars.lane.length; i++) bars.lane[i] = remap[bars.lane[i]!]!;

  const cap = new TimeBins(o.bins);
  for (const l of laneList) cap.add(l.first, l.last);
  const b = busy.result();
  const c = cap.result(b.width);
  // Both cover [t0, t1]; align defensively on `from`.
  const capacity = b.values.map((_, i) => c.values[i + Math.round((b.from - c.from) / b.width)] ?? 0);

  return {
    file,
    rows: rowsSeen,
    badLines: badLines(),
    tasks,
    ok,
    error,
    failedRecords,
    retried,
    attempts,
    jobs: [...jobs],
    kinds: [...kinds.keys()],
    t0,
    t1,
    busyMs,
    lanes: laneList.map(({ index: _i, ...l }) => l),
    agents: [...agents.values()].sort((x, y) => x.first - y.first).map(({ laneSet, ...a }) => ({ ...a, lanes: laneSet.size })),
    bars,
    barsTotal: tasks,
    util: { from: b.from, width: b.width, busy: b.values, capacity },
    slowest: slowest.sorted(),
    errorsByCode,
    errors,
    retries,
  };
}
