/**
 * Handler modules: users' own kinds, loaded by an agent from its command line
 * (`shoal agent --handlers ./my-kinds.js`), never from a message.
 *
 * A module exports its kinds as `kinds` (an array) or as its default export (one kind or an
 * array). A kind is either the simple shape below — `{ name, run(task, ctx) }` — or a full
 * built-in style `Kind` (one with `checkParams`), which is used as it is.
 *
 * Jobs of handler kinds are submitted with `shoal submit <name> --params JSON --inputs FILE`:
 * one task per non-blank line of FILE; the coordinator expands them without the module
 * (it never loads user code), so every task costs 1.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { CommandUnknownOpts } from '@commander-js/extra-typings';
import { InputError, UsageError, ShoalError, ErrorCode } from '../../errors.js';
import { getKind } from '../index.js';
import type { Kind, Row, RunContext } from '../types.js';

/** What a simple handler's `run` receives. */
export interface HandlerTask {
  /** The task id (`task_0007`): deterministic from the input's position. */
  id: string;
  /** The input line. */
  input: string;
  /** Its position among the inputs, from 1. */
  line: number;
  /** The job's `--params` object (without the inputs). */
  params: Record<string, unknown>;
}

/** The simple shape of a user kind. */
export interface HandlerKind {
  name: string;
  description?: string;
  /** Runs one task; what it returns (JSON-serialisable) is the row's `value`; a throw is retried elsewhere. */
  run(task: HandlerTask, ctx: RunContext): unknown;
  /**
   * Optional relative cost of a task. Accepted for compatibility; the coordinator never loads
   * handler modules, so it cannot call it (every task costs 1).
   */
  cost?(spec: unknown): number;
}

/** Params of a handler job as they travel: the user's --params plus the input lines. */
export interface HandlerJobParams {
  inputs: string[];
  [key: string]: unknown;
}

interface WrappedParams {
  user: Record<string, unknown>;
}

interface HandlerRef {
  input: string;
  line: number;
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

function isFullKind(k: object): k is Kind<unknown> {
  return typeof (k as { checkParams?: unknown }).checkParams === 'function';
}

/** Wraps a simple handler into the Kind contract the workers run. */
export function asKind(h: HandlerKind): Kind<WrappedParams> {
  return {
    name: h.name,
    description: h.description ?? `handler kind ${h.name}`,
    addOptions: () => undefined,
    params: () => {
      throw new UsageError(`kind '${h.name}' comes from a handler module: submit it with --params and --inputs`);
    },
    checkParams(raw: unknown): WrappedParams {
      if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new InputError(`${h.name} params: expected an object`);
      const { inputs: _inputs, ...user } = raw as Record<string, unknown>;
      return { user };
    },
    inputs: () => [],
    expand: async () => {
      throw new ShoalError(ErrorCode.Internal, `handler kind ${h.name} is expanded by the coordinator, not by its module`);
    },
    async run(ref, p, ctx) {
      const r = ref as HandlerRef;
      if (!r || typeof r !== 'object' || typeof r.line !== 'number') throw new InputError(`${h.name} task ${ctx.task}: malformed ref`);
      const value = await h.run({ id: ctx.task, input: r.input, line: r.line, params: p.user }, ctx);
      return { value: value === undefined ? null : value };
    },
    async summarize(rows: AsyncIterable<Row>) {
      let ok = 0;
      let error = 0;
      for await (const r of rows) {
        if (r.status === 'ok') ok++;
        else error++;
      }
      return { ok, error };
    },
  };
}

/** The kinds a loaded module exports, as Kinds. Throws UsageError naming the module and the problem. */
export function kindsOfModule(mod: Record<string, unknown>, path: string): Kind<unknown>[] {
  const raw = Array.isArray(mod.kinds) ? mod.kinds : Array.isArray(mod.default) ? mod.default : mod.default !== undefined ? [mod.default] : [];
  if (raw.length === 0) throw new UsageError(`--handlers ${path}: the module exports no kinds (export 'kinds' = [{ name, run(task, ctx) }], or a default export)`);
  return raw.map((k: unknown, i: number) => {
    const what = `--handlers ${path}: kind #${i}`;
    if (!k || typeof k !== 'object') throw new UsageError(`${what} is not an object`);
    const { name, run } = k as { name?: unknown; run?: unknown };
    if (typeof name !== 'string' || !NAME_RE.test(name)) throw new UsageError(`${what} has no valid 'name' (letters, digits, '.', '_', '-'), got ${JSON.stringify(name)}`);
    if (typeof run !== 'function') throw new UsageError(`${what} ('${name}') has no run(task, ctx) function`);
    return isFullKind(k) ? (k as Kind<unknown>) : asKind(k as HandlerKind);
  });
}

/** One module the agent loaded and the kind names it offers. */
export interface LoadedHandlers {
  path: string;
  kinds: string[];
}

/**
 * Imports each module once (in the agent's main thread) to check it and read its kind names.
 * A missing file, a module that throws while loading, no kinds, or a name clash is a
 * UsageError (exit code 2) naming the module.
 */
export async function loadHandlerModules(paths: readonly string[]): Promise<LoadedHandlers[]> {
  const seen = new Map<string, string>();
  const out: LoadedHandlers[] = [];
  for (const given of paths) {
    const path = resolve(given);
    if (!existsSync(path)) throw new UsageError(`--handlers ${path}: no such file`);
    let mod: Record<string, unknown>;
    try {
      mod = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
    } catch (err) {
      throw new UsageError(`--handlers ${path}: the module failed to load: ${(err as Error)?.message ?? String(err)}`);
    }
    const names = kindsOfModule(mod, path).map((k) => k.name);
    for (const name of names) {
      if (getKind(name)) throw new UsageError(`--handlers ${path}: kind '${name}' is built into shoal; choose another name`);
      const other = seen.get(name);
      if (other) throw new UsageError(`--handlers ${path}: kind '${name}' is also defined in ${other}`);
      seen.set(name, path);
    }
    out.push({ path, kinds: names });
  }
  return out;
}

/** The worker-side adapter module (see worker-adapter.ts), as a path for the pool's handler list. */
export const WORKER_ADAPTER = new URL('./worker-adapter.js', import.meta.url);

/** Reads --inputs FILE: one input per non-blank line. */
function readInputs(file: string): string[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new InputError(`--inputs ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
  const lines = text.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l)).filter((l) => l.trim() !== '');
  if (lines.length === 0) throw new InputError(`--inputs ${file} has no non-blank line: nothing to run`);
  return lines;
}

/** `--params JSON`: an object. */
function readParams(v: unknown): Record<string, unknown> {
  if (v === undefined) return {};
  let p: unknown;
  try {
    p = JSON.parse(String(v));
  } catch (err) {
    throw new UsageError(`--params must be a JSON object: ${(err as Error).message}`);
  }
  if (!p || typeof p !== 'object' || Array.isArray(p)) throw new UsageError(`--params must be a JSON object, got ${String(v)}`);
  if ('inputs' in p) throw new UsageError("--params must not have an 'inputs' field: the inputs come from --inputs FILE");
  return p as Record<string, unknown>;
}

/**
 * A handler kind as the submitting CLI sees it: it turns `--params` and `--inputs` into job
 * params; it never runs anything (only agents with the module do).
 */
export function remoteHandlerKind(name: string): Kind<HandlerJobParams> {
  if (!NAME_RE.test(name)) throw new UsageError(`'${name}' is not a valid kind name (letters, digits, '.', '_', '-')`);
  const notHere = (): never => {
    throw new ShoalError(ErrorCode.Internal, `kind '${name}' runs only on agents started with --handlers`);
  };
  return {
    name,
    description: `a kind from the agents' --handlers modules`,
    addOptions(cmd: CommandUnknownOpts) {
      cmd.option('--params <json>', 'parameters of the job (a JSON object), given to every task as task.params').option('--inputs <file>', 'one task per non-blank line of FILE (task.input)');
    },
    params(o): HandlerJobParams {
      if (typeof o.inputs !== 'string') throw new UsageError(`submit ${name} needs --inputs FILE (one task per line)`);
      return { ...readParams(o.params), inputs: readInputs(resolve(o.inputs)) };
    },
    checkParams(raw) {
      const p = raw as HandlerJobParams | null;
      if (!p || typeof p !== 'object' || !Array.isArray(p.inputs)) throw new InputError(`${name} params: expected an object with an 'inputs' array`);
      return p;
    },
    inputs: () => [],
    expand: notHere,
    run: notHere,
    summarize: notHere,
  };
}
