/** Running one command task inside a worker thread, and what its row records. */
import { statSync } from 'node:fs';
import { ErrorCode, InputError, ShoalError } from '../../errors.js';
import { recordReaderFor } from '../records/index.js';
import { gpuEnv } from '../gpus.js';
import type { RunContext, RunOutput } from '../types.js';
import type { CommandRef } from './expand.js';
import type { CommandParams } from './params.js';
import { runInGroup, type ProcessResult } from './process.js';
import { expandArgv, expandStageArgv, valueText } from './template.js';
import { isStageRef } from '../stage.js';

/** The `value` of an ok row. */
export interface CommandValue {
  /** The line of the --args file. */
  input: string;
  /** Always 0 in an ok row. */
  exit: number;
  /** Wall-clock duration in ms. */
  ms: number;
  /** stdout parsed as JSON when it is JSON, else its text (cut at --max-stdout). */
  stdout: unknown;
  /** Present (true) when stdout was longer than --max-stdout (then it is never parsed). */
  stdoutTruncated?: true;
  /** The end of stderr (--stderr-tail bytes). */
  stderr: string;
}

/** stdout as JSON when the whole (trimmed) text is one JSON document, else the text. */
export function parseStdout(text: string, truncated: boolean): unknown {
  if (truncated) return text;
  const t = text.trim();
  if (t === '') return text;
  try {
    return JSON.parse(t);
  } catch {
    return text;
  }
}

/** The environment of a task: the agent's, plus what tells the program where it stands. */
export function taskEnv(base: NodeJS.ProcessEnv, ctx: Pick<RunContext, 'job' | 'task' | 'attempt' | 'threads' | 'gpus'>): NodeJS.ProcessEnv {
  return {
    ...base,
    SHOAL_TASK_ID: ctx.task,
    SHOAL_JOB: ctx.job,
    SHOAL_ATTEMPT: String(ctx.attempt),
    SHOAL_THREADS: String(ctx.threads),
    // Threaded libraries (OpenMP, and BLAS builds that follow it) would otherwise start one
    // thread per core in every task: the two-level oversubscription trap.
    OMP_NUM_THREADS: String(ctx.threads),
    // Exactly its GPUs, whatever the agent's own CUDA_VISIBLE_DEVICES said.
    ...gpuEnv(ctx),
  };
}

function quoteArgv(argv: readonly string[]): string {
  const s = argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
  return s.length > 200 ? `${s.slice(0, 200)}…` : s;
}

function stderrNote(r: ProcessResult): string {
  const tail = r.stderr.trim();
  return tail === '' ? 'stderr empty' : `stderr tail: ${tail}`;
}

/** Why a task failed, in the one line its error row carries: what happened, stderr's end, the command. */
export function failureMessage(argv: readonly string[], r: ProcessResult, p: Pick<CommandParams, 'timeoutMs' | 'killGraceMs'>): string {
  const how =
    r.killed === 'timeout'
      ? `timed out after ${p.timeoutMs / 1000}s (process group killed: SIGTERM, then SIGKILL after ${p.killGraceMs / 1000}s if still running)`
      : r.exit === null
        ? `killed by ${r.signal ?? 'a signal'}`
        : `exited with code ${r.exit}${r.signal ? ` (${r.signal})` : ''}`;
  return `${how}; ${stderrNote(r)}; command: ${quoteArgv(argv)}`;
}

export async function runCommand(ref: unknown, p: CommandParams, ctx: RunContext): Promise<RunOutput> {
  let line: string;
  let argv: string[];
  if (isStageRef(ref)) {
    line = valueText(ref.v);
    argv = expandStageArgv(p.template, ref.v, ref.i ?? 0, ctx.task);
  } else {
    const r = ref as CommandRef;
    if (!r || typeof r !== 'object' || typeof r.line !== 'number' || !p.argsFile || !p.argsStamp) throw new InputError(`command task ${ctx.task}: malformed ref`);
    const reader = await recordReaderFor({ file: p.argsFile, format: 'txt', ...p.argsStamp });
    line = reader.read(r) as string;
    argv = expandArgv(p.template, line, r.line);
  }
  const final = (code: ErrorCode, msg: string): ShoalError => new ShoalError(code, msg, { retryable: p.retryFailed });
  let cwdOk = false;
  try {
    cwdOk = statSync(p.cwd).isDirectory();
  } catch {
    cwdOk = false;
  }
  if (!cwdOk) throw final(ErrorCode.Input, `--cwd ${p.cwd} is not a directory on this agent`);
  let res: ProcessResult;
  try {
    res = await runInGroup({
      argv,
      cwd: p.cwd,
      env: taskEnv(process.env, ctx),
      timeoutMs: p.timeoutMs,
      killGraceMs: p.killGraceMs,
      maxStdout: p.maxStdout,
      stderrTail: p.stderrTail,
      aborted: () => ctx.signal.aborted,
    });
  } catch (err) {
    throw final(ErrorCode.Exit, `cannot start ${quoteArgv(argv)}: ${(err as Error).message}`);
  }
  if (res.killed === 'aborted') throw new ShoalError(ErrorCode.Aborted, 'aborted', { retryable: false });
  if (res.killed === 'timeout' || res.exit !== 0) throw final(ErrorCode.Exit, failureMessage(argv, res, p));
  const value: CommandValue = {
    input: line,
    exit: 0,
    ms: res.ms,
    stdout: parseStdout(res.stdout, res.stdoutTruncated),
    ...(res.stdoutTruncated ? { stdoutTruncated: true as const } : {}),
    stderr: res.stderr,
  };
  return { value };
}
