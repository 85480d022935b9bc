/**
 * `shoal status --watch`: on a TTY the screen is redrawn in place (log-update): the job table
 * of `shoal status` with a progress bar (cli-progress's, the one `shoal run` shows) under each
 * job, then the agent table; in a pipe, one plain line per job per refresh; with --json, one
 * document per refresh (one per line).
 *
 * A coordinator that cannot be reached (killed, restarting, its broker down) or that does not
 * answer in time is said at once, with the last good view kept below and marked stale; the
 * requests go on, so the view comes back by itself when a coordinator answers again.
 */
import cliProgress from 'cli-progress';
import { createLogUpdate } from 'log-update';
import { ErrorCode, ShoalError } from '../errors.js';
import type { CtlClient } from './client.js';
import type { Output } from './output.js';
import { alignColumns } from './output.js';
import { agentNotes, agentTable, jobEnded, jobTable, jobWords, presentAgents } from './status-columns.js';
import { remarks, statusTree } from './status-tree.js';
import { clockTime, formatElapsed } from './units.js';

export type Status = Awaited<ReturnType<CtlClient['status']>>;

/** Why the view on screen is not fresh. */
export interface Trouble {
  /** `unreachable`: no answer (or a bus error); `unknown-job`: the coordinator answers but does not know the watched job (it restarted and has not loaded it yet). */
  readonly what: 'unreachable' | 'unknown-job';
  /** Local epoch ms when the first request that got no good answer was sent. */
  readonly since: number;
  /** The error, or that no answer has come yet. */
  readonly reason: string;
}

/** What a --json watch prints in place of a status when there is trouble. */
export interface TroubleDoc {
  kind: Trouble['what'];
  since: number;
  seconds: number;
  error: string;
  job?: string;
}

const BAR = cliProgress.Presets.shades_classic;

/** A progress bar `size` characters wide, drawn by cli-progress's formatter. */
function bar(fraction: number, size: number): string {
  const opts = { barsize: size, barCompleteString: BAR.barCompleteChar.repeat(size), barIncompleteString: BAR.barIncompleteChar.repeat(size), barGlue: '' } as cliProgress.Options;
  return cliProgress.Format.BarFormat(Math.min(1, Math.max(0, fraction)), opts);
}

/** The line that says what is wrong: `coordinator unreachable since 14:03:59 (12s): why`. */
export function troubleLine(t: Trouble, now: number, job?: string): string {
  const since = `since ${clockTime(t.since)} (${formatElapsed(now - t.since)})`;
  return t.what === 'unreachable' ? `coordinator unreachable ${since}: ${t.reason}` : `job ${job ?? '?'} unknown to the coordinator ${since}: ${t.reason}`;
}

/** The --json document for a trouble. */
export function troubleDoc(t: Trouble, now: number, job?: string): TroubleDoc {
  return { kind: t.what, since: t.since, seconds: Math.floor((now - t.since) / 1000), error: t.reason, ...(job && t.what === 'unknown-job' ? { job } : {}) };
}

/** The jobs' lines: the table's rows, each followed by its bar and what is said of the job. */
function jobLines(st: Status, width: number): string[] {
  if (st.jobs.length === 0) return ['no jobs'];
  const rows = statusTree(st.jobs);
  const [head, ...cells] = alignColumns(jobTable(rows));
  const lines = [head!];
  rows.forEach((row, i) => {
    const j = row.job;
    const frac = j.total === 0 ? 0 : j.done / j.total;
    const pct = `${(100 * frac).toFixed(frac < 1 && frac >= 0.995 ? 1 : 0)}%`.padStart(4);
    const size = Math.max(10, Math.min(40, width - 10 - row.indent.length));
    lines.push(cells[i]!, `${row.indent}${bar(frac, size)} ${pct}`);
    for (const [label, text] of remarks(row)) lines.push(`${row.indent}${label}: ${text}`);
  });
  return lines;
}

/**
 * One screen of the live view: the time of the view, the jobs, the agents. With `trouble`,
 * the line that says it comes first and the view below is marked stale.
 */
export function renderFrame(st: Status | null, width = 100, trouble: Trouble | null = null, now = Date.now(), job?: string): string {
  const lines = [`shoal status  ${clockTime(trouble ? now : (st?.now ?? now))}`];
  if (trouble) {
    lines.push(troubleLine(trouble, now, job));
    lines.push(st ? `stale: the view below is from ${clockTime(st.now)}` : 'nothing to show yet');
  }
  if (st) {
    lines.push('', ...jobLines(st, width), '');
    lines.push(...(st.agents.length === 0 ? ['no agents'] : [...alignColumns(agentTable(st.agents)), ...agentNotes(st.agents)]));
  }
  return lines.join('\n');
}

/** One plain line per job (pipes and logs): the status's figures as `name=value`, in the table's order. */
export function plainLines(st: Status): string[] {
  const { count, busy, slots } = presentAgents(st.agents);
  // In tree order; a job fed by another says which (a log is read by programs: no glyphs).
  return statusTree(st.jobs).map(
    ({ job: j }) =>
      `${new Date(st.now).toISOString()} ${j.job} ${j.waitingFor ? 'waiting' : j.state} ${jobWords(j).join(' ')} agents=${count} busy=${busy}/${slots}${j.from !== undefined ? ` from=${j.from}` : ''}${j.after ? ` after=${j.after.join(',')}` : ''}`,
  );
}

/** Whether every job shown has ended (a stalled job has not: its output may become writable). */
const ended = (st: Status): boolean => st.jobs.every(jobEnded);

/**
 * What a failed status request means for the watch: trouble to show while asking on, or (an
 * error of another kind: refused, wrong protocol, a job never seen) the end of the watch.
 */
export function troubleOf(err: unknown, askedAt: number, before: Trouble | null, seenJob: boolean): Trouble {
  if (!(err instanceof ShoalError)) throw err;
  const unreachable = (err.code === ErrorCode.Bus || err.code === ErrorCode.Timeout) && err.retryable;
  const unknown = err.code === ErrorCode.NotFound && seenJob;
  if (!unreachable && !unknown) throw err;
  const what = unreachable ? 'unreachable' : 'unknown-job';
  return { what, since: before?.since ?? askedAt, reason: err.message };
}

/**
 * Refreshes until the job ends (with a job) or Ctrl-C (without, or at any time). A request
 * that gets no answer within `max(interval, 2 s)` shows the coordinator as unreachable while it
 * waits, and the screen goes on saying for how long at each interval.
 */
export async function watchStatus(c: CtlClient, out: Output, job: string | undefined, intervalMs: number): Promise<void> {
  const tty = !out.json && !!process.stdout.isTTY;
  const screen = tty ? createLogUpdate(process.stdout, { showCursor: false }) : null;
  const patienceMs = Math.max(2000, intervalMs);
  let stop: () => void = () => undefined;
  const stopped = new Promise<null>((r) => (stop = () => r(null)));
  let interrupted = false;
  const onSigint = (): void => {
    interrupted = true;
    stop();
  };
  /** `p`'s value, or null after `ms` or on Ctrl-C. */
  const race = async <T>(p: Promise<T>, ms: number): Promise<T | null> => {
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([p, stopped, new Promise<null>((r) => (timer = setTimeout(() => r(null), ms)))]);
    } finally {
      clearTimeout(timer);
    }
  };
  let last: Status | null = null;
  let trouble: Trouble | null = null;
  let seenJob = false;
  const show = (): void => {
    const now = Date.now();
    if (trouble) {
      if (out.json) out.data(troubleDoc(trouble, now, job));
      else if (screen) screen(renderFrame(last, process.stdout.columns ?? 100, trouble, now, job));
      else out.line(`${new Date(now).toISOString()} ${troubleLine(trouble, now, job)}`);
    } else if (last) {
      if (out.json) out.data(last);
      else if (screen) screen(renderFrame(last, process.stdout.columns ?? 100));
      else for (const l of plainLines(last)) out.line(l);
    }
  };
  // `on`, not `once`: log-update's cursor restorer (signal-exit) re-raises SIGINT when it is the last listener.
  process.on('SIGINT', onSigint);
  try {
    while (!interrupted) {
      const askedAt = Date.now();
      const answer = c.status(job).then(
        (st) => ({ st, err: null }),
        (err: unknown) => ({ st: null, err }),
      );
      let r = await race(answer, patienceMs);
      while (r === null && !interrupted) {
        // A bus error seen before stays the reason given: it is the latest word on what is wrong.
        if (trouble?.what !== 'unreachable') trouble = { what: 'unreachable', since: trouble?.since ?? askedAt, reason: 'no answer yet' };
        show();
        r = await race(answer, intervalMs);
      }
      if (r === null) return;
      if (r.st) {
        last = r.st;
        trouble = null;
        seenJob ||= !!job && r.st.jobs.some((j) => j.job === job);
        show();
        if (job && ended(r.st)) return;
      } else {
        trouble = troubleOf(r.err, askedAt, trouble, seenJob);
        show();
      }
      await race(stopped, intervalMs);
    }
  } finally {
    process.off('SIGINT', onSigint);
    screen?.done();
  }
}
