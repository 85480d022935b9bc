/**
 * The walking skeleton end to end, every actor its own OS process on a real nats-server:
 * a coordinator, two agents, `submit --wait`, a spot agent joining a running job,
 * `status --json`; then the embedded `shoal run`, and the exit codes of common mistakes.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { uniqueNs } from '../helpers/nats.js';
import { assertOneRowPerTask, readRows, spinIds } from '../helpers/rows.js';
import { agentId, jobStatus, runShoal, shoalJson, spawnShoal, startAgent, startCoordinator, waitForJobEnd, type ShoalProcess } from '../helpers/shoal.js';
import { natsSuite } from '../helpers/suite.js';

const suite = natsSuite('shoal-skeleton-');

function readJson(path: string): Record<string, any> {
  assert.ok(existsSync(path), `${path} does not exist`);
  return JSON.parse(readFileSync(path, 'utf8'));
}

describe('distributed: coordinator, agents and CLI as separate processes', () => {
  const ns = uniqueNs('skeleton');
  let out: string;
  let coord: ShoalProcess;
  let agentA: ShoalProcess;
  let agentB: ShoalProcess;
  let idA: string;
  let idB: string;
  const conn = (): string[] => suite.conn(ns);

  before(async () => {
    out = join(suite.dir, 'out');
    coord = await startCoordinator(suite.nats.url, ns, out);
    [{ proc: agentA, id: idA }, { proc: agentB, id: idB }] = await Promise.all([startAgent(suite.nats.url, ns, ['--workers', '1']), startAgent(suite.nats.url, ns, ['--workers', '1'])]);
  });

  it('submit --wait of 20,000 no-op tasks exits 0 with exactly one ok row per task and a summary', async () => {
    const r = await runShoal(['submit', 'spin', '--tasks', '20000', '--ms', '0', ...conn(), '--wait', '--job', 'J1']);
    assert.equal(r.code, 0, r.describe());
    const rows = readRows(join(out, 'J1.jsonl'));
    assertOneRowPerTask(rows, spinIds(20000), { status: 'ok', job: 'J1' });
    for (const row of rows) assert.ok(row.agent === idA || row.agent === idB, `row of ${row.task} names agent ${row.agent}, not ${idA} or ${idB}`);
    const summary = readJson(join(out, 'J1.summary.json'));
    assert.equal(summary.job, 'J1');
    assert.equal(summary.state, 'done');
    assert.equal(summary.ok, 20000);
    assert.equal(summary.error, 0);
  });

  it('submit --wait of 600 tasks × 20 ms exits 0 with one ok row per task, run by both agents', async () => {
    const r = await runShoal(['submit', 'spin', '--tasks', '600', '--sleep', '--ms', '20', ...conn(), '--wait', '--job', 'J2']);
    assert.equal(r.code, 0, r.describe());
    const rows = readRows(join(out, 'J2.jsonl'));
    assertOneRowPerTask(rows, spinIds(600), { status: 'ok', job: 'J2' });
    const byAgent = new Map<string, number>();
    for (const row of rows) byAgent.set(row.agent, (byAgent.get(row.agent) ?? 0) + 1);
    assert.deepEqual([...byAgent.keys()].sort(), [idA, idB].sort(), `rows per agent: ${JSON.stringify([...byAgent])}`);
    assert.ok(existsSync(join(out, 'J2.summary.json')));
  });

  it('a spot agent started after a job began receives tasks; status --json answers while it runs and after', async (t) => {
    // Keep the machine light: agent B drains away (SIGTERM, as Slurm preemption does) and exits 0.
    agentB.kill('SIGTERM');
    assert.deepEqual(await agentB.exited, { code: 0, signal: null }, agentB.describe());

    const sub = await runShoal(['submit', 'spin', '--tasks', '400', '--sleep', '--ms', '25', ...conn(), '--job', 'J3']);
    assert.equal(sub.code, 0, sub.describe());
    assert.equal(sub.stdout.trim(), 'J3');

    const running = await jobStatus(suite.nats.url, ns, 'J3');
    assert.equal(running.state, 'running');
    assert.equal(running.total, 400);
    assert.ok(running.done < running.total, `precondition: J3 must still be running (${running.done}/${running.total})`);

    const spot = spawnShoal(['agent', ...conn(), '--workers', '1', '--spot'], { t });
    const spotId = await agentId(spot);
    assert.ok(spotId.endsWith(`-${spot.pid}`), `spot agent id ${spotId} should end with its pid ${spot.pid}`);

    const all = await shoalJson<{ jobs: Array<{ job: string }>; agents: Array<{ agent: string; spot: boolean }> }>(['status', '--json', ...conn()]);
    assert.ok(all.jobs.some((j) => j.job === 'J3'));
    assert.equal(all.agents.find((a) => a.agent === spotId)?.spot, true, `status lists the spot agent: ${JSON.stringify(all.agents)}`);

    const final = await waitForJobEnd(suite.nats.url, ns, 'J3');
    assert.equal(final.state, 'done');
    assert.equal(final.total, 400);
    assert.equal(final.done, 400);
    assert.equal(final.failed, 0);

    const rows = readRows(join(out, 'J3.jsonl'));
    assertOneRowPerTask(rows, spinIds(400), { status: 'ok', job: 'J3' });
    const bySpot = rows.filter((r) => r.agent === spotId).length;
    assert.ok(bySpot > 0, `no row from the spot agent ${spotId}; agents: ${[...new Set(rows.map((r) => r.agent))].join(', ')}`);
    assert.ok(rows.every((r) => r.agent === idA || r.agent === spotId), 'only agent A and the spot agent ran J3');

    // After the end, status still answers with the final figures.
    const ended = await jobStatus(suite.nats.url, ns, 'J3');
    assert.equal(ended.state, 'done');
    assert.equal(ended.done, ended.total);

    spot.kill('SIGTERM');
    assert.deepEqual(await spot.exited, { code: 0, signal: null }, spot.describe());
  });

  it('the agent and then the coordinator stop on SIGTERM with exit code 0', async () => {
    agentA.kill('SIGTERM');
    assert.deepEqual(await agentA.exited, { code: 0, signal: null }, agentA.describe());
    coord.kill('SIGTERM');
    assert.deepEqual(await coord.exited, { code: 0, signal: null }, coord.describe());
    await coord.waitForLog('coordinator stopping');
  });
});

describe('embedded: shoal run without NATS', () => {
  it('run spin --tasks 5000 --ms 1 --out FILE exits 0 with 5,000 rows, one per task, and the summary beside it', async () => {
    const file = join(suite.dir, 'embedded', 'x.jsonl');
    const r = await runShoal(['run', 'spin', '--tasks', '5000', '--sleep', '--ms', '1', '--out', file]);
    assert.equal(r.code, 0, r.describe());
    const rows = readRows(file);
    assert.equal(rows.length, 5000);
    assertOneRowPerTask(rows, spinIds(5000), { status: 'ok' });
    const summary = readJson(join(suite.dir, 'embedded', 'x.summary.json'));
    assert.equal(summary.state, 'done');
    assert.equal(summary.ok, 5000);
    assert.equal(summary.error, 0);
  });
});

describe('exit codes', () => {
  /** One clear line for the user, no stack trace. */
  function oneLine(stderr: string): string {
    const lines = stderr.trim().split('\n');
    assert.ok(!/^\s+at /m.test(stderr), `stderr shows a stack trace:\n${stderr}`);
    assert.equal(lines.length, 1, `expected one line on stderr:\n${stderr}`);
    return lines[0]!;
  }

  it('status against a NATS URL where nothing listens exits 4', async () => {
    const r = await runShoal(['status', '--nats', 'nats://127.0.0.1:1', '--ns', uniqueNs('nobody')]);
    assert.equal(r.code, 4, r.describe());
    assert.match(oneLine(r.stderr), /127\.0\.0\.1:1/);
  });

  it('run spin --tasks abc exits 2 with a message naming --tasks', async () => {
    const r = await runShoal(['run', 'spin', '--tasks', 'abc', '--out', join(suite.dir, 'never', 'x.jsonl')]);
    assert.equal(r.code, 2, r.describe());
    assert.match(oneLine(r.stderr), /--tasks/);
    assert.match(r.stderr, /abc/);
    assert.equal(existsSync(join(suite.dir, 'never', 'x.jsonl')), false, 'nothing is written for a usage error');
  });
});
