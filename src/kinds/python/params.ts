/** The options of the `python` kind and their validation (CLI side and wire side). */
import { statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import type { CommandUnknownOpts } from '@commander-js/extra-typings';
import { InputError, UsageError } from '../../errors.js';
import { helpDefault, paramsCheck, readOption } from '../options.js';
import { addProcessTaskOptions, ProcessTaskFields, readParamsOption, readProcessTaskOptions } from '../process-options.js';
import { recordFile, RecordFileSchema } from '../records/index.js';
import { FromJobSchema, readFromOption } from '../stage.js';

/** Parameters of a python job (they travel to every agent with the job): type, defaults, check. */
export const PythonParamsSchema = Type.Object({
  /** `/abs/file.py:fn` (made absolute against cwd) or `package.module:fn`. */
  fn: Type.String({ pattern: ':[A-Za-z_][A-Za-z0-9_]*$', expected: 'FILE.py:FUNCTION or MODULE:FUNCTION' }),
  /** The inputs file (path, format, stamp), one task per record; absent when the tasks come `from` a job. */
  inputs: Type.Optional(RecordFileSchema),
  /** The upstream job: one task per committed row of it, the row's value as input (`--from JOB`). */
  from: Type.Optional(FromJobSchema),
  /** The user's --params object, given to fn and setup. */
  params: Type.Record(Type.String(), Type.Unknown()),
  /** The interpreter: a name found on the agent's PATH, or a path. */
  python: Type.String({ minLength: 1, default: 'python3' }),
  ...ProcessTaskFields,
  /** An interpreter idle this long (ms) is stopped, freeing its memory and GPU; 0 = kept until another job takes its slot. */
  idleMs: Type.Number({ minimum: 0, default: 30_000 }),
  /** Start a fresh interpreter after this many tasks (0 = never). */
  recycleAfter: Type.Integer({ minimum: 0, default: 0 }),
  /** Characters of each task's stdout and stderr kept in its row. */
  tail: Type.Integer({ minimum: 0, default: 2048 }),
});
export type PythonParams = Static<typeof PythonParamsSchema>;

const P = PythonParamsSchema.properties;

const InUnits = {
  idle: Type.Number({ minimum: 0, default: 30 }),
};

/** Seconds between SIGTERM and SIGKILL by default: an interpreter has no files of ours to close. */
const KILL_GRACE_S = 0.5;

export function addPythonOptions(cmd: CommandUnknownOpts): void {
  cmd
    .usage('--fn <file.py:function> --inputs <file> [options]')
    .option('--fn <spec>', 'the function: FILE.py:NAME (relative to --cwd) or MODULE:NAME (on the interpreter\'s sys.path plus --cwd); called as NAME(input, params)')
    .option('--inputs <file>', 'one task per record: .txt (a string per line), .jsonl (a JSON value per line), .csv/.tsv (an object per row, keys from the header), .smi ({smiles, name} per line)')
    .option('--from <job>', "instead of --inputs: one task per committed row of job JOB (running or ended), the row's value as input, each made as its row commits")
    .option('--format <fmt>', 'the inputs\' format when the extension does not say it: txt, jsonl, csv, tsv or smi')
    .option('--params <json>', 'a JSON object given to NAME and to setup() as their params')
    .option('--python <path>', 'the interpreter (a venv\'s or conda env\'s python, or a name on the agents\' PATH)', helpDefault(P.python));
  addProcessTaskOptions(cmd, {
    cwd: 'working directory of the interpreters (must exist on the agents; default: the current directory)',
    timeout: 'a task running longer is an error; its interpreter is killed and started again (0 = no limit)',
    killGrace: 'seconds between SIGTERM and SIGKILL when an interpreter must stop',
    killGraceS: KILL_GRACE_S,
    retryFailed: 'retry a task that raised or timed out (up to --max-attempts); by default that is final',
    threads: 'worker slots per task; OMP_NUM_THREADS, MKL_NUM_THREADS, OPENBLAS_NUM_THREADS, NUMEXPR_NUM_THREADS and SHOAL_THREADS are set to it',
  })
    .option('--idle <s>', 'stop an interpreter idle this many seconds (the job has ended, or waits): its memory and GPU go back (0 = keep it until another job takes its slot)', helpDefault(InUnits.idle))
    .option('--recycle-after <n>', 'start a fresh interpreter after this many tasks (C extensions that leak; 0 = never)', helpDefault(P.recycleAfter))
    .option('--tail <chars>', 'characters of the end of each task\'s stdout and stderr kept in its row', helpDefault(P.tail))
    .addHelpText(
      'after',
      [
        '',
        'Each slot of each agent keeps one interpreter for the job: the module is imported once, and',
        'setup(params), when the module has one, runs once per interpreter before its first task (load',
        'a model there). A function that yields gives one row per record, with index and of.',
        'A row\'s value is what NAME returns (NaN and infinities become null); pid is the interpreter\'s.',
        '  shoal run python --fn score.py:score --inputs ligands.smi --params \'{"ff": "MMFF94"}\'',
      ].join('\n'),
    );
}

/** `FILE.py:NAME` with FILE made absolute against cwd (and checked), or `MODULE:NAME` as given. */
function fnSpec(v: unknown, cwd: string): string {
  if (typeof v !== 'string' || v === '') throw new UsageError('python needs --fn FILE.py:FUNCTION (or MODULE:FUNCTION)');
  const at = v.lastIndexOf(':');
  const where = v.slice(0, at);
  const name = v.slice(at + 1);
  if (at <= 0 || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new UsageError(`--fn ${v}: expected FILE.py:FUNCTION or MODULE:FUNCTION`);
  if (!where.endsWith('.py')) {
    if (!/^[A-Za-z_][A-Za-z0-9_.]*$/.test(where)) throw new UsageError(`--fn ${v}: '${where}' is neither a .py file nor a module name`);
    return v;
  }
  const file = isAbsolute(where) ? where : resolve(cwd, where);
  try {
    if (!statSync(file).isFile()) throw new Error('not a file');
  } catch (err) {
    throw new InputError(`--fn ${v}: ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
  return `${file}:${name}`;
}

/** Command-line options → params (paths made absolute against the current directory). */
export function pythonParams(o: Record<string, unknown>): PythonParams {
  const from = readFromOption(o.from, { name: '--inputs', value: o.inputs });
  if (from === undefined && (typeof o.inputs !== 'string' || o.inputs === '')) throw new UsageError('python needs --inputs FILE (one task per record) or --from JOB (one task per row of that job)');
  const shared = readProcessTaskOptions(o, KILL_GRACE_S);
  return {
    fn: fnSpec(o.fn, shared.cwd),
    ...(from !== undefined ? { from } : { inputs: recordFile('--inputs', o.inputs as string, typeof o.format === 'string' ? o.format : undefined) }),
    params: readParamsOption(o.params),
    python: typeof o.python === 'string' && o.python !== '' ? o.python : 'python3',
    ...shared,
    idleMs: Math.round(readOption('--idle', InUnits.idle, o.idle) * 1000),
    recycleAfter: readOption('--recycle-after', P.recycleAfter, o.recycleAfter),
    tail: readOption('--tail', P.tail, o.tail),
  };
}

/** Params from the wire: the schema's check, as InputError naming the field. */
const checkSchema = paramsCheck('python', PythonParamsSchema);

/** Params from the wire: the schema's check, and exactly one of inputs and from, as InputError naming the field. */
export function checkPythonParams(raw: unknown): PythonParams {
  const p = checkSchema(raw);
  if ((p.inputs === undefined) === (p.from === undefined)) throw new InputError(`python params: give exactly one of 'inputs' (a file of records) and 'from' (a job), got ${p.inputs === undefined ? 'neither' : 'both'}`);
  return p;
}
