/** The options of the `command` kind and their validation (CLI side and wire side). */
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import type { CommandUnknownOpts } from '@commander-js/extra-typings';
import { InputError, UsageError } from '../../errors.js';
import { addGpusOption, GpuCount, readGpusOption } from '../gpus.js';
import { AbsolutePath, helpDefault, paramsCheck, readOption } from '../options.js';
import { recordFile } from '../records/index.js';

/** Parameters of a command job (they travel to every agent with the job): type, defaults, check. */
export const CommandParamsSchema = Type.Object({
  /** The list file, one task per (non-blank) line. Absolute. */
  argsFile: AbsolutePath,
  /** Its size and mtime when the job was made: a file changed since is an error, never other lines. */
  argsStamp: Type.Object({ size: Type.Integer({ minimum: 0 }), mtimeMs: Type.Number() }),
  /** The argv template (everything after `--`), with `{}` placeholders. */
  template: Type.Array(Type.String(), { minItems: 1 }),
  /** Working directory of every task. Absolute; must exist on the agents. */
  cwd: AbsolutePath,
  /** Per-task wall-clock limit in ms (0 = none). */
  timeoutMs: Type.Number({ minimum: 0 }),
  /** Between SIGTERM and SIGKILL of the process group, ms. */
  killGraceMs: Type.Number({ minimum: 0 }),
  /** Retry a non-zero exit (or timeout) on another attempt, up to --max-attempts. */
  retryFailed: Type.Boolean({ default: false }),
  /** Worker slots each task takes; also SHOAL_THREADS and OMP_NUM_THREADS. */
  threads: Type.Integer({ minimum: 1, default: 1 }),
  /** Memory each task needs, bytes (0 = negligible). */
  memory: Type.Number({ minimum: 0 }),
  /** GPUs each task needs; its process sees exactly those (CUDA_VISIBLE_DEVICES). */
  gpus: GpuCount,
  /** Most stdout bytes kept per task. */
  maxStdout: Type.Integer({ minimum: 0, default: 64 * 1024 }),
  /** Bytes of the end of stderr kept per task. */
  stderrTail: Type.Integer({ minimum: 0, default: 4 * 1024 }),
});
export type CommandParams = Static<typeof CommandParamsSchema>;

const P = CommandParamsSchema.properties;

/** The options given in other units than their params (seconds, GB), with their defaults. */
const InUnits = {
  timeout: Type.Number({ minimum: 0, default: 0 }),
  killGrace: Type.Number({ minimum: 0, default: 5 }),
  taskMemory: Type.Number({ minimum: 0, default: 0 }),
};

const GB = 2 ** 30;

export function addCommandOptions(cmd: CommandUnknownOpts): void {
  cmd
    .usage('--args <file> [options] -- <program> [args...]')
    .option('--args <file>', 'list file: one task per line ({} = the line, {#} = its number, {.} = without extension, {/} basename, {//} dirname, {/.} basename without extension)')
    .option('--cwd <dir>', 'working directory of every task (must exist on the agents; default: the current directory)')
    .option('--timeout <s>', 'kill a task\'s process group after this many seconds (0 = no limit)', helpDefault(InUnits.timeout))
    .option('--kill-grace <s>', 'seconds between SIGTERM and SIGKILL when a task is killed', helpDefault(InUnits.killGrace))
    .option('--retry-failed', 'retry a non-zero exit or a timeout (up to --max-attempts); by default it is final')
    .option('--threads <n>', 'worker slots per task; SHOAL_THREADS and OMP_NUM_THREADS are set to it', helpDefault(P.threads))
    .option('--task-memory <gb>', 'memory each task needs (GB); agents with less free memory do not get it', helpDefault(InUnits.taskMemory));
  addGpusOption(cmd)
    .option('--max-stdout <bytes>', 'stdout bytes kept per task (more is cut and not parsed as JSON)', helpDefault(P.maxStdout))
    .option('--stderr-tail <bytes>', 'bytes of the end of stderr kept per task', helpDefault(P.stderrTail))
    .allowExcessArguments()
    .addHelpText('after', '\nEverything after -- is the command, run once per line of --args:\n  shoal run command --args inputs.txt -- python3 score.py --in {} --out {.}.json\nA template without any {} gets the line appended as its last argument.');
  // Commander hands the words after `--` to the action as `cmd.args`; kinds only see options.
  cmd.hook('preAction', (_self, action) => {
    action.setOptionValue('template', action.args);
  });
}

function existingDir(name: string, dir: string): string {
  let ok = false;
  try {
    ok = statSync(dir).isDirectory();
  } catch {
    ok = false;
  }
  if (!ok) throw new InputError(`${name} ${dir} is not a directory`);
  return dir;
}

/** Command-line options → params (paths made absolute against the current directory). */
export function commandParams(o: Record<string, unknown>): CommandParams {
  if (typeof o.args !== 'string' || o.args === '') throw new UsageError('command needs --args FILE (one task per line)');
  const template = Array.isArray(o.template) ? o.template.map(String) : [];
  if (template.length === 0 || template[0] === '') throw new UsageError("command needs the program after '--', e.g. shoal run command --args list.txt -- prog --in {}");
  // Always txt, whatever the file's extension: a line is what the template gets.
  const args = recordFile('--args', o.args, 'txt');
  return {
    argsFile: args.file,
    argsStamp: { size: args.size, mtimeMs: args.mtimeMs },
    template,
    cwd: existingDir('--cwd', resolve(typeof o.cwd === 'string' ? o.cwd : '.')),
    timeoutMs: Math.round(readOption('--timeout', InUnits.timeout, o.timeout) * 1000),
    killGraceMs: Math.round(readOption('--kill-grace', InUnits.killGrace, o.killGrace) * 1000),
    retryFailed: o.retryFailed === true,
    threads: readOption('--threads', P.threads, o.threads),
    memory: Math.round(readOption('--task-memory', InUnits.taskMemory, o.taskMemory) * GB),
    gpus: readGpusOption(o),
    maxStdout: readOption('--max-stdout', P.maxStdout, o.maxStdout),
    stderrTail: readOption('--stderr-tail', P.stderrTail, o.stderrTail),
  };
}

/** Params from the wire: the schema's check, as InputError naming the field. */
export const checkCommandParams = paramsCheck('command', CommandParamsSchema);
