/**
 * A job's summary while it runs (src/sink/summary-run.ts): where the coordinator's event loop is
 * busy while rows wait, the fold moves to a thread of its own and its figures are those of every
 * row of the job (the thread reads from the first row, as the rows are said durable, and only the
 * job's); where the loop has room, no thread starts; a thread that cannot start is said and the
 * rows are folded in the coordinator's thread again; `stop` ends a threaded fold at once.
 */
import assert from 'node:assert/strict';
import { appendFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { SummaryRun } from '../../src/sink/summary-run.js';
import { createLogger } from '../../src/log.js';
import { tempSuite } from '../helpers/suite.js';
import { until } from '../helpers/wait.js';

const scratch = tempSuite('shoal-summary-run-');
let files = 0;

const row = (job: string, i: number, status = 'ok'): string =>
  JSON.stringify({ job, task: `t${i}`, kind: 'spin', status, attempt: 1, value: { ms: i % 7 } }) + '\n';

/** A file of `n` rows of job J from `from` (every 10th an error), and another job's row. */
function rows(from: number, n: number): string {
  let text = '';
  for (let i = from; i < from + n; i++) text += row('J', i, i % 10 === 3 ? 'error' : 'ok');
  return text + row('other', from);
}

/** What spin's summary of rows 0..n-1 of rows() is. */
function expected(n: number): Record<string, number> {
  let ok = 0;
  let busyMs = 0;
  for (let i = 0; i < n; i++) {
    if (i % 10 === 3) continue;
    ok++;
    busyMs += i % 7;
  }
  return { ok, error: n - ok, busyMs };
}

/** Keeps the event loop busy (90 ms of every turn) until stopped. */
function busyLoop(): () => void {
  const t = setInterval(() => {
    const end = performance.now() + 90;
    while (performance.now() < end);
  }, 0);
  return () => clearInterval(t);
}

/** Says rows are durable with the loop kept busy, until the fold moves to a thread (or tries to). */
async function movedUnderBusyLoop(run: SummaryRun): Promise<void> {
  const idle = busyLoop();
  try {
    run.advanced();
    await until('the fold moved to a thread', () => run.threaded);
  } finally {
    idle();
  }
}

function logged(): { log: ReturnType<typeof createLogger>; lines: Array<{ level: number; msg: string }> } {
  const lines: Array<{ level: number; msg: string }> = [];
  return { log: createLogger('debug', {}, { stream: { write: (l: string) => void lines.push(JSON.parse(l) as { level: number; msg: string }) }, format: 'json' }), lines };
}

describe('a job\'s summary while it runs', () => {
  it('moves to a thread of its own while the loop is busy, and sums every row of the job', async () => {
    const path = join(scratch.dir, `out-${files++}.jsonl`);
    writeFileSync(path, rows(0, 20_000));
    let durable = statSync(path).size;
    const { log } = logged();
    const run = new SummaryRun({ job: 'J', kindName: 'spin', params: {}, path, durable: () => durable, log });
    await movedUnderBusyLoop(run);
    // Rows made durable after the move reach the thread too.
    appendFileSync(path, rows(20_000, 5_000));
    durable = statSync(path).size;
    run.advanced();
    run.end();
    assert.deepEqual(await run.figures, expected(25_000));
  });

  it('stays in the coordinator\'s thread while the loop has room', async () => {
    const path = join(scratch.dir, `out-${files++}.jsonl`);
    writeFileSync(path, rows(0, 20_000));
    const run = new SummaryRun({ job: 'J', kindName: 'spin', params: {}, path, durable: () => statSync(path).size, log: logged().log });
    run.advanced();
    run.end();
    assert.deepEqual(await run.figures, expected(20_000));
    assert.equal(run.threaded, false);
  });

  it('a thread that cannot start is said, and the rows are folded here again', async () => {
    const path = join(scratch.dir, `out-${files++}.jsonl`);
    writeFileSync(path, rows(0, 20_000));
    const { log, lines } = logged();
    const run = new SummaryRun({ job: 'J', kindName: 'spin', params: {}, path, durable: () => statSync(path).size, log, threadUrl: new URL('file:///nonexistent/summary-thread.js') });
    await movedUnderBusyLoop(run);
    run.end();
    assert.deepEqual(await run.figures, expected(20_000));
    assert.equal(lines.filter((l) => l.level === 40 && /the summary's thread failed/.test(l.msg)).length, 1);
  });

  it('stop ends a threaded fold without waiting for the job\'s end', async () => {
    const path = join(scratch.dir, `out-${files++}.jsonl`);
    writeFileSync(path, rows(0, 20_000));
    const run = new SummaryRun({ job: 'J', kindName: 'spin', params: {}, path, durable: () => statSync(path).size, log: logged().log });
    await movedUnderBusyLoop(run);
    run.stop();
    // Never ended: without the stop the thread would wait for more rows, and the figures never come.
    const f = (await run.figures) as { ok: number; error: number };
    assert.ok(f.ok + f.error <= 20_000, JSON.stringify(f));
  });
});
