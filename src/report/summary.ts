/** The text summary `shoal report` prints, and the figures it is made of. */
import type { AllocationMark } from './allocations.js';
import type { ReportData } from './scan.js';

/** Counts carried over from the scan as they are. */
type ScanCounts = Pick<ReportData, 'file' | 'files' | 'rows' | 'badLines' | 'tasks' | 'ok' | 'error' | 'failedRecords' | 'retried' | 'jobs' | 'kinds' | 'errorsByCode'>;

/** One job's figures; times in seconds, `startS` and `endS` after the report's first start. */
export interface JobSummary {
  job: string;
  kinds: string[];
  tasks: number;
  ok: number;
  error: number;
  failedRecords: number;
  retried: number;
  /** Its worker lanes (agent × worker that ran its tasks). */
  lanes: number;
  startS: number;
  endS: number;
  spanS: number;
  busyS: number;
  /** Busy time over the time of its lanes while they were alive for it (0..1). */
  utilization: number;
  /** The job before it (by first start), and how long their spans overlap. */
  previous: string | null;
  overlapS: number;
}

export interface ReportSummary extends ScanCounts {
  spanS: number;
  busyS: number;
  /** Workers (agent × worker), whatever their jobs. */
  lanes: number;
  /** Busy worker time over the worker time of the lanes while they were alive (0..1). */
  utilization: number;
  slowest: Array<{ job: string; task: string; ms: number; agent: string; worker: number | null; status: string }>;
  agents: Array<{ agent: string; host: string; lanes: number; tasks: number; ok: number; error: number; failedRecords: number; retried: number; busyS: number; utilization: number }>;
  /** Per job, in the timeline's order (first start). */
  perJob: JobSummary[];
  /**
   * The allocations (`shoal alloc`) whose agents joined, when the report reads an out dir that
   * records them: when their agents joined and left, in seconds after the report's first start
   * (negative: before it; leftS null: still there when last written).
   */
  allocations?: AllocationSummary[];
}

export interface AllocationSummary {
  queue: string;
  alloc: string;
  slurmJob: string | null;
  state: string;
  agents: string[];
  joinedS: number;
  leftS: number | null;
}

/** The report's figures for `--json` and the printed lines. */
export function summarize(d: ReportData, allocations: readonly AllocationMark[] = []): ReportSummary {
  const capacity = d.util.capacity.reduce((s, x) => s + x, 0);
  const { file, files, rows, badLines, tasks, ok, error, failedRecords, retried, jobs, kinds, errorsByCode } = d;
  const share = (busy: number, alive: number): number => (alive > 0 ? Math.min(1, busy / alive) : 0);
  return {
    file, files, rows, badLines, tasks, ok, error, failedRecords, retried, jobs, kinds, errorsByCode,
    spanS: (d.t1 - d.t0) / 1000,
    busyS: d.busyMs / 1000,
    lanes: d.workers,
    utilization: capacity > 0 ? Math.min(1, d.busyMs / capacity) : 0,
    slowest: d.slowest.slice(0, 10).map((t) => ({ job: t.job, task: t.task, ms: t.ms, agent: t.agent, worker: t.worker, status: t.status })),
    agents: d.agents.map((a) => ({ agent: a.agent, host: a.host, lanes: a.lanes, tasks: a.tasks, ok: a.ok, error: a.error, failedRecords: a.failedRecords, retried: a.retried, busyS: a.busyMs / 1000, utilization: share(a.busyMs, a.aliveMs) })),
    perJob: d.jobTotals.map((j, i) => ({
      job: j.job, kinds: j.kinds, tasks: j.tasks, ok: j.ok, error: j.error, failedRecords: j.failedRecords, retried: j.retried, lanes: d.groups[i]!.lanes,
      startS: (j.first - d.t0) / 1000, endS: (j.last - d.t0) / 1000, spanS: (j.last - j.first) / 1000, busyS: j.busyMs / 1000,
      utilization: share(j.busyMs, j.aliveMs), previous: j.previous, overlapS: j.overlapMs / 1000,
    })),
    ...(allocations.length > 0
      ? { allocations: allocations.map((a) => ({ queue: a.queue, alloc: a.alloc, slurmJob: a.slurmJob, state: a.state, agents: a.agents, joinedS: (a.joinedAt - d.t0) / 1000, leftS: a.leftAt === null ? null : (a.leftAt - d.t0) / 1000 })) }
      : {}),
  };
}

const plural = (n: number, what: string): string => `${n} ${what}${n === 1 ? '' : 's'}`;
const pct = (x: number): string => `${(100 * x).toFixed(0)}%`;
const secs = (s: number): string => (s >= 100 ? `${s.toFixed(0)}s` : s >= 1 ? `${s.toFixed(1)}s` : `${(s * 1000).toFixed(0)}ms`);

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd());
}

/** The lines printed on stdout. */
export function summaryLines(s: ReportSummary): string[] {
  const lines = [
    `${s.file}: ${s.tasks} tasks (${s.ok} ok, ${s.error} failed, ${s.failedRecords} failed records, ${s.retried} retried) in ${s.rows} rows${s.badLines ? `, ${s.badLines} unreadable lines skipped` : ''}`,
    ...(s.files.length > 1 ? [`files: ${s.files.join(', ')}`] : []),
    `jobs: ${s.jobs.join(', ') || '-'}   kinds: ${s.kinds.join(', ') || '-'}`,
    `span ${secs(s.spanS)}, ${plural(s.agents.length, 'agent')}, ${plural(s.lanes, 'worker lane')}, busy ${secs(s.busyS)}: utilization ${pct(s.utilization)}`,
  ];
  const codes = Object.entries(s.errorsByCode).sort((a, b) => b[1] - a[1]);
  if (codes.length > 0) lines.push(`error rows: ${codes.map(([c, n]) => `${c} ${n}`).join(', ')}`);
  if (s.slowest.length > 0) lines.push(`slowest: ${s.slowest.slice(0, 5).map((t) => `${s.jobs.length > 1 ? `${t.job}/` : ''}${t.task} ${secs(t.ms / 1000)}`).join(', ')}`);
  if (s.perJob.length > 1) {
    lines.push('');
    lines.push(
      ...table([
        ['JOB', 'TASKS', 'OK', 'FAILED', 'RETRIED', 'LANES', 'START', 'END', 'SPAN', 'BUSY', 'UTIL', 'OVERLAP WITH PREVIOUS'],
        ...s.perJob.map((j) => [j.job || '-', String(j.tasks), String(j.ok), String(j.error), String(j.retried), String(j.lanes), secs(j.startS), secs(j.endS), secs(j.spanS), secs(j.busyS), pct(j.utilization), j.previous === null ? '-' : `${secs(j.overlapS)} (${j.previous || '-'})`]),
        ['all', String(s.tasks), String(s.ok), String(s.error), String(s.retried), String(s.lanes), secs(0), secs(s.spanS), secs(s.spanS), secs(s.busyS), pct(s.utilization), ''],
      ]),
    );
  }
  if (s.agents.length > 0) {
    lines.push('');
    lines.push(
      ...table([
        ['AGENT', 'HOST', 'LANES', 'TASKS', 'OK', 'FAILED', 'FAILED RECORDS', 'RETRIED', 'BUSY', 'UTIL'],
        ...s.agents.map((a) => [a.agent, a.host, String(a.lanes), String(a.tasks), String(a.ok), String(a.error), String(a.failedRecords), String(a.retried), secs(a.busyS), pct(a.utilization)]),
      ]),
    );
  }
  if (s.allocations?.length) {
    lines.push('');
    lines.push(
      ...table([
        ['ALLOCATION', 'SLURM JOB', 'AGENTS', 'JOINED', 'LEFT', 'STATE'],
        ...s.allocations.map((a) => [`${a.queue}/${a.alloc}`, a.slurmJob ?? '-', a.agents.join(' '), at(a.joinedS), a.leftS === null ? '-' : at(a.leftS), a.state]),
      ]),
    );
  }
  return lines;
}

/** A time after the report's first start, signed. */
const at = (s: number): string => (s < 0 ? `-${secs(-s)}` : `+${secs(s)}`);
