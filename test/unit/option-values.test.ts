// Option values in one place (src/kinds/options.ts): the one number parser, command-line
// values read against TypeBox schemas, and params from the wire, with errors that name the
// option (or field) and the value.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Type } from '@sinclair/typebox';
import { expected, paramsCheck, parseNumber, readOption } from '../../src/kinds/options.js';

const fails = (code: string, ...parts: string[]) => (err: unknown): boolean => {
  const e = err as { code?: string; message?: string };
  assert.equal(e.code, code, `code of: ${e.message}`);
  for (const p of parts) assert.ok(e.message?.includes(p), `'${e.message}' should name ${p}`);
  return true;
};

describe('the number parser', () => {
  it('reads decimal text with sign, fraction, exponent and spaces around it', () => {
    assert.deepEqual(['7', ' 4 ', '-2', '+3', '2.5', '.5', '5.', '1e6', '2.5E-3'].map(parseNumber), [7, 4, -2, 3, 2.5, 0.5, 5, 1e6, 2.5e-3]);
    assert.equal(parseNumber(12), 12);
  });

  it('gives NaN for anything else: empty, hex, words, several numbers', () => {
    for (const bad of ['', ' ', '0x10', 'abc', '1,5', '1 2', 'Infinity', 'e5', undefined, null, true]) assert.ok(Number.isNaN(parseNumber(bad)), String(bad));
  });
});

describe('command-line values', () => {
  it('become numbers where the schema wants one, literals where it allows them, and the default when absent', () => {
    const threads = Type.Union([Type.Literal('auto'), Type.Integer({ minimum: 1 })], { default: 'auto' });
    assert.equal(readOption('--threads', threads, '3'), 3);
    assert.equal(readOption('--threads', threads, 'auto'), 'auto');
    assert.equal(readOption('--threads', threads, undefined), 'auto');
    assert.equal(readOption('--walks', Type.Integer({ minimum: 1 }), '1e6'), 1_000_000);
    assert.deepEqual(readOption('--list', Type.Array(Type.Integer({ minimum: 0 })), '1, 2,,3'), [1, 2, 3]);
  });

  it('are refused with a UsageError naming the option and the value', () => {
    assert.throws(() => readOption('--ms', Type.Number({ minimum: 0 }), 'abc'), fails('E_USAGE', '--ms must be a number >= 0', "got 'abc'"));
    assert.throws(() => readOption('--n', Type.Integer({ minimum: 1 }), '1.5'), fails('E_USAGE', '--n', "'1.5'"));
    assert.throws(() => readOption('--n', Type.Integer({ minimum: 1 }), '0x10'), fails('E_USAGE', '--n', "'0x10'"));
    assert.throws(() => readOption('--list', Type.Array(Type.Integer({ minimum: 0 })), '1,x'), fails('E_USAGE', '--list 1,x', "'x'"));
  });

  it('are described in words from the schema', () => {
    assert.equal(expected(Type.Integer({ minimum: 1, maximum: 256 })), 'an integer from 1 to 256');
    assert.equal(expected(Type.Number({ exclusiveMinimum: 0, maximum: 0.1 })), 'a number above 0 and at most 0.1');
    assert.equal(expected(Type.Union([Type.Literal('a'), Type.Literal('b'), Type.Literal('c')])), "'a', 'b' or 'c'");
    assert.equal(expected(Type.String({ expected: 'an absolute path' })), 'an absolute path');
  });
});

describe('params from the wire', () => {
  const check = paramsCheck('demo', Type.Object({ n: Type.Integer({ minimum: 1 }), on: Type.Boolean({ default: false }) }));

  it('get the defaults and lose the fields the schema does not name', () => {
    assert.deepEqual(check({ n: 2, stray: 1 }), { n: 2, on: false });
  });

  it('are refused with an InputError naming the kind, the field and the value', () => {
    assert.throws(() => check({ n: 0 }), fails('E_INPUT', 'demo params: n must be an integer >= 1', 'got 0'));
    assert.throws(() => check({}), fails('E_INPUT', 'demo params: n', 'got nothing'));
    assert.throws(() => check(null), fails('E_INPUT', 'demo params'));
    assert.throws(() => check([]), fails('E_INPUT', 'demo params'));
  });
});
