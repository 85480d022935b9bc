/**
 * The argv template of a command job: placeholders are replaced per line of the --args file,
 * the way GNU parallel spells them, so users can bring their habits along.
 *
 *   {}    the line            {#}   its line number in the file (from 1)
 *   {.}   the line without its extension          {/}   its basename
 *   {//}  its dirname         {/.}  its basename without extension
 *
 * A template with no placeholder at all gets the line appended as its last argument.
 *
 * A job `--from JOB` has no lines: `{}` is the upstream row's value (a string as it is, any
 * other value as JSON), `{value.KEY}` the value's top-level key KEY (the same way), `{#}` the
 * upstream record's index (0 for a task of one row); the path forms take the value's text.
 */
import { InputError } from '../../errors.js';

const PLACEHOLDER = /\{(#|\.|\/|\/\/|\/\.)?\}/g;

/** The line without its extension: `a/b.tar.gz` → `a/b.tar`, `a.d/b` → `a.d/b`, `.rc` → `.rc`. */
function noExt(s: string): string {
  const slash = s.lastIndexOf('/');
  const dot = s.lastIndexOf('.');
  return dot > slash + 1 ? s.slice(0, dot) : s;
}

function basename(s: string): string {
  return s.slice(s.lastIndexOf('/') + 1);
}

function dirname(s: string): string {
  const slash = s.lastIndexOf('/');
  return slash < 0 ? '.' : slash === 0 ? '/' : s.slice(0, slash);
}

function substitute(token: string | undefined, line: string, n: number): string {
  switch (token) {
    case undefined:
      return line;
    case '#':
      return String(n);
    case '.':
      return noExt(line);
    case '/':
      return basename(line);
    case '//':
      return dirname(line);
    case '/.':
      return noExt(basename(line));
    default:
      return line;
  }
}

/** Whether any argument of the template has a placeholder. */
export function hasPlaceholder(template: readonly string[]): boolean {
  return template.some((a) => {
    PLACEHOLDER.lastIndex = 0;
    return PLACEHOLDER.test(a);
  });
}

/** The argv for one line (`n` = its 1-based line number). */
export function expandArgv(template: readonly string[], line: string, n: number): string[] {
  if (!hasPlaceholder(template)) return [...template, line];
  return template.map((a) => a.replace(PLACEHOLDER, (_m, token: string | undefined) => substitute(token, line, n)));
}

const STAGE_PLACEHOLDER = /\{value\.([^{}\s]+)\}|\{(#|\.|\/|\/\/|\/\.)?\}/g;

/** A value as an argument: a string as it is, anything else as JSON. */
export function valueText(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v ?? null);
}

/** The argv for the upstream row value `value` (record `index`) of task `task` of a `--from` job. Throws InputError for a `{value.KEY}` the value lacks. */
export function expandStageArgv(template: readonly string[], value: unknown, index: number, task: string): string[] {
  const text = valueText(value);
  let found = false;
  const out = template.map((a) =>
    a.replace(STAGE_PLACEHOLDER, (_m, key: string | undefined, token: string | undefined) => {
      found = true;
      if (key === undefined) return substitute(token, text, index);
      if (!value || typeof value !== 'object' || Array.isArray(value) || !Object.hasOwn(value, key)) {
        throw new InputError(`task ${task}: the template's {value.${key}} needs an object with the key '${key}', the upstream value is ${text.length > 80 ? `${text.slice(0, 80)}...` : text}`);
      }
      return valueText((value as Record<string, unknown>)[key]);
    }),
  );
  return found ? out : [...template, text];
}
