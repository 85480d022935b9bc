/** The options of the `command` kind and their validation (CLI side and wire side). */
import { Type, type Static } from '@sinclair/typebox';
import type { CommandUnknownOpts } from '@commander-js/extra-typings';
import { UsageError } from '../../errors.js';
import { addProcessTaskOptions, ProcessTaskFields, readProcessTaskOptions } from '../process-options.js';
import { AbsolutePath, helpDefault, paramsCheck, readOption } from '../options.js';
import { recordFile } from '../records/index.js';
import { FromJobSchema, readFromOption } from '../stage.js';
import { InputError } from '../../errors.js';

/** Parameters of a command job (they travel to every agent with the job): type, defaults, check. */
export const CommandParamsSchema = Type.Object({
  /** The list file, one task per (non-blank) line. Absolute. Absent when the tasks come `from` a job. */
  argsFile: Type.Optional(AbsolutePath),
  /** Its size and mtime when the job was made: a file changed since is an error, never other lines. */
  argsStamp: Type.Optional(Type.Object({ size: Type.Integer({ minimum: 0 }), mtimeMs: Type.Number() })),
  /** The upstream job: one task per committed row of it, `{}` its value (`--from JOB`). */
  from: Type.Optional(FromJobSchema),
  /** The argv template (everything after `--`), with `{}` placeholders. */
  template: Type.Array(Type.String(), { minItems: 1 }),
  ...ProcessTaskFields,
  /** Most stdout bytes kept per task. */
  maxStdout: Type.Integer({ minimum: 0, default: 64 * 1024 }),
  /** Bytes of the end of stderr kept per task. */
  stderrTail: Type.Integer({ minimum: 0, default: 4 * 1024 }),
});
export type CommandParams = Static<typeof CommandParamsSchema>;

const P = CommandParamsSchema.properties;

const ARGS_HELP = 'list file: one task per line ({} = the line, {#} = its number, {.} = without extension, {/} basename, {//} dirname, {/.} basename without extension)';
/** Seconds between SIGTERM and SIGKILL by default: a program may need time to clean up. */
const KILL_GRACE_S = 5;

export function addCommandOptions(cmd: CommandUnknownOpts): void {
  cmd
    .usage('--args <file> [options] -- <program> [args...]')
    .option('--args <file>', ARGS_HELP)
    .option('--from <job>', "instead of --args: one task per committed row of job JOB, made as it commits; {} is the row's value (a string as it is, else JSON), {value.KEY} its key KEY, {#} the record's index");
  addProcessTaskOptions(cmd, {
    cwd: 'working directory of every task (must exist on the agents; default: the current directory)',
    timeout: "kill a task's process group after this many seconds (0 = no limit)",
    killGrace: 'seconds between SIGTERM and SIGKILL when a task is killed',
    killGraceS: KILL_GRACE_S,
    retryFailed: 'retry a non-zero exit or a timeout (up to --max-attempts); by default it is final',
    threads: 'worker slots per task; SHOAL_THREADS and OMP_NUM_THREADS are set to it',
  })
    .option('--max-stdout <bytes>', 'stdout bytes kept per task (more is cut and not parsed as JSON)', helpDefault(P.maxStdout))
    .option('--stderr-tail <bytes>', 'bytes of the end of stderr kept per task', helpDefault(P.stderrTail))
    .allowExcessArguments()
    .addHelpText('after', '\nEverything after -- is the command, run once per line of --args:\n  shoal run command --args inputs.txt -- python3 score.py --in {} --out {.}.json\nA template without any {} gets the line appended as its last argument.');
  // Commander hands the words after `--` to the action as `cmd.args`; kinds only see options.
  cmd.hook('preAction', (_self, action) => {
    action.setOptionValue('template', action.args);
  });
}

/** Command-line options → params (paths made absolute against the current directory). */
export function commandParams(o: Record<string, unknown>): CommandParams {
  const from = readFromOption(o.from, { name: '--args', value: o.args });
  if (from === undefined && (typeof o.args !== 'string' || o.args === '')) throw new UsageError('command needs --args FILE (one task per line) or --from JOB (one task per row of that job)');
  const template = Array.isArray(o.template) ? o.template.map(String) : [];
  if (template.length === 0 || template[0] === '') throw new UsageError("command needs the program after '--', e.g. shoal run command --args list.txt -- prog --in {}");
  // Always txt, whatever the file's extension: a line is what the template gets.
  const args = from === undefined ? recordFile('--args', o.args as string, 'txt') : null;
  return {
    ...(args ? { argsFile: args.file, argsStamp: { size: args.size, mtimeMs: args.mtimeMs } } : { from: from! }),
    template,
    ...readProcessTaskOptions(o, KILL_GRACE_S),
    maxStdout: readOption('--max-stdout', P.maxStdout, o.maxStdout),
    stderrTail: readOption('--stderr-tail', P.stderrTail, o.stderrTail),
  };
}

/** Params from the wire: the schema's check, as InputError naming the field. */
const checkSchema = paramsCheck('command', CommandParamsSchema);

/** Params from the wire: the schema's check, and either an args file (with its stamp) or `from`, as InputError naming the field. */
export function checkCommandParams(raw: unknown): CommandParams {
  const p = checkSchema(raw);
  const file = p.argsFile !== undefined && p.argsStamp !== undefined;
  if (file === (p.from !== undefined)) throw new InputError(`command params: give either 'argsFile' with 'argsStamp' (a list file) or 'from' (a job), got ${file ? 'both' : 'neither'}`);
  return p;
}
