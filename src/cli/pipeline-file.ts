/**
 * A pipeline file: named stages, each one job of a kind with its options, fed by another
 * stage (`from`) or waiting for others (`after`). Read with the `yaml` package (line and column
 * of a syntax error), checked whole before anything is submitted: every problem is one line
 * naming the file, the stage and the field.
 *
 *   name: campaign            # optional: jobs are named <name>.<stage> (else <stage>)
 *   stages:
 *     - name: confs
 *       kind: python
 *       options: { fn: gen.py:conformers, inputs: ligands.smi }
 *     - name: score
 *       kind: python
 *       from: confs           # one task per committed row of confs, as it commits
 *       priority: 1
 *       options: { fn: score.py:score, params: { ff: MMFF94 } }
 *     - name: summary
 *       kind: command
 *       after: [score]        # starts once score has ended (after-any: true to run anyway)
 *       options: { args: list.txt }
 *       command: [python3, summarize.py, "{}"]
 *
 * Options become the kind's command-line options (`inputs: x` is `--inputs x`, `true` a bare
 * flag, a list is joined with commas, an object is JSON); relative paths are taken from the
 * file's directory.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { UsageError } from '../errors.js';

/** One stage as the file gives it, its job's name, and its command line. */
export interface Stage {
  name: string;
  kind: string;
  job: string;
  /** The options after `<kind>`, as `submit <kind>` would take them (with --job, --from, --after, --priority). */
  argv: string[];
  from?: string;
  after: string[];
}

export interface Pipeline {
  file: string;
  /** Where relative paths in the file are taken from. */
  dir: string;
  stages: Stage[];
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
const STAGE_KEYS = new Set(['name', 'kind', 'options', 'command', 'from', 'after', 'after-any', 'priority']);

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `fooBar` and `foo_bar` as `--foo-bar`. */
function flag(key: string): string {
  return `--${key.replace(/([a-z0-9])([A-Z])/g, '$1-$2').replace(/_/g, '-').toLowerCase()}`;
}

/** One option's words on the command line, or a message saying why it cannot be one. */
function optionWords(key: string, v: unknown): string[] | string {
  if (v === true) return [flag(key)];
  if (v === false || v === null || v === undefined) return [];
  if (typeof v === 'string' || typeof v === 'number') return [flag(key), String(v)];
  if (Array.isArray(v)) return v.every((x) => typeof x === 'string' || typeof x === 'number') ? [flag(key), v.join(',')] : `a list of strings or numbers, got ${JSON.stringify(v)}`;
  if (isObject(v)) return [flag(key), JSON.stringify(v)];
  return `a string, number, boolean, list or mapping, got ${typeof v}`;
}

/** Reads and checks a pipeline file; throws UsageError naming the file, line and column, stage and field. */
export function readPipeline(path: string): Pipeline {
  const file = resolve(path);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const at = lines.linePos(e.pos[0]);
    throw new UsageError(`${file}:${at.line}:${at.col}: ${e.message.split('\n')[0]}`);
  }
  const root: unknown = doc.toJS();
  if (!isObject(root) || !Array.isArray(root.stages) || root.stages.length === 0) throw new UsageError(`${file}: expected a mapping with a non-empty 'stages' list`);
  const prefix = root.name === undefined ? '' : String(root.name);
  if (prefix !== '' && !NAME_RE.test(prefix)) throw new UsageError(`${file}: name '${prefix}': use letters, digits, '_' or '-'`);
  const stages: Stage[] = [];
  const seen = new Set<string>();
  root.stages.forEach((raw: unknown, i: number) => {
    const where = `${file}: stage ${i + 1}`;
    if (!isObject(raw)) throw new UsageError(`${where}: expected a mapping (name, kind, options...)`);
    const name = typeof raw.name === 'string' ? raw.name : '';
    if (!NAME_RE.test(name)) throw new UsageError(`${where}: name: expected letters, digits, '_' or '-', got ${JSON.stringify(raw.name)}`);
    const at = `${file}: stage '${name}'`;
    if (seen.has(name)) throw new UsageError(`${at}: the name is used twice`);
    seen.add(name);
    for (const k of Object.keys(raw)) if (!STAGE_KEYS.has(k)) throw new UsageError(`${at}: unknown field '${k}' (fields: ${[...STAGE_KEYS].join(', ')})`);
    if (typeof raw.kind !== 'string' || raw.kind === '') throw new UsageError(`${at}: kind: expected a kind's name (python, command, spin, conformers, frames, or a handler kind)`);
    const job = prefix ? `${prefix}.${name}` : name;
    const argv: string[] = [];
    if (raw.options !== undefined && !isObject(raw.options)) throw new UsageError(`${at}: options: expected a mapping of option to value`);
    for (const [k, v] of Object.entries(raw.options ?? {})) {
      const words = optionWords(k, v);
      if (typeof words === 'string') throw new UsageError(`${at}: options.${k}: expected ${words}`);
      argv.push(...words);
    }
    const from = raw.from === undefined ? undefined : String(raw.from);
    const after = raw.after === undefined ? [] : Array.isArray(raw.after) ? raw.after.map(String) : [String(raw.after)];
    if (raw.priority !== undefined) {
      if (typeof raw.priority !== 'number' || !Number.isInteger(raw.priority)) throw new UsageError(`${at}: priority: expected an integer, got ${JSON.stringify(raw.priority)}`);
      argv.push('--priority', String(raw.priority));
    }
    if (raw['after-any'] === true) argv.push('--after-any');
    argv.push('--job', job);
    if (raw.command !== undefined) {
      if (!Array.isArray(raw.command) || raw.command.length === 0) throw new UsageError(`${at}: command: expected the program and its arguments as a list`);
      argv.push('--', ...raw.command.map(String));
    }
    stages.push({ name, kind: raw.kind, job, argv, ...(from !== undefined ? { from } : {}), after });
  });
  const byName = new Map(stages.map((s) => [s.name, s]));
  for (const s of stages) {
    for (const dep of [...(s.from !== undefined ? [s.from] : []), ...s.after]) {
      if (!byName.has(dep)) throw new UsageError(`${file}: stage '${s.name}': '${dep}' names no stage (stages: ${[...byName.keys()].join(', ')})`);
    }
  }
  const ordered = inOrder(stages, file);
  // The links, as the kinds' options name them (before `--`, where a command's program starts).
  for (const s of ordered) {
    const links: string[] = [];
    if (s.from !== undefined) links.push('--from', byName.get(s.from)!.job);
    if (s.after.length > 0) links.push('--after', s.after.map((a) => byName.get(a)!.job).join(','));
    const dash = s.argv.indexOf('--');
    if (dash < 0) s.argv.push(...links);
    else s.argv.splice(dash, 0, ...links);
  }
  return { file, dir: dirname(file), stages: ordered };
}

/** The stages with each after those it depends on; a cycle is an error naming it. */
function inOrder(stages: Stage[], file: string): Stage[] {
  const byName = new Map(stages.map((s) => [s.name, s]));
  const out: Stage[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (s: Stage, path: string[]): void => {
    const st = state.get(s.name);
    if (st === 'done') return;
    if (st === 'visiting') throw new UsageError(`${file}: the stages form a cycle: ${[...path.slice(path.indexOf(s.name)), s.name].join(' → ')}`);
    state.set(s.name, 'visiting');
    for (const dep of [...(s.from !== undefined ? [s.from] : []), ...s.after]) visit(byName.get(dep)!, [...path, s.name]);
    state.set(s.name, 'done');
    out.push(s);
  };
  for (const s of stages) visit(s, []);
  return out;
}
