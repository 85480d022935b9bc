/**
 * The command kind fed by another job's rows (`--from JOB`): the template's `{}` is the row's
 * value (a string as it is, else JSON), `{value.KEY}` a top-level key of it, `{#}` the record's
 * index; `--from` replaces `--args` (one of them, never both); a task runs its program with the
 * value and records it as the row's input.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { commandKind, expandStageArgv, type CommandParams } from '../../src/kinds/command/index.js';
import { ShoalError } from '../../src/errors.js';
import type { RunContext } from '../../src/kinds/index.js';
import { kindParams } from '../helpers/kinds.js';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'shoal-command-stage-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const parse = (args: string[]): CommandParams => kindParams(commandKind, args);

const code = (f: () => unknown): string | undefined => {
  try {
    f();
  } catch (err) {
    return (err as ShoalError).code;
  }
  return undefined;
};

describe('command --from', () => {
  it('{} is the value (a string as it is, else JSON), {value.KEY} a key of it, {#} the record index', () => {
    assert.deepEqual(expandStageArgv(['dock', '{}', '{#}'], 'mol.sdf', 2, 't'), ['dock', 'mol.sdf', '2']);
    assert.deepEqual(expandStageArgv(['dock', '--in', '{value.path}', '--n={value.n}', '{}', '{/}'], { path: 'a/b.sdf', n: 3 }, 0, 't'), ['dock', '--in', 'a/b.sdf', '--n=3', '{"path":"a/b.sdf","n":3}', 'b.sdf","n":3}']);
    assert.deepEqual(expandStageArgv(['echo', '{}'], { x: [1, 2] }, 0, 't'), ['echo', '{"x":[1,2]}']);
    assert.deepEqual(expandStageArgv(['echo'], 7, 0, 't'), ['echo', '7'], 'no placeholder: the value is the last argument');
    assert.equal(code(() => expandStageArgv(['dock', '{value.path}'], { other: 1 }, 0, 't')), 'E_INPUT');
    assert.equal(code(() => expandStageArgv(['dock', '{value.path}'], 'plain', 0, 't')), 'E_INPUT');
  });

  it('--from replaces --args: params name the job, the coordinator makes the tasks (stage), never both', () => {
    const p = parse(['--from', 'embed', '--threads', '2', '--', 'dock', '{value.path}']);
    assert.equal(p.from, 'embed');
    assert.equal(p.argsFile, undefined);
    assert.deepEqual(commandKind.checkParams(JSON.parse(JSON.stringify(p))), p, 'the params survive the wire');
    assert.deepEqual(commandKind.stage!(p), { from: 'embed', threads: 2, memory: 0, gpus: 0 });
    assert.deepEqual(commandKind.inputs(p), []);
    assert.equal(code(() => parse(['--from', 'embed', '--args', join(dir, 'x.txt'), '--', 'p'])), 'E_USAGE');
    assert.equal(code(() => parse(['--', 'p'])), 'E_USAGE');
    assert.equal(code(() => commandKind.checkParams({ ...p, from: undefined })), 'E_INPUT');
  });

  it('a task runs its program with the upstream value and records the value as its input', async () => {
    const p = parse(['--from', 'up', '--cwd', dir, '--', 'sh', '-c', 'printf \'{"got":"%s","n":%s}\' "$0" "$1"', '{value.name}', '{#}']);
    const ctx: RunContext = { signal: new AbortController().signal, threads: 1, attempt: 1, job: 'J', task: 'in_1.4' };
    const out = await commandKind.run({ up: 'in_1', i: 4, v: { name: 'ethanol' } }, p, ctx);
    const value = (out as { value: { input: string; stdout: unknown } }).value;
    assert.deepEqual(value.stdout, { got: 'ethanol', n: 4 });
    assert.equal(value.input, '{"name":"ethanol"}');
  });
});
