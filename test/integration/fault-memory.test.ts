/**
 * Memory guard: an agent stops pulling while available memory is below --min-free-memory
 * and pulls again when it recovers, logging each change once. The pressure is real: a side
 * process allocates and touches several GB, so the kernel's MemAvailable drops below a
 * threshold set just under what was available when the agent started.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { assertOneRowPerTask, readRows, spinIds } from '../helpers/rows.js';
import { runShoal, connArgs, type Agent } from '../helpers/shoal.js';
import { natsSuite } from '../helpers/suite.js';
import { logsOf, rowsSoFar, stopAgent } from '../helpers/faults.js';
import { until } from '../helpers/wait.js';

const GiB = 2 ** 30;

let hog: ChildProcess | null = null;

const suite = natsSuite('shoal-fault-memory-', {
  cleanup: async () => {
    hog?.kill('SIGKILL');
  },
});

/** MemAvailable from /proc/meminfo, in bytes. */
function memAvailable(): number {
  const m = /^MemAvailable:\s+(\d+) kB$/m.exec(readFileSync('/proc/meminfo', 'utf8'));
  assert.ok(m, 'no MemAvailable in /proc/meminfo');
  return Number(m[1]) * 1024;
}

/**
 * A process that allocates `bytes` in 256 MiB buffers, writes every page, says 'ready' and
 * holds them until it is killed or its stdin closes (so it never outlives the test).
 */
function allocate(bytes: number): Promise<ChildProcess> {
  const chunks = Math.ceil(bytes / (256 * 2 ** 20));
  const code = `const keep = []; for (let i = 0; i < ${chunks}; i++) keep.push(Buffer.alloc(256 * 2 ** 20, i + 1)); console.log('ready'); process.stdin.resume().on('end', () => process.exit(0));`;
  const child = spawn(process.execPath, ['-e', code], { stdio: ['pipe', 'pipe', 'inherit'] });
  process.once('exit', () => child.kill('SIGKILL'));
  return new Promise((resolve, reject) => {
    child.once('exit', (c) => reject(new Error(`the allocating process exited (${c}) before it was ready`)));
    child.stdout!.once('data', () => resolve(child));
  });
}

describe('memory guard', () => {
  it('below --min-free-memory the agent stops pulling; when memory recovers it pulls again; each change logged once', async () => {
    const { ns, out, agents, ctl } = await suite.coordinator('memory');
    // Just under what is available now: a few GB taken by another process push it below.
    const threshold = memAvailable() - 1.5 * GiB;
    assert.ok(threshold > 2 * GiB, `precondition: this test needs some 6 GB of available memory (has ${(memAvailable() / GiB).toFixed(1)} GB)`);
    const [m] = (await agents(1, ['--workers', '1', '--min-free-memory', (threshold / GiB).toFixed(3)])) as [Agent];

    const tasks = 400;
    const sub = await runShoal(['submit', 'spin', '--tasks', String(tasks), '--sleep', '--ms', '20', '--no-speculate', ...connArgs(suite.nats.url, ns), '--job', 'M1']);
    assert.equal(sub.code, 0, sub.describe());
    const file = join(out, 'M1.jsonl');
    await until('progress', () => rowsSoFar(file).length >= 20, 20_000);

    hog = await allocate(4 * GiB);
    await m.proc.waitForLog('free memory below --min-free-memory: not pulling', 15_000);
    // What the agent held when it paused finishes: no lease is left open, every result is written.
    const { settled } = await until('the agent to finish what it held', async () => {
      const j = await ctl.job('M1');
      return j.running === 0 && rowsSoFar(file).length === j.done ? { settled: j.done } : null;
    }, 15_000);
    // Then nothing moves while memory is short: the agent is heard from twice more (heartbeats).
    let beats = 0;
    let lastSeenMs = Infinity;
    await until('two more heartbeats from the paused agent', async () => {
      const seen = (await ctl.agent(m.id))?.lastSeenMs ?? Infinity;
      if (seen < lastSeenMs) beats++;
      lastSeenMs = seen;
      return beats > 2;
    }, 20_000);
    const stalled = await ctl.job('M1');
    assert.equal(stalled.state, 'running');
    assert.equal(rowsSoFar(file).length, settled, 'no task ran while memory was short');
    assert.equal(stalled.done, settled);
    assert.ok(stalled.queued > 0, `work was waiting (${JSON.stringify(stalled)})`);

    hog.kill('SIGKILL');
    hog = null;
    await m.proc.waitForLog('free memory recovered: pulling again', 15_000);
    const final = await ctl.waitEnd('M1');
    assert.equal(final.state, 'done', JSON.stringify(final));
    assertOneRowPerTask(readRows(file), spinIds(tasks), { status: 'ok', job: 'M1' });

    assert.equal(logsOf(m.proc, 'free memory below --min-free-memory: not pulling').length, 1, m.proc.describe());
    assert.equal(logsOf(m.proc, 'free memory recovered: pulling again').length, 1, m.proc.describe());
    assert.equal(await stopAgent(m.proc), tasks);
  });
});
