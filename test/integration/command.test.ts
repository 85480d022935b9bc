/**
 * The command kind over a real nats-server, every actor its own process: two agents started
 * with --allow-command and one without. A 200-line job runs every line once (JSON stdout
 * parsed, a failing line recorded with its exit code and stderr tail, a timeout killed);
 * the agent without --allow-command runs none of it and status says so. Then --retry-failed,
 * and cancel and drain killing the running programs' process groups.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { assertOneRowPerTask, readRows, type Row } from '../helpers/rows.js';
import { jobStatus, runShoal, shoalJson, waitForJobEnd, type ShoalProcess, alive, type Agent } from '../helpers/shoal.js';
import { natsSuite, type Run } from '../helpers/suite.js';
import { until } from '../helpers/wait.js';

const suite = natsSuite('shoal-command-');

const pidsIn = (file: string): number[] => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean).map(Number) : []);

const ids = (n: number): string[] => Array.from({ length: n }, (_, i) => `line_${String(i + 1).padStart(String(n).length, '0')}`);

describe('command tasks over NATS with two allowed agents and one that is not', () => {
  let run: Run;
  const conn = (): string[] => suite.conn(run.ns);
  let allowedA: ShoalProcess;
  let idA: string;
  let idB: string;
  let idPlain: string;

  before(async () => {
    run = await suite.coordinator('command');
    [{ id: idPlain }] = (await run.agents(1, ['--workers', '1'])) as [Agent];
    [{ proc: allowedA, id: idA }, { id: idB }] = (await run.agents(2, ['--workers', '1', '--allow-command'])) as [Agent, Agent];
  });

  it('runs 200 lines once each: JSON stdout parsed, a failure with exit code and stderr tail, a timeout killed; never on the agent without --allow-command', async () => {
    const list = join(suite.dir, 'items.txt');
    writeFileSync(list, Array.from({ length: 200 }, (_, i) => `item-${i + 1}.dat`).join('\n') + '\n');
    const slowPids = join(suite.dir, 'slow.pids');
    const script = [
      'case "$1" in',
      `  item-13.dat) echo "reading $1" >&2; echo "cannot parse $1: bad header" >&2; exit 7;;`,
      `  item-42.dat) echo $$ >> ${slowPids}; sleep 60;;`,
      '  item-77.dat) echo "plain words, not JSON";;',
      `  *) printf '{"file":"%s","n":%s,"stem":"%s","task":"%s","attempt":%s,"omp":%s}\\n' "$1" "$2" "$3" "$SHOAL_TASK_ID" "$SHOAL_ATTEMPT" "$OMP_NUM_THREADS";;`,
      'esac',
    ].join('\n');
    const r = await runShoal(['submit', 'command', ...conn(), '--job', 'C1', '--args', list, '--timeout', '2', '--kill-grace', '0.5', '--wait', '--', 'sh', '-c', script, 'sh', '{}', '{#}', '{.}'], { cwd: suite.dir });
    assert.equal(r.code, 1, `done with failed tasks\n${r.describe()}`);

    const rows = readRows(join(run.out, 'C1.jsonl'));
    assertOneRowPerTask(rows, ids(200), { job: 'C1' });
    const byTask = new Map(rows.map((row) => [row.task, row]));
    const agents = new Set(rows.map((row) => row.agent));
    assert.ok(!agents.has(idPlain), `the agent without --allow-command ran ${rows.filter((x) => x.agent === idPlain).length} tasks`);
    assert.deepEqual([...agents].sort(), [idA, idB].sort(), 'both allowed agents ran tasks');

    const ok = rows.filter((row) => row.status === 'ok');
    assert.equal(ok.length, 198);
    for (const row of ok) {
      const v = row.value as { input: string; exit: number; ms: number; stdout: unknown; stderr: string };
      assert.equal(v.exit, 0);
      assert.ok(v.ms > 0);
      if (row.task === 'line_077') {
        assert.equal(v.stdout, 'plain words, not JSON\n');
        continue;
      }
      const n = Number(row.task.slice(5));
      assert.deepEqual(v.stdout, { file: `item-${n}.dat`, n, stem: `item-${n}`, task: row.task, attempt: 1, omp: 1 }, `stdout of ${row.task}`);
    }

    const failed = byTask.get('line_013')! as Row & { error: { code: string; message: string } };
    assert.equal(failed.status, 'error');
    assert.equal(failed.error.code, 'E_EXIT');
    assert.equal(failed.attempt, 1, 'a non-zero exit is not retried without --retry-failed');
    assert.match(failed.error.message, /exited with code 7/);
    assert.match(failed.error.message, /reading item-13\.dat\s+cannot parse item-13\.dat: bad header/);
    assert.deepEqual(failed.input, { line: 13, text: 'item-13.dat' }, 'the error row says which line it was for');
    assert.equal(byTask.get('line_042')!.input?.text, 'item-42.dat');
    assert.ok(ok.every((row) => !('input' in row)), 'ok rows stay as they were');

    const slow = byTask.get('line_042')! as Row & { error: { code: string; message: string } };
    assert.equal(slow.status, 'error');
    assert.equal(slow.error.code, 'E_EXIT');
    assert.match(slow.error.message, /^timed out after 2s/);
    const pids = pidsIn(slowPids);
    assert.ok(pids.length >= 1, 'the slow line started');
    await until(() => `the timed-out programs to end (still running: ${pids.filter(alive).join(', ')})`, () => pids.every((p) => !alive(p)), 20_000);

    const summary = JSON.parse(readFileSync(join(run.out, 'C1.summary.json'), 'utf8'));
    assert.equal(summary.ok, 198);
    assert.equal(summary.timedOut, 1);
    assert.deepEqual(summary.errorsByCode, { E_EXIT: 2 });
  });

  it('status tells that the agent without --allow-command declines command tasks', async () => {
    const j = await jobStatus(suite.nats.url, run.ns, 'C1');
    const notes = (j.notes as string[]).join('\n');
    assert.match(notes, new RegExp(`agent ${idPlain} declines command tasks \\(started without --allow-command\\)`), `notes: ${notes}`);
    const human = await runShoal(['status', 'C1', ...conn()]);
    assert.match(human.stdout, /note \(C1\): agent .* declines command tasks/, human.describe());
  });

  it('--retry-failed retries a failing line on another attempt (SHOAL_ATTEMPT counts)', async () => {
    const list = join(suite.dir, 'retry.txt');
    writeFileSync(list, 'a\nb\nc\n');
    const script = '[ "$1" = b ] && [ "$SHOAL_ATTEMPT" = 1 ] && { echo "flaky on attempt 1" >&2; exit 1; }; echo "{\\"attempt\\":$SHOAL_ATTEMPT}"';
    // --no-speculate: with a speculative copy running, the scheduler re-queues a failed copy
    // at the same attempt forever (reported separately); this test is about --retry-failed.
    const r = await runShoal(['submit', 'command', ...conn(), '--job', 'C2', '--args', list, '--retry-failed', '--max-attempts', '2', '--no-speculate', '--wait', '--', 'sh', '-c', script, 'sh', '{}'], { cwd: suite.dir });
    assert.equal(r.code, 0, r.describe());
    const rows = readRows(join(run.out, 'C2.jsonl'));
    assertOneRowPerTask(rows, ['line_1', 'line_2', 'line_3'], { status: 'ok', job: 'C2' });
    const b = rows.find((x) => x.task === 'line_2')!;
    assert.equal(b.attempt, 2);
    assert.deepEqual((b.value as { stdout: unknown }).stdout, { attempt: 2 });
  });

  it('cancel kills the running programs, and a drained agent kills its own', async () => {
    const list = join(suite.dir, 'sleepers.txt');
    writeFileSync(list, 's1\ns2\ns3\ns4\n');
    const pidFile = join(suite.dir, 'sleepers.pids');
    // Each program has a child of its own: the whole group must go.
    const script = `sleep 120 & echo $! >> ${pidFile}; echo $$ >> ${pidFile}; wait`;
    const sub = await runShoal(['submit', 'command', ...conn(), '--job', 'C3', '--args', list, '--granularity', 'task', '--no-speculate', '--', 'sh', '-c', script, 'sh', '{}'], { cwd: suite.dir });
    assert.equal(sub.code, 0, sub.describe());
    // Two slots: two programs (four pids) run, two lines wait.
    await until(() => `4 pids in ${pidFile} (got ${pidsIn(pidFile).join(', ')})`, () => pidsIn(pidFile).length >= 4, 20_000);
    const firstRound = pidsIn(pidFile);

    // Drain agent A with a short grace: its program is killed and its task handed back.
    const drained = await runShoal(['drain', idA, ...conn(), '--grace', '0.3']);
    assert.equal(drained.code, 0, drained.describe());
    assert.deepEqual(await allowedA.exited, { code: 0, signal: null }, allowedA.describe());
    await until(() => `the drained agent's program to end (still running: ${firstRound.filter(alive).join(', ')})`, () => firstRound.filter(alive).length <= 2, 20_000);

    // Cancel: every program still running (agent B's) dies with its children.
    const cancelled = await runShoal(['cancel', 'C3', ...conn()]);
    assert.equal(cancelled.code, 0, cancelled.describe());
    await until(() => `every program to end after the cancel (still running: ${pidsIn(pidFile).filter(alive).join(', ')})`, () => pidsIn(pidFile).every((p) => !alive(p)), 20_000);
    const final = await waitForJobEnd(suite.nats.url, run.ns, 'C3');
    assert.equal(final.state, 'cancelled');
    // Nothing of the job stays on agent B (status learns it from the next heartbeat).
    let agentsSeen = '';
    await until(
      () => `agent ${idB} to be idle (agents: ${agentsSeen})`,
      async () => {
        const st = await shoalJson<{ agents: Array<{ agent: string; busy: number }> }>(['status', '--json', ...conn()]);
        agentsSeen = JSON.stringify(st.agents);
        return st.agents.find((a) => a.agent === idB)?.busy === 0;
      },
      20_000,
    );
  });
});
