/**
 * The command kind without a coordinator: the argv template, the option parsing (the words
 * after `--` become the template), params from the wire, expansion of the list file, and
 * what one task's row records (JSON stdout, a failure with its exit code and stderr tail).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { commandKind, expandArgv, parseStdout, taskEnv, type CommandParams, type CommandRef } from '../../src/kinds/command/index.js';
import { ShoalError } from '../../src/errors.js';
import type { RunContext, RunOutput } from '../../src/kinds/index.js';
import { kindParams } from '../helpers/kinds.js';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'shoal-command-kind-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const parse = (args: string[]): CommandParams => kindParams(commandKind, args);

function ctx(task = 'line_1', attempt = 1): RunContext {
  return { signal: new AbortController().signal, threads: 3, attempt, job: 'J', task };
}

/** The stamp params carry for the file as it is now (none yet: a stamp no file has). */
function stamp(path: string): CommandParams['argsStamp'] {
  if (!existsSync(path)) return { size: 0, mtimeMs: 0 };
  const st = statSync(path);
  return { size: st.size, mtimeMs: st.mtimeMs };
}

function params(over: Partial<CommandParams> = {}): CommandParams {
  const argsFile = over.argsFile ?? join(dir, 'list.txt');
  return { argsFile, argsStamp: stamp(argsFile), template: ['true'], cwd: dir, timeoutMs: 0, killGraceMs: 1000, retryFailed: false, threads: 1, memory: 0, gpus: 0, maxStdout: 65536, stderrTail: 4096, ...over };
}

let lists = 0;
/** A list file whose line n is `line`: the ref of its task and params naming the file. */
function task(n: number, line: string, over: Partial<CommandParams>): { ref: CommandRef; p: CommandParams } {
  const argsFile = join(dir, `list-${++lists}.txt`);
  const before = 'filler\n'.repeat(n - 1);
  writeFileSync(argsFile, `${before}${line}\n`);
  const s = Buffer.byteLength(before);
  return { ref: { s, e: s + Buffer.byteLength(line), line: n }, p: params({ ...over, argsFile }) };
}

/** Runs line n (= `line`) of a list file with the params given. */
function runLine(n: number, line: string, over: Partial<CommandParams>, c: RunContext): Promise<RunOutput> {
  const t = task(n, line, over);
  return commandKind.run(t.ref, t.p, c);
}

describe('argv template', () => {
  it('replaces {} {#} {.} {/} {//} {/.} inside arguments', () => {
    assert.deepEqual(expandArgv(['prog', '--in', '{}', '--out', '{.}.json', '-n', '{#}'], 'data/mol_7.sdf', 12), ['prog', '--in', 'data/mol_7.sdf', '--out', 'data/mol_7.json', '-n', '12']);
    assert.deepEqual(expandArgv(['{/}', '{//}', '{/.}', 'x{}y{}'], 'a/b/c.tar.gz', 1), ['c.tar.gz', 'a/b', 'c.tar', 'xa/b/c.tar.gzya/b/c.tar.gz']);
  });

  it('{.} leaves dotted directories and dotfiles alone; {//} of a bare name is .', () => {
    assert.deepEqual(expandArgv(['{.}', '{//}'], 'run.d/input', 1), ['run.d/input', 'run.d']);
    assert.deepEqual(expandArgv(['{.}', '{//}'], '.hidden', 1), ['.hidden', '.']);
  });

  it('appends the line when the template has no placeholder', () => {
    assert.deepEqual(expandArgv(['wc', '-l'], 'f.txt', 3), ['wc', '-l', 'f.txt']);
  });
});

describe('options', () => {
  it('takes everything after -- as the template, options included', () => {
    writeFileSync(join(dir, 'list.txt'), 'a\n');
    const p = parse(['--args', join(dir, 'list.txt'), '--timeout', '2.5', '--threads', '4', '--', 'prog', '--in', '{}', '-h', '--args', 'x']);
    assert.deepEqual(p.template, ['prog', '--in', '{}', '-h', '--args', 'x']);
    assert.equal(p.timeoutMs, 2500);
    assert.equal(p.threads, 4);
    assert.equal(p.argsFile, join(dir, 'list.txt'));
    assert.equal(p.retryFailed, false);
  });

  it('refuses a missing --args, a missing program and bad numbers, naming the option', () => {
    writeFileSync(join(dir, 'list.txt'), 'a\n');
    const code = (args: string[]): string => {
      try {
        parse(args);
      } catch (err) {
        assert.ok(err instanceof ShoalError, String(err));
        return `${err.code} ${err.message}`;
      }
      return 'no error';
    };
    assert.match(code(['--', 'prog']), /^E_USAGE .*--args/);
    assert.match(code(['--args', join(dir, 'list.txt')]), /^E_USAGE .*program/);
    assert.match(code(['--args', join(dir, 'nope.txt'), '--', 'prog']), /^E_INPUT .*nope\.txt/);
    assert.match(code(['--args', join(dir, 'list.txt'), '--timeout', 'soon', '--', 'prog']), /^E_USAGE .*--timeout/);
    assert.match(code(['--args', join(dir, 'list.txt'), '--threads', '0', '--', 'prog']), /^E_USAGE .*--threads/);
  });

  it('--gpus N: each task asks N GPUs (0 unless given); a bad count is refused naming --gpus', () => {
    writeFileSync(join(dir, 'list.txt'), 'a\n');
    assert.equal(parse(['--args', join(dir, 'list.txt'), '--gpus', '2', '--', 'prog']).gpus, 2);
    assert.equal(parse(['--args', join(dir, 'list.txt'), '--', 'prog']).gpus, 0);
    for (const bad of ['-1', '1.5', 'all']) assert.throws(() => parse(['--args', join(dir, 'list.txt'), '--gpus', bad, '--', 'prog']), (e: unknown) => e instanceof ShoalError && e.code === 'E_USAGE' && e.message.includes('--gpus'));
    // Params from an older submitter have no gpus: none.
    const { gpus: _, ...older } = params();
    assert.equal(commandKind.checkParams(older).gpus, 0);
  });

  it('checkParams rejects wire params that are not what params() makes', () => {
    assert.deepEqual(commandKind.checkParams(params()), params());
    for (const bad of [null, { ...params(), template: [] }, { ...params(), cwd: 'relative' }, { ...params(), threads: 0 }, { ...params(), timeoutMs: -1 }]) {
      assert.throws(() => commandKind.checkParams(bad), (e: unknown) => e instanceof ShoalError && e.code === 'E_INPUT');
    }
  });
});

describe('expand', () => {
  it('makes one task per non-blank line, id from the line number, with threads and memory', async () => {
    writeFileSync(join(dir, 'list.txt'), 'a.sdf\r\n\nb.sdf\n  \n' + 'x\n'.repeat(8));
    const tasks = await commandKind.expand(params({ threads: 2, memory: 1024 }), { slots: 1, job: 'J', info: () => undefined });
    assert.equal(tasks.length, 10);
    assert.deepEqual(tasks[0], { id: 'line_01', cost: 1, threads: 2, memory: 1024, ref: { s: 0, e: 5, line: 1 } satisfies CommandRef });
    assert.deepEqual(tasks[1]!.ref, { s: 8, e: 13, line: 3 }, 'a byte range, not the line: blank lines and CR left out');
    assert.equal(tasks.at(-1)!.id, 'line_12');
  });

  it('gives the same tasks by number (expandList): an id finds its task, ids of blank or absent lines none', async () => {
    writeFileSync(join(dir, 'list.txt'), 'a.sdf\r\n\nb.sdf\n  \n' + 'x\n'.repeat(8));
    const list = await commandKind.expandList!(params(), { slots: 1, job: 'J', info: () => undefined });
    assert.equal(list.length, 10);
    assert.deepEqual([list.indexOf('line_03'), list.indexOf('line_12'), list.indexOf('line_3'), list.indexOf('line_02'), list.indexOf('line_13'), list.indexOf('task_1')], [1, 9, -1, -1, -1, -1]);
    assert.equal(list.at(1).id, 'line_03');
  });

  it('pads line numbers to the digits of the last line number of the file: line_1 of 9 lines, line_01 of 10', async () => {
    const ids = async (text: string): Promise<string[]> => {
      writeFileSync(join(dir, 'list.txt'), text);
      return (await commandKind.expand(params(), { slots: 1, job: 'J', info: () => undefined })).map((t) => t.id);
    };
    assert.deepEqual(await ids('x\n'.repeat(9)), ['line_1', 'line_2', 'line_3', 'line_4', 'line_5', 'line_6', 'line_7', 'line_8', 'line_9']);
    assert.deepEqual((await ids('x\n'.repeat(10))).slice(0, 2), ['line_01', 'line_02']);
    assert.deepEqual(await ids('x\n\n\n\n\n\n\n\n\ny\n'), ['line_01', 'line_10'], 'blank lines count: the last line is 10');
  });

  it('a list changed after the job was made is refused at expand, and its tasks fail naming the file and line', async () => {
    writeFileSync(join(dir, 'list.txt'), 'one\ntwo\n');
    const p = params({ template: ['echo', '{}'] });
    const [, second] = await commandKind.expand(p, { slots: 1, job: 'J', info: () => undefined });
    writeFileSync(join(dir, 'list.txt'), 'one\n');
    await assert.rejects(commandKind.expand(p, { slots: 1, job: 'J', info: () => undefined }), (e: unknown) => e instanceof ShoalError && e.code === 'E_INPUT' && e.message.includes('changed since the job was submitted'));
    await assert.rejects(commandKind.run(second!.ref, p, ctx('line_2')), (e: unknown) => e instanceof ShoalError && e.code === 'E_INPUT' && e.message.startsWith(join(dir, 'list.txt')) && e.message.includes('changed'));
  });

  it('gives each task the GPUs of --gpus, and none without it', async () => {
    writeFileSync(join(dir, 'list.txt'), 'a\nb\n');
    const [t] = await commandKind.expand(params({ gpus: 2 }), { slots: 1, job: 'J', info: () => undefined });
    assert.equal(t!.gpus, 2);
    const [plain] = await commandKind.expand(params(), { slots: 1, job: 'J', info: () => undefined });
    assert.equal(plain!.gpus, undefined);
  });

  it('refuses a list with no line', async () => {
    writeFileSync(join(dir, 'empty.txt'), '\n \n');
    await assert.rejects(commandKind.expand(params({ argsFile: join(dir, 'empty.txt') }), { slots: 1, job: 'J', info: () => undefined }), (e: unknown) => e instanceof ShoalError && e.code === 'E_INPUT');
  });
});

describe('run', () => {
  it('records exit 0, the duration, stdout parsed as JSON, the end of stderr; the task sees its environment and cwd', async () => {
    const script = 'printf \'{"in":"%s","n":%s,"task":"%s","job":"%s","attempt":%s,"threads":%s,"omp":%s,"cwd":"%s"}\' "$1" "$2" "$SHOAL_TASK_ID" "$SHOAL_JOB" "$SHOAL_ATTEMPT" "$SHOAL_THREADS" "$OMP_NUM_THREADS" "$PWD"; echo warming up >&2';
    const out = await runLine(5, 'mol 5.sdf', { template: ['sh', '-c', script, 'sh', '{}', '{#}'] }, ctx('line_5', 2));
    assert.ok('value' in out);
    const v = out.value as { input: string; exit: number; ms: number; stdout: Record<string, unknown>; stderr: string };
    assert.equal(v.input, 'mol 5.sdf');
    assert.equal(v.exit, 0);
    assert.ok(v.ms > 0);
    assert.deepEqual(v.stdout, { in: 'mol 5.sdf', n: 5, task: 'line_5', job: 'J', attempt: 2, threads: 3, omp: 3, cwd: dir });
    assert.equal(v.stderr, 'warming up\n');
  });

  it("shows a task's process exactly its GPUs in CUDA_VISIBLE_DEVICES and SHOAL_GPUS, and leaves them alone without GPUs", async () => {
    const show = ['sh', '-c', 'printf "%s|%s" "${CUDA_VISIBLE_DEVICES-unset}" "${SHOAL_GPUS-unset}"'];
    const given = await runLine(1, 'x', { template: show, gpus: 2 }, { ...ctx(), gpus: [1, 3] });
    assert.equal((given as { value: { stdout: unknown } }).value.stdout, '1,3|1,3');
    assert.deepEqual(taskEnv({ CUDA_VISIBLE_DEVICES: '0,1,2,3' }, { ...ctx(), gpus: [2] }).CUDA_VISIBLE_DEVICES, '2');
    const none = taskEnv({}, ctx());
    assert.equal('CUDA_VISIBLE_DEVICES' in none || 'SHOAL_GPUS' in none, false);
  });

  it('keeps non-JSON stdout as text, and cuts long stdout without parsing it', async () => {
    const text = await runLine(1, 'x', { template: ['echo', 'hello {}'] }, ctx());
    assert.equal((text as { value: { stdout: unknown } }).value.stdout, 'hello x\n');
    const long = await runLine(1, 'x', { template: ['sh', '-c', 'printf "[%s" 1; i=0; while [ $i -lt 300 ]; do printf ",1"; i=$((i+1)); done; printf "]"'], maxStdout: 100 }, ctx());
    const v = (long as { value: { stdout: unknown; stdoutTruncated?: boolean } }).value;
    assert.equal(typeof v.stdout, 'string');
    assert.equal((v.stdout as string).length, 100);
    assert.equal(v.stdoutTruncated, true);
    assert.deepEqual(parseStdout('  {"a":1}\n', false), { a: 1 });
    assert.equal(parseStdout('{"a":1}\n{"a":2}\n', false), '{"a":1}\n{"a":2}\n');
  });

  it('a non-zero exit is a final E_EXIT error with the exit code and the stderr tail; retryable only with retryFailed', async () => {
    const failing = ['sh', '-c', 'i=0; while [ $i -lt 50 ]; do echo "noise line $i" >&2; i=$((i+1)); done; echo "bad input: $1" >&2; exit 7', 'sh', '{}'];
    for (const retryFailed of [false, true]) {
      await assert.rejects(runLine(1, 'mol_9', { template: failing, stderrTail: 64, retryFailed }, ctx()), (e: unknown) => {
        assert.ok(e instanceof ShoalError);
        assert.equal(e.code, 'E_EXIT');
        assert.equal(e.retryable, retryFailed);
        assert.match(e.message, /exited with code 7/);
        assert.match(e.message, /bad input: mol_9/);
        assert.doesNotMatch(e.message, /noise line 1\b/, 'only the tail of stderr');
        return true;
      });
    }
  });

  it('a program that does not exist is an E_EXIT error (127) naming it', async () => {
    await assert.rejects(runLine(1, 'x', { template: ['./no-such-program-here', '{}'] }, ctx()), (e: unknown) => e instanceof ShoalError && e.code === 'E_EXIT' && /code 127/.test(e.message) && /no-such-program-here/.test(e.message));
  });
});
