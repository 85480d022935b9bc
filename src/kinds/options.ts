/**
 * Option values, in one place: the one number parser, and TypeBox schemas used as checks whose
 * errors name the option (or the field) and the value. Kinds read their command-line options
 * and check their params from the wire with it; the CLI reads its own numeric options with it.
 *
 * A schema may carry `expected` (words for what it accepts, e.g. 'an absolute path') where the
 * words cannot be derived from its keywords (a pattern).
 *
 * TypeBox's own Value.Convert is not used for numbers: it reads '1.5' as the integer 1 and
 * '1e6' as 1, where a user means a mistake and a million.
 */
import { Kind, Type, type Static, type TObject, type TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { Value } from '@sinclair/typebox/value';
import { InputError, UsageError } from '../errors.js';

const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

/**
 * The one number parser: a number as it is; decimal text (sign, fraction, exponent, spaces
 * around) as its value; anything else (empty, hex, words) as NaN, which no schema accepts.
 */
export function parseNumber(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v !== 'string') return NaN;
  const t = v.trim();
  return DECIMAL.test(t) ? Number(t) : NaN;
}

/** A string option split at commas, blanks dropped (`'1, 2,,3'` → `['1', '2', '3']`). */
export function commaList(text: string): string[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

function range(s: TSchema): string {
  const { minimum: min, exclusiveMinimum: above, maximum: max } = s as { minimum?: number; exclusiveMinimum?: number; maximum?: number };
  if (min !== undefined && max !== undefined) return ` from ${min} to ${max}`;
  if (above !== undefined && max !== undefined) return ` above ${above} and at most ${max}`;
  if (min !== undefined) return ` >= ${min}`;
  if (above !== undefined) return ` > ${above}`;
  if (max !== undefined) return ` <= ${max}`;
  return '';
}

/** What a schema accepts, in words: "an integer >= 1", "'auto' or an integer from 1 to 256". */
export function expected(s: TSchema): string {
  if (typeof s.expected === 'string') return s.expected;
  switch (s[Kind]) {
    case 'Integer':
      return `an integer${range(s)}`;
    case 'Number':
      return `a number${range(s)}`;
    case 'Literal':
      return `'${String(s.const)}'`;
    case 'Union': {
      const words = (s.anyOf as TSchema[]).map(expected);
      return words.length > 1 ? `${words.slice(0, -1).join(', ')} or ${words.at(-1)}` : (words[0] ?? 'nothing');
    }
    case 'Boolean':
      return 'true or false';
    case 'Null':
      return 'null';
    case 'String':
      return s.minLength ? 'a non-empty string' : 'a string';
    case 'Array':
      return `${s.minItems ? 'a non-empty list' : 'a list'} (each item ${expected(s.items as TSchema)})`;
    case 'Record':
    case 'Object':
      return 'an object';
    default:
      return 'a valid value';
  }
}

function acceptsNumber(s: TSchema): boolean {
  if (s[Kind] === 'Union') return (s.anyOf as TSchema[]).some(acceptsNumber);
  return s[Kind] === 'Integer' || s[Kind] === 'Number';
}

/** A command-line value as the schema wants it: text becomes a number where a number is wanted. */
function converted(s: TSchema, raw: unknown): unknown {
  if (Value.Check(s, raw)) return raw;
  return typeof raw === 'string' && acceptsNumber(s) ? parseNumber(raw) : raw;
}

/** The error for a bad command-line value: it names the option and the value (exit code 2). */
export function optionError(flag: string, value: unknown, expectation: string): UsageError {
  return new UsageError(`${flag} must be ${expectation}, got '${String(value)}'`);
}

/** The error for a bad field of params from the wire: it names the kind, the field and the value. */
export function paramsError(kind: string, field: string, value: unknown, expectation: string): InputError {
  return new InputError(`${kind} params: ${field} must be ${expectation}, got ${value === undefined ? 'nothing' : JSON.stringify(value)}`);
}

/**
 * One command-line option's value, checked against its schema: absent gives the schema's
 * default; text becomes a number where one is wanted; an array schema takes a comma list.
 * Throws UsageError naming the option and the value.
 */
export function readOption<T extends TSchema>(flag: string, schema: T, raw: unknown): Static<T> {
  if (raw === undefined) return Value.Default(schema, undefined) as Static<T>;
  if (schema[Kind] === 'Array' && typeof raw === 'string') {
    const items = schema.items as TSchema;
    const value = commaList(raw).map((item) => {
      const v = converted(items, item);
      if (!Value.Check(items, v)) throw new UsageError(`${flag} ${raw}: '${item}' must be ${expected(items)}`);
      return v;
    });
    if (!Value.Check(schema, value)) throw optionError(flag, raw, expected(schema));
    return value as Static<T>;
  }
  const value = converted(schema, raw);
  if (!Value.Check(schema, value)) throw optionError(flag, raw, expected(schema));
  return value as Static<T>;
}

/** A commander argument parser for a numeric option (its errors are UsageErrors: exit code 2). */
export function optionParser<T extends TSchema>(flag: string, schema: T): (raw: string) => Static<T> {
  return (raw) => readOption(flag, schema, raw);
}

/**
 * The check of a kind's params that arrive from another process: fields with a default may be
 * absent; fields the schema does not name are dropped. The returned function throws InputError
 * naming the kind, the field and the value.
 */
export function paramsCheck<T extends TObject>(kind: string, schema: T): (raw: unknown) => Static<T> {
  // Compiled on the first check, not when the kind's module loads: `--help` and the processes
  // that never see the kind's params do not pay for it.
  let compiled: ReturnType<typeof TypeCompiler.Compile<T>> | undefined;
  return (raw) => {
    compiled ??= TypeCompiler.Compile(schema);
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new InputError(`${kind} params: expected an object, got ${raw === null ? 'null' : Array.isArray(raw) ? 'an array' : typeof raw}`);
    const value = Value.Default(schema, Value.Clone(raw));
    if (compiled.Check(value)) return Value.Clean(schema, value) as Static<T>;
    const e = compiled.Errors(value).First()!;
    const field = e.path.replace(/^\//, '').replace(/\//g, '.');
    throw paramsError(kind, field, e.value, expected(e.schema));
  };
}

/** The default a schema states, as commander shows it in --help. */
export function helpDefault(schema: TSchema): string {
  const d: unknown = schema.default;
  return Array.isArray(d) ? d.join(',') : String(d);
}

/** A path that must already be absolute (params from the wire; the CLI makes paths absolute). */
export const AbsolutePath = Type.String({ pattern: '^/', expected: 'an absolute path' });
