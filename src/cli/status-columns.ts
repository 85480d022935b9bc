/**
 * One vocabulary for where jobs and agents stand: the columns `shoal status` prints, in the
 * order it prints them, with each cell's unit. `status --watch` draws the same columns, its
 * plain lines (pipes) name the same figures in the same order, and run's progress line shows
 * the ones it has room for under the same names. Pure: statuses in, strings out.
 */
import type { AgentStatus, JobStatus } from '../../protocol/index.js';
import type { TreeRow } from './status-tree.js';
import { shownState } from './status-tree.js';
import { formatAgo, formatBytes, formatDuration, formatPerSecond } from './units.js';

/** One column: its header in tables, its name in lines (`done 3/10`, `done=3/10`), and its cell. */
export interface Column<T> {
  readonly header: string;
  readonly label: string;
  cell(x: T): string;
}

/** Whether a job has ended (done, failed or cancelled): its figures are final. */
export function jobEnded(j: JobStatus): boolean {
  return j.state === 'done' || j.state === 'failed' || j.state === 'cancelled';
}

/** A job's ETA: `-` once it has ended, `?` while unknown (no rate yet, waiting), else `21s`, `4m05s`. */
export function etaCell(j: JobStatus): string {
  if (jobEnded(j)) return '-';
  return j.etaS === null || j.waitingFor ? '?' : formatDuration(j.etaS);
}

const col = <T>(header: string, cell: (x: T) => string, label = header.toLowerCase()): Column<T> => ({ header, label, cell });

/** The job columns after JOB and KIND, in order. */
const FIGURES: ReadonlyArray<Column<JobStatus>> = [
  col('STATE', shownState),
  col('DONE', (j) => `${j.done}/${j.total}`),
  col('FAILED', (j) => String(j.failed)),
  col('RUNNING', (j) => String(j.running)),
  col('QUEUED', (j) => String(j.queued)),
  col('RETRIED', (j) => String(j.retried)),
  col('SPECULATED', (j) => String(j.speculated)),
  col('SPLIT', (j) => String(j.split ?? 0)),
  // Tasks written from the result cache / looked up there in vain (`--cache`).
  col('CACHED', (j) => (j.cache ? `${j.cache.hits}/${j.cache.hits + j.cache.misses}` : '-')),
  col('RATE', (j) => formatPerSecond(j.rate)),
  col('ETA', etaCell, 'ETA'),
];

/** The job figures shown for these jobs: SPLIT only where some job had a task split, CACHED where some job uses a cache. */
export function jobFigures(jobs: readonly JobStatus[]): ReadonlyArray<Column<JobStatus>> {
  const split = jobs.some((j) => (j.split ?? 0) > 0);
  const cached = jobs.some((j) => j.cache !== undefined);
  return FIGURES.filter((c) => (c.header !== 'SPLIT' || split) && (c.header !== 'CACHED' || cached));
}

/** The job table: JOB (after its tree glyphs), KIND, then the figures. Header first. */
export function jobTable(rows: readonly TreeRow[]): string[][] {
  const figures = jobFigures(rows.map((r) => r.job));
  return [['JOB', 'KIND', ...figures.map((c) => c.header)], ...rows.map((r) => [r.prefix + r.job.job, r.job.kind, ...figures.map((c) => c.cell(r.job))])];
}

/** A job's figures as `name=value` words, in the table's order (a plain line for pipes and logs). */
export function jobWords(j: JobStatus): string[] {
  return jobFigures([j])
    .filter((c) => c.header !== 'STATE')
    .map((c) => `${c.label.toLowerCase()}=${c.cell(j)}`);
}

/** The figures run's progress line shows, by header, in the table's order. */
const PROGRESS = ['DONE', 'FAILED', 'RUNNING', 'RATE', 'ETA'];

/** Run's progress line after the bar: `done 3/10 | failed 0 | running 1 | rate 12/s | ETA 21s`. */
export function progressFigures(j: JobStatus): string {
  return FIGURES.filter((c) => PROGRESS.includes(c.header))
    .map((c) => `${c.label} ${c.cell(j)}`)
    .join(' | ');
}

/** An agent's live interpreters as `count: memory`, or '-' when it has none. */
export function interpreterCell(a: AgentStatus): string {
  return a.interpreters ? `${a.interpreters.count}: ${formatBytes(a.interpreters.rss)}` : '-';
}

/** An agent's GPUs as `free/total`, or '-' when it has none. */
export function gpuCell(a: AgentStatus): string {
  return a.gpus ? `${a.freeGpus ?? 0}/${a.gpus}` : '-';
}

/**
 * The agent table, header first: INTERPRETERS only where some agent has live ones (python
 * jobs), GPUS FREE only where some agent has GPUs, PYTHON (its python3's version) only where
 * some agent runs users' code.
 */
export function agentTable(agents: readonly AgentStatus[]): string[][] {
  const py = agents.some((a) => a.interpreters);
  const gpus = agents.some((a) => a.gpus);
  const python = agents.some((a) => a.python);
  const cols: Array<Column<AgentStatus>> = [
    col('AGENT', (a) => a.agent),
    col('HOST', (a) => a.host),
    col('STATE', (a) => a.state + (a.spot ? ' (spot)' : '')),
    col('BUSY/SLOTS', (a) => `${a.busy}/${a.slots}`),
    col('MEM FREE', (a) => formatBytes(a.memory)),
    ...(py ? [col('INTERPRETERS', interpreterCell)] : []),
    ...(gpus ? [col('GPUS FREE', gpuCell)] : []),
    ...(python ? [col('PYTHON', (a: AgentStatus) => a.python ?? '-')] : []),
    col('DONE', (a) => String(a.done)),
    col('SEEN', (a) => formatAgo(a.lastSeenMs)),
  ];
  return [cols.map((c) => c.header), ...agents.map((a) => cols.map((c) => c.cell(a)))];
}

/** Agents still with the coordinator (active or draining), and their busy and total slots. */
export function presentAgents(agents: readonly AgentStatus[]): { count: number; busy: number; slots: number } {
  let count = 0;
  let busy = 0;
  let slots = 0;
  for (const a of agents) {
    if (a.state !== 'active' && a.state !== 'draining') continue;
    count++;
    busy += a.busy;
    slots += a.slots;
  }
  return { count, busy, slots };
}

/** What is said below the agent table: each agent's interpreters per job. */
export function agentNotes(agents: readonly AgentStatus[]): string[] {
  return agents.flatMap((a) => (a.interpreters?.jobs ?? []).map((j) => `interpreters (${a.agent}, job ${j.job}): ${j.count}, ${formatBytes(j.rss)} resident, largest ${formatBytes(j.maxRss)}`));
}
