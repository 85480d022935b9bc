/**
 * What `shoal status`, `status --watch` and run's progress line print: every figure with its
 * unit, one set of column names in one order for all three, ETA '-' once a job has ended, and
 * the live view's word when the coordinator cannot be reached (the last view kept, marked
 * stale). And which failures the watch rides out and which end it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import cliProgress from 'cli-progress';
import type { AgentStatus, JobStatus } from '../../protocol/index.js';
import { DEFAULT_SCHEDULER_OPTIONS } from '../../coordinator/index.js';
import { ErrorCode, ShoalError } from '../../src/errors.js';
import { STATUS_HELP } from '../../src/cli/commands/control.js';
import { alignColumns, PROGRESS_FORMAT } from '../../src/cli/output.js';
import { agentTable, etaCell, jobTable, jobWords, progressFigures } from '../../src/cli/status-columns.js';
import { statusTree } from '../../src/cli/status-tree.js';
import { clockTime, formatAgo, formatBytes, formatDuration, formatElapsed, formatPerSecond } from '../../src/cli/units.js';
import { plainLines, renderFrame, troubleDoc, troubleLine, troubleOf, type Status, type Trouble } from '../../src/cli/watch.js';

function job(extra: Partial<JobStatus> = {}): JobStatus {
  return { job: 'J', kind: 'spin', state: 'running', total: 400, done: 168, failed: 1, running: 2, queued: 229, retried: 3, speculated: 4, rate: 12.3, etaS: 21, startedAt: 0, endedAt: null, out: 'J.jsonl', notes: [], ...extra };
}

function agent(extra: Partial<AgentStatus> = {}): AgentStatus {
  return { agent: 'n1-7', host: 'n1', state: 'active', slots: 4, busy: 3, memory: 1.5 * 2 ** 30, done: 9, lastSeenMs: 3100, spot: false, ...extra };
}

const status = (jobs: JobStatus[], agents: AgentStatus[] = [agent()], now = Date.UTC(2026, 0, 1, 12, 0, 0)): Status => ({ kind: 'status', v: 1, now, jobs, agents });

test('durations, rates, memory and ages carry their units', () => {
  assert.deepEqual([0, 2.04, 9.96, 21, 59.4, 59.6, 245, 3599, 3600 * 2 + 180].map(formatDuration), ['0.0s', '2.0s', '10s', '21s', '59s', '1m00s', '4m05s', '59m59s', '2h03m']);
  assert.equal(formatDuration(Number.NaN), '?');
  assert.deepEqual([0.5, 12.3, 301, 1234].map(formatPerSecond), ['0.5/s', '12/s', '301/s', '1.2k/s']);
  assert.deepEqual([12 * 1024, 700 * 2 ** 20, 1.5 * 2 ** 30, 64 * 2 ** 30].map(formatBytes), ['12KiB', '700MiB', '1.5GiB', '64.0GiB']);
  assert.equal(formatAgo(3100), '3.1s ago');
  assert.equal(formatAgo(245_000), '4m05s ago');
  assert.deepEqual([0, 999, 7900, 245_000].map(formatElapsed), ['0s', '0s', '7s', '4m05s']);
  assert.match(clockTime(Date.now()), /^\d\d:\d\d:\d\d$/);
});

test("ETA: with its unit while a job runs, '?' while unknown or waiting, '-' once the job has ended", () => {
  assert.equal(etaCell(job()), '21s');
  assert.equal(etaCell(job({ etaS: null })), '?');
  assert.equal(etaCell(job({ waitingFor: ['U'], etaS: null })), '?');
  for (const state of ['done', 'failed', 'cancelled'] as const) assert.equal(etaCell(job({ state, etaS: 0 })), '-', state);
  assert.equal(etaCell(job({ state: 'stalled', etaS: null })), '?');
});

test('status and --watch share one job table: the same columns in the same order, and the pipe lines name the same figures in that order', () => {
  const table = jobTable(statusTree([job()]));
  assert.deepEqual(table[0], ['JOB', 'KIND', 'STATE', 'DONE', 'FAILED', 'RUNNING', 'QUEUED', 'RETRIED', 'SPECULATED', 'RATE', 'ETA']);
  assert.deepEqual(table[1], ['J', 'spin', 'running', '168/400', '1', '2', '229', '3', '4', '12/s', '21s']);
  // SPLIT only where a job had a task split, before RATE.
  assert.deepEqual(jobTable(statusTree([job({ split: 2 })]))[0]!.slice(-3), ['SPLIT', 'RATE', 'ETA']);
  // The live view's header line is the table's.
  const screen = renderFrame(status([job()])).split('\n');
  assert.ok(screen.includes(alignColumns(table)[0]!), screen.join('\n'));
  assert.ok(screen.includes(alignColumns(table)[1]!), screen.join('\n'));
  // Pipe lines: name=value in the table's order, names the headers lowercased.
  const words = jobWords(job());
  assert.deepEqual(
    words.map((w) => w.split('=')[0]),
    table[0]!.slice(3).map((h) => h.toLowerCase()),
  );
  assert.deepEqual(words, ['done=168/400', 'failed=1', 'running=2', 'queued=229', 'retried=3', 'speculated=4', 'rate=12/s', 'eta=21s']);
  const [line] = plainLines(status([job()]));
  assert.match(line!, /^2026-01-01T12:00:00\.000Z J running done=168\/400 failed=1 running=2 queued=229 retried=3 speculated=4 rate=12\/s eta=21s agents=1 busy=3\/4$/);
});

test('one agent table for status and --watch: busy of slots, free memory in GiB/MiB, seen how long ago', () => {
  const table = agentTable([agent(), agent({ agent: 'n2-8', host: 'n2', state: 'left', busy: 0, memory: 700 * 2 ** 20, lastSeenMs: 14_000, spot: true })]);
  assert.deepEqual(table, [
    ['AGENT', 'HOST', 'STATE', 'BUSY/SLOTS', 'MEM FREE', 'DONE', 'SEEN'],
    ['n1-7', 'n1', 'active', '3/4', '1.5GiB', '9', '3.1s ago'],
    ['n2-8', 'n2', 'left (spot)', '0/4', '700MiB', '9', '14s ago'],
  ]);
  const withExtras = agentTable([agent({ gpus: 2, freeGpus: 1, python: '3.12.1', interpreters: { count: 2, rss: 300 * 2 ** 20, jobs: [] } })]);
  assert.deepEqual(withExtras[0], ['AGENT', 'HOST', 'STATE', 'BUSY/SLOTS', 'MEM FREE', 'INTERPRETERS', 'GPUS FREE', 'PYTHON', 'DONE', 'SEEN']);
  assert.deepEqual(withExtras[1]!.slice(5, 8), ['2: 300MiB', '1/2', '3.12.1']);
  // Agents that left or were lost are not counted among those present in the pipe lines.
  const [line] = plainLines(status([job()], [agent(), agent({ state: 'left', busy: 0 }), agent({ state: 'lost', busy: 0 })]));
  assert.match(line!, / agents=1 busy=3\/4$/);
});

test("run's progress line: the table's names and order, and ETA with its unit (cli-progress's own {eta} is a bare number)", () => {
  assert.equal(progressFigures(job()), 'done 168/400 | failed 1 | running 2 | rate 12/s | ETA 21s');
  assert.equal(progressFigures(job({ state: 'done', done: 400, etaS: 0 })), 'done 400/400 | failed 1 | running 2 | rate 12/s | ETA -');
  // Drawn by cli-progress itself, with its own ETA (21 s here) in its context.
  const options = { format: PROGRESS_FORMAT, barsize: 10, barCompleteString: '#'.repeat(10), barIncompleteString: '-'.repeat(10), barGlue: '', autopaddingChar: ' ', formatValue: undefined } as unknown as cliProgress.Options;
  const params = { progress: 0.42, eta: 21, startTime: Date.now(), stopTime: null, total: 400, value: 168, maxWidth: 200 };
  const drawn = cliProgress.Format.Formatter(options, params, { figures: progressFigures(job()) });
  assert.equal(drawn, ' ####------ 42% | done 168/400 | failed 1 | running 2 | rate 12/s | ETA 21s');
});

test('a coordinator that cannot be reached: the live view says since when and for how long, and keeps the last view marked stale', () => {
  const now = Date.now();
  const t: Trouble = { what: 'unreachable', since: now - 12_500, reason: "no coordinator answers in namespace 'x'" };
  assert.equal(troubleLine(t, now), `coordinator unreachable since ${clockTime(now - 12_500)} (12s): no coordinator answers in namespace 'x'`);
  const last = status([job()], [agent()], now - 13_000);
  const screen = renderFrame(last, 100, t, now).split('\n');
  assert.equal(screen[1], troubleLine(t, now));
  assert.equal(screen[2], `stale: the view below is from ${clockTime(now - 13_000)}`);
  assert.ok(screen.some((l) => /^J +spin +running +168\/400/.test(l)), 'the last view is kept');
  // Before any view: the line alone.
  assert.deepEqual(renderFrame(null, 100, t, now).split('\n').slice(1), [troubleLine(t, now), 'nothing to show yet']);
  assert.deepEqual(troubleDoc(t, now), { kind: 'unreachable', since: now - 12_500, seconds: 12, error: "no coordinator answers in namespace 'x'" });
  const unknown: Trouble = { what: 'unknown-job', since: now - 2000, reason: "no job named 'J'" };
  assert.match(troubleLine(unknown, now, 'J'), /^job J unknown to the coordinator since \d\d:\d\d:\d\d \(2s\): no job named 'J'$/);
});

test('which failed requests the watch rides out (no coordinator, no answer; a job it saw, unknown after a restart) and which end it', () => {
  const bus = new ShoalError(ErrorCode.Bus, 'no coordinator answers', { retryable: true });
  const first = troubleOf(bus, 1000, null, false);
  assert.deepEqual(first, { what: 'unreachable', since: 1000, reason: 'no coordinator answers' });
  assert.equal(troubleOf(bus, 5000, first, false).since, 1000, 'since the first request that failed');
  assert.equal(troubleOf(new ShoalError(ErrorCode.Timeout, 'late', { retryable: true }), 1, null, false).what, 'unreachable');
  const notFound = new ShoalError(ErrorCode.NotFound, "no job named 'J'");
  assert.equal(troubleOf(notFound, 1, null, true).what, 'unknown-job');
  assert.throws(() => troubleOf(notFound, 1, null, false), ShoalError, 'a job never seen is a mistake to report');
  assert.throws(() => troubleOf(new ShoalError(ErrorCode.Bus, 'not permitted', { retryable: false }), 1, null, true), /not permitted/);
  assert.throws(() => troubleOf(new ShoalError(ErrorCode.Protocol, 'protocol 9'), 1, null, true), /protocol 9/);
  assert.throws(() => troubleOf(new TypeError('bug'), 1, null, true), TypeError);
});

test("status --help says how long agents that left and lost ones stay listed, as the scheduler's defaults have it", () => {
  const o = DEFAULT_SCHEDULER_OPTIONS;
  assert.ok(STATUS_HELP.includes(`--left-retention (${o.leftRetentionMs / 1000} s by default)`), STATUS_HELP);
  assert.ok(STATUS_HELP.includes(`--lost-retention (${o.lostRetentionMs / 1000} s by default)`), STATUS_HELP);
  assert.ok(STATUS_HELP.includes(`--agent-timeout (${o.agentTimeoutMs / 1000} s by default)`), STATUS_HELP);
  assert.ok(o.leftRetentionMs < o.lostRetentionMs, 'a lost agent is kept longer than one that left');
});
