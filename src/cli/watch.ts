/**
 * `shoal status --watch`: on a TTY the screen is redrawn in place (log-update) with a
 * progress bar per job (cli-progress's bar, the one `shoal run` shows) and a table of the
 * agents; in a pipe, one plain line per job per refresh; with --json, one status document
 * per refresh (one per line).
 */
import cliProgress from 'cli-progress';
import { createLogUpdate } from 'log-update';
import type { AgentStatus, JobStatus } from '../../protocol/index.js';
import type { CtlClient } from './client.js';
import type { Output } from './output.js';
import { formatBytes, formatDuration, formatRate } from './output.js';
import { remarks, shownState, statusTree, type TreeRow } from './status-tree.js';

type Status = Awaited<ReturnType<CtlClient['status']>>;

const BAR = cliProgress.Presets.shades_classic;

/** A progress bar `size` characters wide, drawn by cli-progress's formatter. */
function bar(fraction: number, size: number): string {
  const opts = { barsize: size, barCompleteString: BAR.barCompleteChar.repeat(size), barIncompleteString: BAR.barIncompleteChar.repeat(size), barGlue: '' } as cliProgress.Options;
  return cliProgress.Format.BarFormat(Math.min(1, Math.max(0, fraction)), opts);
}

function eta(j: JobStatus): string {
  if (j.state !== 'running') return '-';
  return j.etaS === null ? '?' : formatDuration(j.etaS);
}

/** Aligned columns (the last one not padded). */
function columns(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd());
}

/** A job's block: its name (after its branch of the tree), its progress bar, its counts, what is said of it. */
function jobLines(row: TreeRow, width: number): string[] {
  const j = row.job;
  const frac = j.total === 0 ? 0 : j.done / j.total;
  const pct = `${(100 * frac).toFixed(frac < 1 && frac >= 0.995 ? 1 : 0)}%`.padStart(4);
  const size = Math.max(10, Math.min(40, width - 60 - row.indent.length));
  const lines = [
    `${row.prefix}${j.job}  ${j.kind}  ${shownState(j)}`,
    `${row.indent}${bar(frac, size)} ${pct}  ${j.done}/${j.total}  ${formatRate(j.rate)}/s  ETA ${eta(j)}`,
    `${row.indent}running ${j.running}  queued ${j.queued}  failed ${j.failed}  retried ${j.retried}${j.speculated ? `  speculated ${j.speculated}` : ''}${j.split ? `  split ${j.split}` : ''}`,
  ];
  for (const [label, text] of remarks(row)) lines.push(`${row.indent}${label}: ${text}`);
  return lines;
}

function agentLines(agents: AgentStatus[]): string[] {
  if (agents.length === 0) return ['no agents'];
  const gpus = agents.some((a) => a.gpus);
  const python = agents.some((a) => a.python);
  const py = agents.some((a) => a.interpreters);
  return columns([
    ['AGENT', 'HOST', 'STATE', 'BUSY/SLOTS', 'MEM FREE', ...(py ? ['INTERPRETERS'] : []), ...(gpus ? ['GPUS FREE'] : []), ...(python ? ['PYTHON'] : []), 'DONE', 'HEARTBEAT'],
    ...agents.map((a) => [
      a.agent,
      a.host,
      a.state + (a.spot ? ' (spot)' : ''),
      `${a.busy}/${a.slots}`,
      formatBytes(a.memory),
      ...(py ? [a.interpreters ? `${a.interpreters.count}: ${formatBytes(a.interpreters.rss)}` : '-'] : []),
      ...(gpus ? [a.gpus ? `${a.freeGpus ?? 0}/${a.gpus}` : '-'] : []),
      ...(python ? [a.python ?? '-'] : []),
      String(a.done),
      `${(a.lastSeenMs / 1000).toFixed(1)}s ago`,
    ]),
  ]);
}

/** One screen of the live view. */
export function renderFrame(st: Status, width = 100): string {
  const lines = [`shoal status  ${new Date(st.now).toTimeString().slice(0, 8)}`, ''];
  if (st.jobs.length === 0) lines.push('no jobs');
  const rows = statusTree(st.jobs);
  rows.forEach((row, i) => {
    lines.push(...jobLines(row, width));
    // Between two blocks, the branches that go on to the next job (nothing before a root).
    const next = rows[i + 1];
    lines.push(next && next.depth > 0 ? next.prefix.slice(0, -3) + '│' : '');
  });
  lines.push(...agentLines(st.agents));
  return lines.join('\n');
}

/** One plain line per job (pipes and logs). */
export function plainLines(st: Status): string[] {
  const busy = st.agents.reduce((s, a) => s + a.busy, 0);
  const slots = st.agents.reduce((s, a) => s + a.slots, 0);
  // In tree order; a job fed by another says which (a log is read by programs: no glyphs).
  return statusTree(st.jobs).map(
    ({ job: j }) =>
      `${new Date(st.now).toISOString()} ${j.job} ${j.state} ${j.done}/${j.total} failed=${j.failed} retried=${j.retried} running=${j.running} rate=${formatRate(j.rate)}/s eta=${eta(j)} agents=${st.agents.length} busy=${busy}/${slots}${j.from !== undefined ? ` from=${j.from}` : ''}${j.after ? ` after=${j.after.join(',')}` : ''}`,
  );
}

const ended = (st: Status): boolean => st.jobs.every((j) => j.state !== 'running' && j.state !== 'expanding');

/** Refreshes until the job ends (with a job) or Ctrl-C (without). */
export async function watchStatus(c: CtlClient, out: Output, job: string | undefined, intervalMs: number): Promise<void> {
  const tty = !out.json && !!process.stdout.isTTY;
  const screen = tty ? createLogUpdate(process.stdout, { showCursor: false }) : null;
  let stop: () => void = () => undefined;
  const stopped = new Promise<void>((r) => (stop = r));
  let interrupted = false;
  const onSigint = (): void => {
    interrupted = true;
    stop();
  };
  // `on`, not `once`: log-update's cursor restorer (signal-exit) re-raises SIGINT when it is the last listener.
  process.on('SIGINT', onSigint);
  try {
    while (!interrupted) {
      const st = await c.status(job);
      if (out.json) out.data(st);
      else if (screen) screen(renderFrame(st, process.stdout.columns ?? 100));
      else for (const l of plainLines(st)) out.line(l);
      if (job && ended(st)) return;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([stopped, new Promise<void>((r) => (timer = setTimeout(r, intervalMs)))]);
      clearTimeout(timer);
    }
  } finally {
    process.off('SIGINT', onSigint);
    screen?.done();
  }
}
