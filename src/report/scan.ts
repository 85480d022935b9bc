/**
 * One streamed pass over each JSONL output, keeping only what the report shows: per-job,
 * per-lane and per-agent totals, utilization bins, the slowest tasks, retries and errors
 * (capped), and a bounded, uniform sample of task bars for the timeline. Rows are never held:
 * files of any size are read in constant memory (up to the bar cap, which holds for all the
 * files of a report together: one sample is drawn over every task of every file).
 *
 * A task with several rows (a frame chunk: `index`/`of`) is one bar; its rows are counted,
 * and it has failed when any of its rows is an error (its failed rows are counted too).
 */
import { mulberry32 } from '../random.js';
import { TimeBins } from './bins.js';
import { layOut, geometryOf, type JobCounts, type LaidJob, type LaneCounts, type TaskCounts } from './layout.js';
import type { Bars, PageData } from './page-data.js';
import { TopK } from './top-k.js';

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

export interface AgentTotals extends TaskCounts {
  agent: string;
  host: string;
  /** Its workers (a worker that ran tasks of several jobs is one). */
  lanes: number;
  /** Worker time while its workers were alive: each from its first task to its last. */
  aliveMs: number;
}

/** One job's figures, and how its span overlaps the job before it (see layout.ts). */
export interface JobTotals extends LaidJob {
  kinds: string[];
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

/** Everything the report shows; the page's own data (PageData, but for its colours) is a part of it. */
export interface ReportData extends Omit<PageData, 'palette'> {
  /** What the report is of: the one file, or the paths it was given. */
  file: string;
  /** The files read, in the order read. */
  files: string[];
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
  /** The jobs, in the timeline's order (by first start). */
  jobs: string[];
  /** Per job, in the same order; its lane group is in `groups`. */
  jobTotals: JobTotals[];
  /** Workers seen (agent × worker), whatever their jobs. */
  workers: number;
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

/** A worker's span, whatever the job (the utilization's capacity). */
interface Span {
  agent: string;
  first: number;
  last: number;
}

/**
 * The report's figures, fed one file at a time (`add`, one streamed pass each) and read once
 * at the end (`result`). Lanes, agents and jobs are merged across files by name.
 */
export class ReportScan {
  private readonly o: ScanOptions;
  private readonly random = mulberry32(0x5eed); // the same files give the same sample
  private readonly lanes = new Map<string, LaneCounts>();
  private readonly workers = new Map<string, Span>();
  private readonly agents = new Map<string, Omit<AgentTotals, 'lanes' | 'aliveMs'> & { workers: Set<string> }>();
  private readonly jobs = new Map<string, JobCounts & { kinds: Set<string> }>();
  private readonly kinds = new Map<string, number>();
  private readonly busy: TimeBins;
  private readonly slowest: TopK<TaskBrief>;
  private readonly attempts: Record<string, number> = {};
  private readonly errorsByCode: Record<string, number> = {};
  private readonly errors: ErrorExample[] = [];
  private readonly retries: TaskBrief[] = [];
  /** Absolute starts while streaming; made relative to t0 at the end. */
  private readonly bars: Bars = { lane: [], start: [], ms: [], kind: [], status: [], attempt: [], task: [] };
  private readonly files: string[] = [];
  private rows = 0;
  private tasks = 0;
  private ok = 0;
  private error = 0;
  private failedRecords = 0;
  private retried = 0;
  private busyMs = 0;
  private t0 = Infinity;
  private t1 = -Infinity;

  constructor(opts: Partial<ScanOptions> = {}) {
    this.o = { ...DEFAULT_SCAN_OPTIONS, ...opts };
    this.busy = new TimeBins(this.o.bins);
    this.slowest = new TopK<TaskBrief>(this.o.slowest, (t) => t.ms);
  }

  /** Streams one file's rows (parsed JSONL objects) in; a task's rows never span two files. */
  async add(rows: AsyncIterable<Record<string, unknown>>, file: string): Promise<void> {
    this.files.push(file);
    let current: TaskRows | null = null;
    for await (const raw of rows) {
      const r = raw as RawRow;
      const task = str(r.task);
      const start = num(r.start);
      const end = num(r.end);
      if (!task || start === null || end === null || (r.status !== 'ok' && r.status !== 'error')) continue;
      this.rows++;
      const job = str(r.job);
      const attempt = num(r.attempt) ?? 1;
      // The rows of one multi-record task are written together: one task, one bar for them.
      const key = `${job}\u0000${task}\u0000${attempt}\u0000${start}`;
      if (current === null || key !== current.key) {
        if (current !== null) this.count(current);
        current = {
          key, job, task, kind: str(r.kind, '?'), agent: str(r.agent, '?'), host: str(r.host, '?'), worker: num(r.worker),
          attempt, start, end, records: 0, failedRecords: 0, error: null,
        };
      }
      current.records++;
      if (r.status === 'error') {
        current.failedRecords++;
        this.failedRecords++;
        const code = str(r.error?.code, 'E_UNKNOWN');
        this.errorsByCode[code] = (this.errorsByCode[code] ?? 0) + 1;
        current.error ??= { code, message: str(r.error?.message).slice(0, 500) };
      }
    }
    if (current !== null) this.count(current);
  }

  /** Counts one task: failed when any of its rows is an error. */
  private count(g: TaskRows): void {
    const { job, task, kind, agent, host, worker, attempt, start, end } = g;
    const o = this.o;
    const tasks = ++this.tasks;
    const status = g.failedRecords > 0 ? 'error' : 'ok';
    if (status === 'ok') this.ok++;
    else this.error++;
    if (!this.kinds.has(kind)) this.kinds.set(kind, this.kinds.size);
    const ms = Math.max(0, end - start);
    this.busyMs += ms;
    this.t0 = Math.min(this.t0, start);
    this.t1 = Math.max(this.t1, end);
    this.busy.add(start, end);

    let j = this.jobs.get(job);
    if (!j) {
      j = { job, tasks: 0, ok: 0, error: 0, failedRecords: 0, retried: 0, busyMs: 0, first: start, last: end, kinds: new Set() };
      this.jobs.set(job, j);
    }
    tally(j, status, g.failedRecords, attempt, ms, start, end);
    j.kinds.add(kind);

    const workerKey = `${agent}\u0000${worker ?? '-'}`;
    const w = this.workers.get(workerKey);
    if (w) {
      w.first = Math.min(w.first, start);
      w.last = Math.max(w.last, end);
    } else this.workers.set(workerKey, { agent, first: start, last: end });

    const laneKey = `${job}\u0000${workerKey}`;
    let lane = this.lanes.get(laneKey);
    if (!lane) {
      lane = { job, agent, host, worker, tasks: 0, busyMs: 0, first: start, last: end, index: this.lanes.size };
      this.lanes.set(laneKey, lane);
    }
    lane.tasks++;
    lane.busyMs += ms;
    lane.first = Math.min(lane.first, start);
    lane.last = Math.max(lane.last, end);

    let a = this.agents.get(agent);
    if (!a) {
      a = { agent, host, tasks: 0, ok: 0, error: 0, failedRecords: 0, retried: 0, busyMs: 0, first: start, last: end, workers: new Set() };
      this.agents.set(agent, a);
    }
    a.workers.add(workerKey);
    tally(a, status, g.failedRecords, attempt, ms, start, end);

    this.attempts[attempt] = (this.attempts[attempt] ?? 0) + 1;
    const brief = (): TaskBrief => ({ job, task, kind, status, attempt, agent, worker, start, ms });
    this.slowest.add(brief());
    if (attempt > 1) {
      this.retried++;
      if (this.retries.length < o.examples) this.retries.push(brief());
    }
    if (g.error !== null && this.errors.length < o.examples) {
      this.errors.push({ ...brief(), ...g.error, records: g.records, failedRecords: g.failedRecords });
    }

    // Reservoir sample of bars (algorithm R), over the tasks of every file.
    const bars = this.bars;
    let slot = bars.task.length;
    if (slot >= o.maxBars) {
      const r = Math.floor(this.random() * tasks);
      if (r >= o.maxBars) return;
      slot = r;
    }
    bars.lane[slot] = lane.index;
    bars.start[slot] = start;
    bars.ms[slot] = ms;
    bars.kind[slot] = this.kinds.get(kind)!;
    bars.status[slot] = status === 'ok' ? 0 : 1;
    bars.attempt[slot] = attempt;
    bars.task[slot] = task;
  }

  /** The report of every file added; `file` says what it is of (a path, or the paths given). Call once. */
  result(file: string, badLines = 0): ReportData {
    const o = this.o;
    const empty = this.tasks === 0;
    const t0 = empty ? 0 : this.t0;
    const t1 = empty ? 0 : this.t1;
    const bars = this.bars;
    for (let i = 0; i < bars.start.length; i++) bars.start[i] = bars.start[i]! - t0;

    const { lanes, groups, jobs, remap } = layOut([...this.lanes.values()], [...this.jobs.values()]);
    for (let i = 0; i < bars.lane.length; i++) bars.lane[i] = remap[bars.lane[i]!]!;

    const cap = new TimeBins(o.bins);
    const aliveByAgent = new Map<string, number>();
    for (const w of this.workers.values()) {
      cap.add(w.first, w.last);
      aliveByAgent.set(w.agent, (aliveByAgent.get(w.agent) ?? 0) + (w.last - w.first));
    }
    const b = this.busy.result();
    const c = cap.result(b.width);
    // Both cover [t0, t1]; align defensively on `from`.
    const capacity = b.values.map((_, i) => c.values[i + Math.round((b.from - c.from) / b.width)] ?? 0);

    return {
      file,
      files: this.files,
      rows: this.rows,
      badLines,
      tasks: this.tasks,
      ok: this.ok,
      error: this.error,
      failedRecords: this.failedRecords,
      retried: this.retried,
      attempts: this.attempts,
      jobs: jobs.map((j) => j.job),
      jobTotals: jobs.map((j) => ({ ...j, kinds: [...this.jobs.get(j.job)!.kinds] })),
      kinds: [...this.kinds.keys()],
      t0,
      t1,
      busyMs: this.busyMs,
      groups,
      lanes,
      geometry: geometryOf(groups, lanes.length),
      workers: this.workers.size,
      agents: [...this.agents.values()].sort((x, y) => x.first - y.first).map(({ workers, ...a }) => ({ ...a, lanes: workers.size, aliveMs: aliveByAgent.get(a.agent) ?? 0 })),
      bars,
      barsTotal: this.tasks,
      util: { from: b.from, width: b.width, busy: b.values, capacity },
      slowest: this.slowest.sorted(),
      errorsByCode: this.errorsByCode,
      errors: this.errors,
      retries: this.retries,
    };
  }
}

/** Adds one task to a job's or an agent's counts. */
function tally(t: Omit<JobCounts, 'job'>, status: 'ok' | 'error', failedRecords: number, attempt: number, ms: number, start: number, end: number): void {
  t.tasks++;
  if (status === 'ok') t.ok++;
  else t.error++;
  t.failedRecords += failedRecords;
  if (attempt > 1) t.retried++;
  t.busyMs += ms;
  t.first = Math.min(t.first, start);
  t.last = Math.max(t.last, end);
}

/** Streams one file's `rows` (parsed JSONL objects) into the report's figures. */
export async function scanRows(rows: AsyncIterable<Record<string, unknown>>, file: string, opts: Partial<ScanOptions> = {}, badLines: () => number = () => 0): Promise<ReportData> {
  const scan = new ReportScan(opts);
  await scan.add(rows, file);
  return scan.result(file, badLines());
}
