/**
 * A command's process group: a timeout and an abort kill the program and its children, a
 * program that traps SIGTERM gets its grace period, leftovers are swept when the program
 * ends, and — the case no JavaScript can handle — when the worker thread that started it is
 * terminated (piscina does that on cancel), the program dies too.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { after, before, describe, it } from 'node:test';
import { runInGroup, signalOfStatus, type ProcessOptions } from '../../src/kinds/command/index.js';
import { alive } from '../helpers/shoal.js';
import { until } from '../helpers/wait.js';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'shoal-command-process-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function opts(argv: string[], over: Partial<ProcessOptions> = {}): ProcessOptions {
  return { argv, cwd: dir, env: process.env, timeoutMs: 0, killGraceMs: 2000, maxStdout: 1 << 16, stderrTail: 1 << 12, aborted: () => false, ...over };
}


/** Reads the pids a script wrote, one per line, once the file has `n` of them. */
async function pids(file: string, n: number): Promise<number[]> {
  let got: number[] = [];
  await until(`${file} should list ${n} pids`, () => existsSync(file) && (got = readFileSync(file, 'utf8').split('\n').filter(Boolean).map(Number)).length >= n, 10_000, 25);
  return got;
}

/** A program with a child of its own: writes both pids to `file`, then waits. */
const parentAndChild = (file: string): string[] => ['sh', '-c', `sleep 60 & echo $! >> ${file}; echo $$ >> ${file}; wait`];

describe('process group', () => {
  it('reports the exit status, and a signal death as the shell does (128 + n)', async () => {
    const r = await runInGroup(opts(['sh', '-c', 'echo out; echo err >&2; exit 3']));
    assert.equal(r.exit, 3);
    assert.equal(r.signal, null);
    assert.equal(r.stdout, 'out\n');
    assert.equal(r.stderr, 'err\n');
    assert.equal(r.killed, null);
    const s = await runInGroup(opts(['sh', '-c', 'kill -9 $$']));
    assert.equal(s.exit, 137);
    assert.equal(s.signal, 'SIGKILL');
    assert.equal(signalOfStatus(143), 'SIGTERM');
    assert.equal(signalOfStatus(2), null);
  });

  it('a timeout kills the whole group, children included', async () => {
    const file = join(dir, 'timeout.pids');
    const run = runInGroup(opts(parentAndChild(file), { timeoutMs: 300 }));
    const [child, parent] = await pids(file, 2);
    const r = await run;
    assert.equal(r.killed, 'timeout');
    await until(`program ${parent} and its child ${child} should be dead`, () => !alive(child!) && !alive(parent!), 10_000, 25);
  });

  it('a program that traps SIGTERM gets the grace period, then SIGKILL', async () => {
    const file = join(dir, 'trap.pids');
    const script = `trap 'echo got TERM >&2' TERM; echo $$ >> ${file}; while :; do sleep 0.05; done`;
    const r = await runInGroup(opts(['sh', '-c', script], { timeoutMs: 200, killGraceMs: 300 }));
    assert.equal(r.killed, 'timeout');
    assert.match(r.stderr, /got TERM/, 'the program saw SIGTERM first');
    assert.equal(r.signal, 'SIGKILL');
    const [pid] = await pids(file, 1);
    await until(`program ${pid} should be dead`, () => !alive(pid!), 10_000, 25);
  });

  it('the abort flag kills the group', async () => {
    const file = join(dir, 'abort.pids');
    let abort = false;
    const run = runInGroup(opts(parentAndChild(file), { aborted: () => abort }));
    const [child, parent] = await pids(file, 2);
    abort = true;
    const r = await run;
    assert.equal(r.killed, 'aborted');
    await until('the aborted group should be dead', () => !alive(child!) && !alive(parent!), 10_000, 25);
  });

  it('what a program leaves running in its group is killed when it exits', async () => {
    const file = join(dir, 'leftover.pids');
    const r = await runInGroup(opts(['sh', '-c', `sleep 60 >/dev/null 2>&1 & echo $! >> ${file}; echo done`]));
    assert.equal(r.exit, 0);
    assert.equal(r.stdout, 'done\n');
    const [orphan] = await pids(file, 1);
    await until(`the background sleep ${orphan} should have been killed`, () => !alive(orphan!), 10_000, 25);
  });

  it('when the worker thread that started it is terminated, the program and its children die', async () => {
    const file = join(dir, 'thread.pids');
    const mod = new URL('../../src/kinds/command/index.js', import.meta.url).href;
    const code = `
      const { runInGroup } = await import(${JSON.stringify(mod)});
      const { parentPort } = await import('node:worker_threads');
      void runInGroup({ argv: ${JSON.stringify(parentAndChild(file))}, cwd: ${JSON.stringify(dir)}, env: process.env, timeoutMs: 0, killGraceMs: 60000, maxStdout: 100, stderrTail: 100, aborted: () => false });
      parentPort.postMessage('started');
    `;
    const worker = new Worker(new URL(`data:text/javascript,${encodeURIComponent(code)}`));
    await new Promise((r) => worker.once('message', r));
    const [child, parent] = await pids(file, 2);
    assert.ok(alive(child!) && alive(parent!), 'precondition: the program runs');
    await worker.terminate();
    await until(`program ${parent} and child ${child} should die with the thread`, () => !alive(child!) && !alive(parent!), 10_000, 25);
  });
});
