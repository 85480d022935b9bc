/**
 * The python kind end to end: a function over 10,000 inputs embedded and over a real
 * nats-server with two agents (one row per input, setup once per interpreter, the pid in each
 * row), a generator's records, and the faults done for real: an exception, os._exit and a
 * segfault in the middle of a batch, a task over --timeout, a setup that raises, a cancel during
 * a 30 s task, a drain, and an interpreter printing megabytes. No interpreter outlives its agent.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { assertOneRowPerTask, readRows, type Row } from '../helpers/rows.js';
import { alive, jobStatus, runShoal, shoalJson, waitForJobEnd, type Agent } from '../helpers/shoal.js';
import { natsSuite, type Run } from '../helpers/suite.js';
import { until } from '../helpers/wait.js';

const suite = natsSuite('shoal-python-');

const MODULE = `
import os, sys, time, ctypes
state = {"setup": 0}

def setup(params):
    state["setup"] += 1
    if params.get("fail_setup"):
        raise RuntimeError("cannot load the model: weights.pt missing")

def score(x, params):
    return {"x": x, "len": len(x), "scale": params.get("scale"), "setup": state["setup"], "pid": os.getpid()}

def row(x, params):
    return {"keys": sorted(x), "name": x["name"], "note": x["note"]}

def flaky(x, params):
    mark = os.path.join(params["marks"], x)
    if x == "b" and not os.path.exists(mark):
        os.makedirs(params["marks"], exist_ok=True)
        open(mark, "w").close()
        raise RuntimeError("flaky on its first attempt")
    return x

def chunks(x, params):
    for i in range(int(x)):
        yield {"part": i}

def faulty(x, params):
    if x == "raise":
        raise ValueError("cannot score " + x)
    if x == "exit":
        os._exit(1)
    if x == "segv":
        ctypes.string_at(0)
    if x == "slow":
        time.sleep(30)
    if x == "loud":
        os.write(1, b"y" * (8 << 20))
        print("z" * (4 << 20))
        print("last words")
    with open(params["pids"], "a") as f:
        f.write(f"{os.getpid()}\\n")
    return x

def on_gpu(x, params):
    t0 = time.time()
    time.sleep(0.05)
    return {"cvd": os.environ.get("CUDA_VISIBLE_DEVICES"), "pid": os.getpid(), "t0": t0, "t1": time.time()}

def sleeper(x, params):
    with open(params["pids"], "a") as f:
        f.write(f"{os.getpid()}\\n")
    time.sleep(float(x))
    return x
`;

const ids = (n: number): string[] => Array.from({ length: n }, (_, i) => `in_${String(i).padStart(String(n).length, '0')}`);
const pidsIn = (file: string): number[] => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean).map(Number) : []);
const pidsOf = (rows: readonly Row[]): number[] => [...new Set(rows.map((r) => r.pid as number).filter((p) => typeof p === 'number'))];

describe('python tasks', () => {
  let fn: string;
  let inputs: string;
  before(() => {
    fn = join(suite.dir, 'mod.py');
    writeFileSync(fn, MODULE);
    inputs = join(suite.dir, 'words.txt');
    writeFileSync(inputs, Array.from({ length: 10_000 }, (_, i) => `word${i}`).join('\n') + '\n');
  });

  /** Each row's value is the function's; setup ran once in the interpreter that ran it. */
  function checkScores(rows: Row[]): void {
    assertOneRowPerTask(rows, ids(10_000), { status: 'ok' });
    for (const r of rows) {
      const v = r.value as { x: string; len: number; scale: number; setup: number; pid: number };
      const i = Number(r.task.slice(3));
      assert.deepEqual(v, { x: `word${i}`, len: `word${i}`.length, scale: 2, setup: 1, pid: r.pid }, r.task);
    }
  }

  it('embedded: 10,000 inputs, one ok row each, setup once per interpreter; a generator gives index and of', async () => {
    const out = join(suite.dir, 'embedded.jsonl');
    const r = await runShoal(['run', 'python', '--fn', 'mod.py:score', '--inputs', inputs, '--params', '{"scale": 2}', '--workers', '2', '--out', out], { cwd: suite.dir });
    assert.equal(r.code, 0, r.describe());
    checkScores(readRows(out));

    const counts = join(suite.dir, 'counts.jsonl');
    writeFileSync(counts, '3\n1\n2\n');
    const gout = join(suite.dir, 'gen.jsonl');
    const g = await runShoal(['run', 'python', '--fn', `${fn}:chunks`, '--inputs', counts, '--out', gout], { cwd: suite.dir });
    assert.equal(g.code, 0, g.describe());
    const rows = readRows(gout);
    const got = rows.map((x) => [x.task, x.index, x.of, (x.value as { part: number }).part]).sort();
    assert.deepEqual(got, [
      ['in_0', 0, 3, 0],
      ['in_0', 1, 3, 1],
      ['in_0', 2, 3, 2],
      ['in_1', 0, 1, 0],
      ['in_2', 0, 2, 0],
      ['in_2', 1, 2, 1],
    ]);
  });

  it('embedded: a csv with quoted fields, commas and newlines in them, each row an object keyed by the header', async () => {
    const csv = join(suite.dir, 'mols.csv');
    writeFileSync(csv, 'name,note\r\n"aspirin, 81 mg","says ""take with food"""\r\nwater,"two\nlines"\n');
    const out = join(suite.dir, 'csv.jsonl');
    const r = await runShoal(['run', 'python', '--fn', 'mod.py:row', '--inputs', csv, '--out', out], { cwd: suite.dir });
    assert.equal(r.code, 0, r.describe());
    const rows = readRows(out).sort((a, b) => a.task.localeCompare(b.task));
    assert.deepEqual(
      rows.map((x) => [x.task, x.value]),
      [
        ['in_0', { keys: ['name', 'note'], name: 'aspirin, 81 mg', note: 'says "take with food"' }],
        ['in_1', { keys: ['name', 'note'], name: 'water', note: 'two\nlines' }],
      ],
    );
  });

  it('embedded: --recycle-after N starts a fresh interpreter after N tasks; --retry-failed runs a raising task again', async () => {
    const list = join(suite.dir, 'ten.txt');
    writeFileSync(list, Array.from({ length: 10 }, (_, i) => `r${i}`).join('\n') + '\n');
    const out = join(suite.dir, 'recycle.jsonl');
    const r = await runShoal(['run', 'python', '--fn', 'mod.py:score', '--inputs', list, '--params', '{"scale": 2}', '--workers', '1', '--recycle-after', '3', '--out', out], { cwd: suite.dir });
    assert.equal(r.code, 0, r.describe());
    const rows = readRows(out);
    const perPid = new Map<number, number>();
    for (const x of rows) perPid.set(x.pid as number, (perPid.get(x.pid as number) ?? 0) + 1);
    assert.ok([...perPid.values()].every((n) => n <= 3), `at most 3 tasks an interpreter: ${JSON.stringify([...perPid])}`);
    assert.ok(perPid.size >= 4, `10 tasks, 3 an interpreter: at least 4 interpreters (${perPid.size})`);
    assert.ok(rows.every((x) => (x.value as { setup: number }).setup === 1), 'each fresh interpreter ran setup once');

    const marks = join(suite.dir, 'marks');
    const flaky = join(suite.dir, 'flaky.txt');
    writeFileSync(flaky, 'a\nb\nc\n');
    const fout = join(suite.dir, 'flaky.jsonl');
    const f = await runShoal(['run', 'python', '--fn', 'mod.py:flaky', '--inputs', flaky, '--params', JSON.stringify({ marks }), '--retry-failed', '--max-attempts', '2', '--out', fout], { cwd: suite.dir });
    assert.equal(f.code, 0, f.describe());
    const frows = readRows(fout);
    assertOneRowPerTask(frows, ['in_0', 'in_1', 'in_2'], { status: 'ok' });
    assert.equal(frows.find((x) => x.task === 'in_1')!.attempt, 2, 'b raised once and ran again');
    assert.equal(frows.find((x) => x.task === 'in_0')!.attempt, 1);
  });

  it('embedded: an interpreter that cannot be started fails the job with what the shell said, exit 2', async () => {
    const small = join(suite.dir, 'two.txt');
    writeFileSync(small, 'a\nb\n');
    const out = join(suite.dir, 'nopython.jsonl');
    const r = await runShoal(['run', 'python', '--fn', 'mod.py:score', '--inputs', small, '--python', '/nonexistent/python3', '--out', out, '--json'], { cwd: suite.dir });
    assert.equal(r.code, 2, r.describe());
    const final = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { state: string; error?: string };
    assert.equal(final.state, 'failed');
    assert.match(String(final.error), /\/nonexistent\/python3 ended before it was ready \(exited with code 127; stderr tail: .*not found/);
  });

  describe('with GPUs', () => {
    it('two agents declaring GPUs 0-3, one GPU per task: each interpreter sees its own, never two at once on one GPU, all four used', async () => {
      const run = await suite.coordinator('python-gpus');
      const agents = await run.agents(2, ['--workers', '4', '--gpus', '0,1,2,3', '--allow-command']);
      const list = join(suite.dir, 'gpu.txt');
      writeFileSync(list, Array.from({ length: 120 }, (_, i) => `g${i}`).join('\n') + '\n');
      const r = await runShoal(['submit', 'python', ...suite.conn(run.ns), '--job', 'G1', '--fn', 'mod.py:on_gpu', '--inputs', list, '--gpus', '1', '--wait'], { cwd: suite.dir, timeoutMs: 120_000 });
      assert.equal(r.code, 0, r.describe());
      const rows = readRows(join(run.out, 'G1.jsonl'));
      assertOneRowPerTask(rows, ids(120), { status: 'ok' });
      const spans = new Map<string, Array<[number, number, string]>>();
      const pidGpu = new Map<number, string>();
      for (const x of rows) {
        const v = x.value as { cvd: string; pid: number; t0: number; t1: number };
        assert.match(v.cvd, /^[0-3]$/, `${x.task} saw exactly one GPU (${v.cvd})`);
        assert.equal(pidGpu.get(v.pid) ?? v.cvd, v.cvd, `interpreter ${v.pid} kept its GPU`);
        pidGpu.set(v.pid, v.cvd);
        const key = `${x.agent} GPU ${v.cvd}`;
        spans.set(key, [...(spans.get(key) ?? []), [v.t0, v.t1, x.task]]);
      }
      for (const [key, list] of spans) {
        list.sort((a, b) => a[0] - b[0]);
        for (let i = 1; i < list.length; i++) assert.ok(list[i]![0] >= list[i - 1]![1], `${key}: ${list[i - 1]![2]} and ${list[i]![2]} overlap`);
      }
      const used = new Set(rows.map((x) => (x.value as { cvd: string }).cvd));
      assert.deepEqual([...used].sort(), ['0', '1', '2', '3']);
      assert.deepEqual(new Set(rows.map((x) => x.agent)), new Set(agents.map((a) => a.id)));
      // The out dir is the suite's: its coordinator goes before the next block starts one there.
      for (const p of [...agents.map((a) => a.proc), run.coord]) {
        p.kill('SIGTERM');
        await p.exited;
      }
    });
  });

  describe('over NATS', () => {
    let run: Run;
    let agents: Agent[];
    const conn = (): string[] => suite.conn(run.ns);
    const allPids: number[] = [];

    before(async () => {
      run = await suite.coordinator('python');
      agents = await run.agents(2, ['--workers', '2', '--allow-command']);
    });

    it('two agents: 10,000 inputs, one ok row each, both agents, setup once per interpreter', async () => {
      const r = await runShoal(['submit', 'python', ...conn(), '--job', 'P1', '--fn', 'mod.py:score', '--inputs', inputs, '--params', '{"scale": 2}', '--wait'], { cwd: suite.dir });
      assert.equal(r.code, 0, r.describe());
      const rows = readRows(join(run.out, 'P1.jsonl'));
      checkScores(rows);
      assert.deepEqual(new Set(rows.map((x) => x.agent)), new Set(agents.map((a) => a.id)), 'both agents ran tasks');
      allPids.push(...pidsOf(rows));
    });

    it('interpreters idle for --idle seconds after their job are stopped, their memory and GPUs freed', async () => {
      const small = join(suite.dir, 'small.txt');
      writeFileSync(small, 'a\nb\nc\nd\n');
      const r = await runShoal(['submit', 'python', ...conn(), '--job', 'P0', '--fn', 'mod.py:score', '--inputs', small, '--params', '{"scale": 2}', '--idle', '0.5', '--wait'], { cwd: suite.dir });
      assert.equal(r.code, 0, r.describe());
      const pids = pidsOf(readRows(join(run.out, 'P0.jsonl')));
      assert.ok(pids.length >= 1);
      await until(() => `the idle interpreters to stop (alive: ${pids.filter(alive).join(', ')})`, () => pids.every((p) => !alive(p)));
      assert.ok(agents.every((a) => a.proc.alive), 'the agents run on');
    });

    it("status shows each agent's python3", async () => {
      const version = execFileSync('python3', ['--version'], { encoding: 'utf8' }).trim().replace(/^Python /, '');
      const st = await shoalJson<{ agents: Array<{ agent: string; python?: string }> }>(['status', '--json', ...conn()]);
      for (const a of agents) assert.equal(st.agents.find((x) => x.agent === a.id)?.python, version, JSON.stringify(st.agents));
      const human = await runShoal(['status', ...conn()]);
      assert.match(human.stdout, new RegExp(`PYTHON[\\s\\S]*${version.replace(/\./g, '\\.')}`), human.describe());
    });

    it('an exception, os._exit and a segfault mid-batch, a timeout, megabytes printed: each recorded, the rest not charged', async () => {
      const list = join(suite.dir, 'faulty.txt');
      const pids = join(suite.dir, 'faulty.pids');
      const words = Array.from({ length: 80 }, (_, i) => ({ 5: 'raise', 17: 'exit', 29: 'segv', 41: 'slow', 50: 'loud' })[i] ?? `w${i}`);
      writeFileSync(list, words.join('\n') + '\n');
      const r = await runShoal(['submit', 'python', ...conn(), '--job', 'P2', '--fn', 'mod.py:faulty', '--inputs', list, '--params', JSON.stringify({ pids }), '--timeout', '3', '--wait'], { cwd: suite.dir, timeoutMs: 120_000 });
      assert.equal(r.code, 1, `done with failed tasks\n${r.describe()}`);
      const rows = readRows(join(run.out, 'P2.jsonl'));
      assertOneRowPerTask(rows, ids(80));
      const by = new Map(rows.map((x) => [x.task, x]));
      const err = (t: string): { code: string; message: string } => (by.get(t)!.error as { code: string; message: string });

      assert.equal(err('in_05').code, 'E_EXCEPTION');
      assert.equal(by.get('in_05')!.attempt, 1, 'an exception is final without --retry-failed');
      assert.match(err('in_05').message, /^ValueError: cannot score raise\n[\s\S]*mod\.py", line \d+, in faulty/);
      assert.deepEqual(by.get('in_05')!.input, { record: 5, line: 6, text: 'raise' }, 'the error row says which record it was for');
      assert.deepEqual(by.get('in_29')!.input, { record: 29, line: 30, text: 'segv' });

      for (const [t, how] of [
        ['in_17', /died running this task: exited with code 1/],
        ['in_29', /died running this task: killed by SIGSEGV/],
      ] as const) {
        assert.equal(err(t).code, 'E_CRASH', t);
        assert.equal(by.get(t)!.attempt, 3, `${t}: a crash is retried up to --max-attempts`);
        assert.match(err(t).message, how);
      }
      assert.equal(err('in_41').code, 'E_TASK_TIMEOUT');
      assert.match(err('in_41').message, /^timed out after 3s/);
      assert.equal(by.get('in_41')!.attempt, 1);

      const loud = by.get('in_50')!;
      assert.equal(loud.status, 'ok');
      assert.equal(loud.stdout, `${'z'.repeat(2048 - 'last words\n'.length - 1)}\nlast words\n`);

      const fine = rows.filter((x) => !['in_05', 'in_17', 'in_29', 'in_41'].includes(x.task));
      assert.equal(fine.length, 76);
      for (const x of fine) {
        assert.equal(x.status, 'ok', x.task);
        assert.equal(x.attempt, 1, `${x.task} was handed back, not charged, when its interpreter died`);
      }
      allPids.push(...pidsOf(rows), ...pidsIn(pids));
    });

    it('a setup that raises fails the job fast with its traceback in status; exit 2', async () => {
      const r = await runShoal(['submit', 'python', ...conn(), '--job', 'P3', '--fn', 'mod.py:score', '--inputs', inputs, '--params', '{"fail_setup": true}', '--wait'], { cwd: suite.dir });
      assert.equal(r.code, 2, r.describe());
      const j = await jobStatus(suite.nats.url, run.ns, 'P3');
      assert.equal(j.state, 'failed');
      assert.match(String(j.error), /setup failed .*RuntimeError: cannot load the model: weights\.pt missing[\s\S]*in setup/);
      assert.match(r.stdout + r.stderr, /error: +setup failed/);
      const rows = existsSync(join(run.out, 'P3.jsonl')) ? readRows(join(run.out, 'P3.jsonl')) : [];
      assert.ok(rows.length < 10_000, 'the job stopped early');
      assert.ok(rows.every((x) => x.status === 'ok'), 'no row carries the setup error');
    });

    it('a cancel during 30 s tasks ends their interpreters', async () => {
      const list = join(suite.dir, 'sleepy.txt');
      const pids = join(suite.dir, 'sleepy.pids');
      writeFileSync(list, Array.from({ length: 8 }, () => '30').join('\n') + '\n');
      const sub = await runShoal(['submit', 'python', ...conn(), '--job', 'P4', '--fn', 'mod.py:sleeper', '--inputs', list, '--params', JSON.stringify({ pids }), '--granularity', 'task'], { cwd: suite.dir });
      assert.equal(sub.code, 0, sub.describe());
      await until(() => `4 sleepers to start (${pidsIn(pids).join(', ')})`, () => pidsIn(pids).length >= 4, 30_000);
      const c = await runShoal(['cancel', 'P4', ...conn()]);
      assert.equal(c.code, 0, c.describe());
      await until(() => `the sleepers' interpreters to end (alive: ${pidsIn(pids).filter(alive).join(', ')})`, () => pidsIn(pids).every((p) => !alive(p)));
      assert.equal((await waitForJobEnd(suite.nats.url, run.ns, 'P4')).state, 'cancelled');
      allPids.push(...pidsIn(pids));
    });

    it('a drained agent stops its interpreters; the job ends on the other with one row per task', async () => {
      const list = join(suite.dir, 'short.txt');
      const pids = join(suite.dir, 'short.pids');
      writeFileSync(list, Array.from({ length: 40 }, () => '0.2').join('\n') + '\n');
      const sub = await runShoal(['submit', 'python', ...conn(), '--job', 'P5', '--fn', 'mod.py:sleeper', '--inputs', list, '--params', JSON.stringify({ pids })], { cwd: suite.dir });
      assert.equal(sub.code, 0, sub.describe());
      await until(() => 'tasks to start', () => pidsIn(pids).length >= 4, 30_000);
      const [a, b] = agents as [Agent, Agent];
      const d = await runShoal(['drain', a.id, ...conn(), '--grace', '10']);
      assert.equal(d.code, 0, d.describe());
      assert.deepEqual(await a.proc.exited, { code: 0, signal: null }, a.proc.describe());
      const final = await waitForJobEnd(suite.nats.url, run.ns, 'P5', { timeoutMs: 60_000 });
      assert.equal(final.state, 'done');
      const rows = readRows(join(run.out, 'P5.jsonl'));
      assertOneRowPerTask(rows, ids(40), { status: 'ok' });
      const drainedPids = pidsOf(rows.filter((x) => x.agent === a.id));
      await until(() => `the drained agent's interpreters to end (alive: ${drainedPids.filter(alive).join(', ')})`, () => drainedPids.every((p) => !alive(p)));
      allPids.push(...pidsIn(pids));
      // Then the last agent goes: nothing of any interpreter may be left.
      await runShoal(['drain', b.id, ...conn(), '--grace', '1']);
      assert.deepEqual(await b.proc.exited, { code: 0, signal: null }, b.proc.describe());
      const left = [...new Set(allPids)].filter(alive);
      await until(() => `no interpreter to outlive its agent (alive: ${left.filter(alive).join(', ')})`, () => left.every((p) => !alive(p)));
    });
  });
});
