/** The options of the `command` kind and their validation (CLI side and wire side). */
import { statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import type { CommandUnknownOpts } from '@commander-js/extra-typings';
import { InputError, UsageError } from '../../errors.js';

/** Parameters of a command job; they travel to every agent with the job. */
export interface CommandParams {
  /** The list file, one task per (non-blank) line. Absolute. */
  argsFile: string;
  /** The argv template (everything after `--`), with `{}` placeholders. */
  template: string[];
  /** Working directory of every task. Absolute; must exist on the agents. */
  cwd: string;
  /** Per-task wall-clock limit in ms (0 = none). */
  timeoutMs: number;
  /** Between SIGTERM and SIGKILL of the process group, ms. Default 5,000. */
  killGraceMs: number;
  /** Retry a non-zero exit (or timeout) on another attempt, up to --max-attempts. Default false. */
  retryFailed: boolean;
  /** Worker slots each task takes; also SHOAL_THREADS and OMP_NUM_THREADS. Default 1. */
  threads: number;
  /** Memory each task needs, bytes (0 = negligible). */
  memory: number;
  /** Most stdout bytes kept per task. Default 64 KiB. */
  maxStdout: number;
  /** Bytes of the end of stderr kept per task. Default 4 KiB. */
  stderrTail: number;
}

export const COMMAND_DEFAULTS = {
  killGraceMs: 5_000,
  maxStdout: 64 * 1024,
  stderrTail: 4 * 1024,
} as const;

const GB = 2 ** 30;

export function addCommandOptions(cmd: CommandUnknownOpts): void {
  cmd
    .usage('--args <file> [options] -- <program> [args...]')
    .option('--args <file>', 'list file: one task per line ({} = the line, {#} = its number, {.} = without extension, {/} basename, {//} dirname, {/.} basename without extension)')
    .option('--cwd <dir>', 'working directory of every task (must exist on the agents; default: the current directory)')
    .option('--timeout <s>', 'kill a task\'s process group after this many seconds (0 = no limit)', '0')
    .option('--kill-grace <s>', 'seconds between SIGTERM and SIGKILL when a task is killed', String(COMMAND_DEFAULTS.killGraceMs / 1000))
    .option('--retry-failed', 'retry a non-zero exit or a timeout (up to --max-attempts); by default it is final')
    .option('--threads <n>', 'worker slots per task; SHOAL_THREADS and OMP_NUM_THREADS are set to it', '1')
    .option('--task-memory <gb>', 'memory each task needs (GB); agents with less free memory do not get it', '0')
    .option('--max-stdout <bytes>', 'stdout bytes kept per task (more is cut and not parsed as JSON)', String(COMMAND_DEFAULTS.maxStdout))
    .option('--stderr-tail <bytes>', 'bytes of the end of stderr kept per task', String(COMMAND_DEFAULTS.stderrTail))
    .allowExcessArguments()
    .addHelpText('after', '\nEverything after -- is the command, run once per line of --args:\n  shoal run command --args inputs.txt -- python3 score.py --in {} --out {.}.json\nA template without any {} gets the line appended as its last argument.');
  // Commander hands the words after `--` to the action as `cmd.args`; kinds only see options.
  cmd.hook('preAction', (_self, action) => {
    action.setOptionValue('template', action.args);
  });
}

function num(name: string, v: unknown, o: { min?: number; integer?: boolean } = {}): number {
  const n = typeof v === 'number' ? v : Number(v);
  const min = o.min ?? 0;
  if (v === '' || v === null || !Number.isFinite(n) || n < min || (o.integer && !Number.isInteger(n))) {
    throw new UsageError(`${name} must be ${o.integer ? 'an integer' : 'a number'} >= ${min}, got '${String(v)}'`);
  }
  return n;
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
  const argsFile = resolve(o.args);
  try {
    if (!statSync(argsFile).isFile()) throw new Error('not a file');
  } catch (err) {
    throw new InputError(`--args ${argsFile}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
  return {
    argsFile,
    template,
    cwd: existingDir('--cwd', resolve(typeof o.cwd === 'string' ? o.cwd : '.')),
    timeoutMs: Math.round(num('--timeout', o.timeout ?? 0) * 1000),
    killGraceMs: Math.round(num('--kill-grace', o.killGrace ?? COMMAND_DEFAULTS.killGraceMs / 1000) * 1000),
    retryFailed: !!o.retryFailed,
    threads: num('--threads', o.threads ?? 1, { min: 1, integer: true }),
    memory: Math.round(num('--task-memory', o.taskMemory ?? 0) * GB),
    maxStdout: num('--max-stdout', o.maxStdout ?? COMMAND_DEFAULTS.maxStdout, { integer: true }),
    stderrTail: num('--stderr-tail', o.stderrTail ?? COMMAND_DEFAULTS.stderrTail, { integer: true }),
  };
}

/** Params from the wire: same checks, as InputError naming the field. */
export function checkCommandParams(raw: unknown): CommandParams {
  const p = raw as Partial<CommandParams> | null;
  if (!p || typeof p !== 'object') throw new InputError('command params: expected an object');
  const field = (name: keyof CommandParams, o: { min?: number; integer?: boolean } = {}): number => {
    try {
      return num(name, p[name], o);
    } catch (err) {
      throw new InputError(`command params: ${(err as Error).message}`);
    }
  };
  if (typeof p.argsFile !== 'string' || !isAbsolute(p.argsFile)) throw new InputError('command params: argsFile must be an absolute path');
  if (typeof p.cwd !== 'string' || !isAbsolute(p.cwd)) throw new InputError('command params: cwd must be an absolute path');
  if (!Array.isArray(p.template) || p.template.length === 0 || p.template.some((a) => typeof a !== 'string')) throw new InputError('command params: template must be a non-empty array of strings');
  return {
    argsFile: p.argsFile,
    template: p.template,
    cwd: p.cwd,
    timeoutMs: field('timeoutMs'),
    killGraceMs: field('killGraceMs'),
    retryFailed: p.retryFailed === true,
    threads: field('threads', { min: 1, integer: true }),
    memory: field('memory'),
    maxStdout: field('maxStdout', { integer: true }),
    stderrTail: field('stderrTail', { integer: true }),
  };
}
