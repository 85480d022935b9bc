/**
 * The local agent's first worker thread, started before the command has loaded (main.ts,
 * agents/early/): which command lines start it, and the pool that takes it only when it would
 * have started the same threads itself.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { earlyAgent } from '../../src/cli/early-agent.js';
import { startEarlyThreads, takeEarlyThreads } from '../../agents/early/index.js';
import { WorkerPool } from '../../agents/pool.js';
import { usableCpus } from '../../agents/probe.js';
import type { BundleInput } from '../../agents/worker-types.js';
import { spinKind } from '../../src/kinds/spin/index.js';
import { runShoal } from '../helpers/shoal.js';

const dir = mkdtempSync(join(tmpdir(), 'shoal-early-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('run and pipeline start their agent early; other commands, help, no local agent and handler modules do not', () => {
  const none = {};
  assert.deepEqual(earlyAgent(['run', 'spin', '--tasks', '1'], none), {});
  assert.deepEqual(earlyAgent(['pipeline', 'p.yaml'], none), {});
  assert.deepEqual(earlyAgent(['run', 'spin', '--workers', '3'], none), { workers: 3 });
  assert.deepEqual(earlyAgent(['run', 'spin', '--workers=2', '--tasks', '5'], none), { workers: 2 });
  assert.deepEqual(earlyAgent(['run', 'spin', '--workers', '3', '--workers', '1'], none), { workers: 1 }, 'the last one counts, as in commander');
  for (const args of [
    ['status'],
    ['agent', '--workers', '2'],
    ['run'],
    ['run', '--help'],
    ['run', 'spin', '-h'],
    ['help', 'run'],
    ['run', 'help', 'spin'],
    ['run', 'spin', '--workers', '0', '--nats', 'nats://h:4222'],
    ['run', 'spin', '--nats', 'nats://h:4222'],
    ['run', 'spin', '--nats=nats://h:4222'],
    ['run', 'word-stats', '--handlers', 'ws.mjs', '--inputs', 'files.txt'],
    ['run', 'spin', '--workers', 'many'],
    ['run', 'spin', '--workers'],
  ]) {
    assert.equal(earlyAgent(args, none), null, args.join(' '));
  }
  assert.equal(earlyAgent(['run', 'spin'], { SHOAL_NATS: 'nats://h:4222' }), null, 'SHOAL_NATS: agents elsewhere');
});

const params = spinKind.checkParams({ tasks: 10, ms: 0 });
function bundle(name: string, n: number): BundleInput {
  return {
    job: 'early',
    kind: 'spin',
    params,
    threads: 1,
    agent: 'a',
    host: 'h',
    tasks: Array.from({ length: n }, (_, i) => ({ id: `${name}${i}`, attempt: 1, cost: 0, final: true, ref: { ms: 0, i } })),
    flags: new Int32Array(new SharedArrayBuffer(4 * (n + 2))),
  };
}
const options = (workers: number) => ({ workers, recycleAfter: 0, workerHeapMb: 0, handlers: [], inputCacheMb: 0 });

async function runsBundles(pool: WorkerPool): Promise<void> {
  try {
    const end = await pool.run(bundle('t', 3), new AbortController().signal);
    assert.equal(end.kind, 'done', JSON.stringify(end));
    if (end.kind === 'done') assert.deepEqual([...end.out.group.ids], ['t0', 't1', 't2']);
  } finally {
    await pool.close();
  }
}

test('a pool with the settings the early threads were started with takes them, once', async () => {
  startEarlyThreads(1);
  const pool = new WorkerPool(options(1));
  assert.equal(pool.early, true);
  assert.equal(takeEarlyThreads(options(1)), null, 'taken by the first pool');
  await runsBundles(pool);
});

test('a pool with other settings starts its own threads; the early ones are stopped', async () => {
  startEarlyThreads(1);
  const pool = new WorkerPool(options(2));
  assert.equal(pool.early, false);
  assert.equal(takeEarlyThreads(options(1)), null, 'the early threads are gone');
  await runsBundles(pool);
});

test('no early threads for more workers than usable CPUs (oversubscribing is the agent\'s call) or for none', () => {
  startEarlyThreads(usableCpus() + 1);
  assert.equal(takeEarlyThreads(options(usableCpus() + 1)), null);
  startEarlyThreads(0);
  assert.equal(takeEarlyThreads(options(0)), null);
});

test('shoal run with its thread started early: the rows; a usage error: exit 2, its one message, and the process ends', async () => {
  const out = join(dir, 'early.jsonl');
  const ok = await runShoal(['run', 'spin', '--tasks', '3', '--out', out], { cwd: dir });
  assert.equal(ok.code, 0, ok.describe());
  assert.equal(readFileSync(out, 'utf8').trim().split('\n').length, 3);
  const bad = await runShoal(['run', 'spin', '--tasks', '3', '--no-such-option'], { cwd: dir });
  assert.equal(bad.code, 2, bad.describe());
  assert.match(bad.stderr, /^error: unknown option '--no-such-option'/, bad.describe());
  assert.doesNotMatch(bad.stdout, /\S/, bad.describe());
});
