/**
 * The python kind's interpreter (src/kinds/python/interpreter.ts with python/shoal_worker.py),
 * driven directly: the protocol, what a task prints, exceptions, generators, values JSON has no
 * word for, setup once, a setup that raises, and deaths (os._exit, a segfault).
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { describeExit, Interpreter, SetupFailed, type InterpreterSpec, type PyExit, type PyReply } from '../../src/kinds/python/interpreter.js';
import { pythonEnv } from '../../src/kinds/python/index.js';
import { tempSuite } from '../helpers/suite.js';
import { until } from '../helpers/wait.js';

const scratch = tempSuite('shoal-py-interp-');

const MODULE = `
import os, sys, ctypes
calls = {"setup": 0}
def setup(params):
    calls["setup"] += 1
    if params.get("fail_setup"):
        raise RuntimeError("no model file here")

def fn(x, params):
    if x == "raise":
        raise ValueError("bad input " + x)
    if x == "exit":
        os._exit(3)
    if x == "segv":
        ctypes.string_at(0)
    if x == "print":
        print("hello from the task")
        print("x" * 100000)
        sys.stderr.write("warning: careful\\n")
        return 1
    if x == "nan":
        return {"a": float("nan"), "b": [1.5, float("inf")]}
    if x == "gen":
        return (i * i for i in range(3))
    if x == "setup-count":
        return calls["setup"]
    if x == "env":
        return {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "CUDA_VISIBLE_DEVICES", "SHOAL_THREADS")}
    if x == "object":
        return object()
    return {"echo": x, "n": params.get("n")}

def half_gen(x, params):
    yield 1
    yield 2
    raise KeyError("third")
`;

function spec(fn: string, params: Record<string, unknown> = {}): InterpreterSpec {
  const file = join(scratch.dir, 'mod.py');
  writeFileSync(file, MODULE);
  return { python: 'python3', fn: `${file}:${fn}`, cwd: scratch.dir, params, env: pythonEnv(process.env, 'J', 2, [1, 3]), tail: 64, killGraceS: 0.2 };
}

async function answers(it: Interpreter, inputs: unknown[]): Promise<Array<PyReply | PyExit>> {
  it.run(inputs.map((input, i) => ({ id: `t${i}`, input })));
  const out: Array<PyReply | PyExit> = [];
  for (let i = 0; i < inputs.length; i++) {
    const r = await it.next();
    out.push(r);
    if ('code' in r) break;
  }
  return out;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('python interpreter', () => {
  it('answers each task in order: values, exceptions, generators, NaN as null, prints kept apart', async () => {
    const it = await Interpreter.start(spec('fn', { n: 7 }));
    try {
      assert.match(it.version, /^3\.\d+/);
      const r = (await answers(it, ['a', 'raise', 'gen', 'nan', 'print', 'setup-count', 'setup-count', 'object'])) as PyReply[];
      assert.deepEqual(r.map((x) => x.id), ['t0', 't1', 't2', 't3', 't4', 't5', 't6', 't7']);
      assert.deepEqual(r[0]!.value, { echo: 'a', n: 7 });
      assert.equal(r[1]!.op, 'error');
      assert.equal(r[1]!.error!.type, 'ValueError');
      assert.equal(r[1]!.error!.message, 'bad input raise');
      assert.match(r[1]!.error!.traceback, /mod\.py", line \d+, in fn/);
      assert.deepEqual(r[2]!.records, [0, 1, 4]);
      assert.deepEqual(r[3]!.value, { a: null, b: [1.5, null] });
      assert.equal(r[4]!.value, 1);
      // Only the end of what the task printed, limited to `tail` characters.
      assert.equal(r[4]!.stdout!.length, 64);
      assert.match(r[4]!.stdout!, /^x+\n$/);
      assert.equal(r[4]!.stderr, 'warning: careful\n');
      assert.equal(r[5]!.value, 1, 'setup ran once');
      assert.equal(r[6]!.value, 1, 'setup ran once, still');
      assert.equal(r[7]!.op, 'error');
      assert.match(r[7]!.error!.message, /not JSON-serialisable/);
    } finally {
      await it.close();
    }
  });

  it('sees its threads and GPUs in its environment', async () => {
    const it = await Interpreter.start(spec('fn'));
    try {
      const [r] = (await answers(it, ['env'])) as PyReply[];
      assert.deepEqual(r!.value, { OMP_NUM_THREADS: '2', MKL_NUM_THREADS: '2', CUDA_VISIBLE_DEVICES: '1,3', SHOAL_THREADS: '2' });
    } finally {
      await it.close();
    }
  });

  it('a generator that raises gives its records so far and the error', async () => {
    const it = await Interpreter.start(spec('half_gen'));
    try {
      const [r] = (await answers(it, ['x'])) as PyReply[];
      assert.deepEqual(r!.records, [1, 2]);
      assert.equal(r!.error!.type, 'KeyError');
    } finally {
      await it.close();
    }
  });

  it('a setup that raises is a SetupFailed with its traceback; a missing function too', async () => {
    await assert.rejects(Interpreter.start(spec('fn', { fail_setup: true })), (err: unknown) => {
      assert.ok(err instanceof SetupFailed);
      assert.equal(err.error.type, 'RuntimeError');
      assert.match(err.error.traceback, /in setup/);
      return true;
    });
    await assert.rejects(Interpreter.start(spec('nope')), (err: unknown) => err instanceof SetupFailed && /no function 'nope'/.test(err.error.message));
  });

  it('a death in the middle of a batch: how it ended, and its progress file names the task it ran; nothing of it left', async () => {
    for (const [input, how] of [
      ['exit', /^exited with code 3/],
      ['segv', /^killed by SIGSEGV/],
    ] as const) {
      const it = await Interpreter.start(spec('fn'));
      // 'a' and 'b' are fast: their answers are gathered for the batch's end, which never comes.
      const r = await answers(it, ['a', 'b', input, 'c']);
      const end = r.at(-1) as PyExit;
      assert.ok('code' in end, JSON.stringify(r));
      assert.ok(r.length <= 3, 'no answer after the death');
      assert.match(describeExit(end), how);
      assert.equal(it.begunAtEnd, 3, 'it had begun its third task');
      await until('the interpreter to be gone', () => !pidAlive(it.pid));
    }
  });

  it('close() ends it cleanly; kill() ends it at once', async () => {
    const a = await Interpreter.start(spec('fn'));
    await a.close();
    assert.equal(a.alive, false);
    await until('the closed interpreter to be gone', () => !pidAlive(a.pid));
    const b = await Interpreter.start(spec('fn'));
    b.kill();
    await until('the killed interpreter to be seen gone', async () => 'code' in (await b.next()));
    await until('the killed interpreter to be gone', () => !pidAlive(b.pid));
  });
});
