/**
 * Handler modules: users' own kinds, loaded by an agent from its command line
 * (`shoal agent --handlers ./my-kinds.js`), never from a message.
 *
 * A module exports its kinds as `kinds` (an array) or as its default export (one kind or an
 * array). A kind is either the simple shape below — `{ name, run(task, ctx) }` — or a full
 * built-in style `Kind` (one with `checkParams`), which is used as it is.
 *
 * Jobs of handler kinds are submitted with `shoal submit <name> --params JSON --inputs FILE`:
 * one task per record of FILE (a line of .txt, a JSON line of .jsonl, a row of .csv/.tsv, a
 * molecule of .smi: see records/); the params name the file, the coordinator indexes it without
 * the module (it never loads user code), every task costs 1, and each worker reads its task's
 * record when it runs.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { CommandUnknownOpts } from '@commander-js/extra-typings';
import { InputError, UsageError, ShoalError, ErrorCode } from '../../errors.js';
import { getKind } from '../index.js';
import { FORMAT_WORDS, RECORD_FORMATS, recordFile, recordReaderFor, type RecordFile, type RecordTaskRef } from '../records/index.js';
import type { Kind, Row, RunContext } from '../types.js';
import { handlerFrom, handlerInputs, type HandlerJobParams } from './inputs.js';
import { isStageRef, readFromOption } from '../stage.js';
import { readParamsOption } from '../process-options.js';

export { expandHandlerJob, handlerFrom, handlerInputs, type HandlerJobParams } from './inputs.js';

/** What a simple handler's `run` receives. */
export interface HandlerTask {
  /** The task id (`task_0007`): deterministic from the input's position (a `--from` job: the upstream row's task, see src/kinds/stage.ts). */
  id: string;
  /**
   * The record: a string for .txt (the line), the JSON value for .jsonl, an object keyed by the
   * header for .csv/.tsv (values strings), `{ smiles, name }` for .smi.
   */
  input: unknown;
  /** The record's number among the inputs, from 0 (for csv, pandas' index of the row); a `--from` job: the upstream row's index, or 0. */
  index: number;
  /** The line of the inputs file it starts on, from 1 (0 in a `--from` job). */
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

interface WrappedParams {
  user: Record<string, unknown>;
  inputs: RecordFile | null;
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
      const { inputs, from, ...user } = raw as Record<string, unknown>;
      return { user, inputs: handlerFrom(h.name, { from }) !== undefined ? null : handlerInputs(h.name, { inputs }) };
    },
    inputs: () => [],
    expand: async () => {
      throw new ShoalError(ErrorCode.Internal, `handler kind ${h.name} is expanded by the coordinator, not by its module`);
    },
    async run(ref, p, ctx) {
      if (isStageRef(ref)) {
        const value = await h.run({ id: ctx.task, input: ref.v, index: ref.i ?? 0, line: 0, params: p.user }, ctx);
        return { value: value === undefined ? null : value };
      }
      const r = ref as RecordTaskRef;
      if (!p.inputs) throw new InputError(`${h.name} task ${ctx.task}: a task of a --from job without its upstream value (malformed ref)`);
      if (!r || typeof r !== 'object' || typeof r.line !== 'number' || typeof r.i !== 'number') throw new InputError(`${h.name} task ${ctx.task}: malformed ref`);
      const input = (await recordReaderFor(p.inputs)).read(r);
      const value = await h.run({ id: ctx.task, input, index: r.i, line: r.line, params: p.user }, ctx);
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
      cmd
        .option('--params <json>', 'parameters of the job (a JSON object), given to every task as task.params')
        .option('--inputs <file>', 'one task per record of FILE (task.input); the file must be readable at the same path by the coordinator and the agents')
        .option('--from <job>', "instead of --inputs: one task per committed row of job JOB (running or ended), the row's value as task.input, each made as its row commits")
        .option('--format <format>', `how FILE is read (default: from its extension): ${RECORD_FORMATS.map((f) => `${f} = ${FORMAT_WORDS[f]}`).join('; ')}`);
    },
    params(o): HandlerJobParams {
      const from = readFromOption(o.from, { name: '--inputs', value: o.inputs });
      if (from !== undefined) return { ...readParamsOption(o.params, { field: 'from', why: 'the upstream job comes from --from JOB' }), from };
      if (typeof o.inputs !== 'string') throw new UsageError(`kind ${name} needs --inputs FILE (one task per record: a line of .txt or .jsonl, a row of .csv or .tsv, a molecule of .smi)`);
      const user = readParamsOption(o.params, { field: 'inputs', why: 'the inputs come from --inputs FILE' });
      // 'from' in the job's params names an upstream job (--from): a user's field of that name would be taken for one.
      if ('from' in user) throw new UsageError("--params must not have the field 'from': it names the job a --from job takes its tasks from");
      return { ...user, inputs: recordFile('--inputs', o.inputs, typeof o.format === 'string' ? o.format : undefined) };
    },
    checkParams(raw) {
      if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new InputError(`${name} params: expected an object`);
      if (handlerFrom(name, raw) !== undefined) return raw as HandlerJobParams;
      return { ...(raw as Record<string, unknown>), inputs: handlerInputs(name, raw) };
    },
    inputs: () => [],
    expand: notHere,
    run: notHere,
    summarize: notHere,
  };
}
