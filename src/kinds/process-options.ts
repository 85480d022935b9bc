/**
 * What kinds that run users' programs and code in processes of their own (command, python)
 * share: their working directory, a per-task time limit and the grace before SIGKILL, whether
 * a failure is retried, the slots, memory and GPUs a task takes, and a `--params` JSON object.
 * Each kind spreads `ProcessTaskFields` into its params schema and says in its own words what a
 * timeout and a failure are.
 */
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { Type } from '@sinclair/typebox';
import type { CommandUnknownOpts } from '@commander-js/extra-typings';
import { InputError, UsageError } from '../errors.js';
import { addGpusOption, GpuCount, readGpusOption } from './gpus.js';
import { AbsolutePath, helpDefault, readOption } from './options.js';

/** The params fields, as a kind's schema spreads them. */
export const ProcessTaskFields = {
  /** Working directory of every task. Absolute; must exist on the agents. */
  cwd: AbsolutePath,
  /** Per-task wall-clock limit in ms (0 = none). */
  timeoutMs: Type.Number({ minimum: 0 }),
  /** Between SIGTERM and SIGKILL when a task's process must go, ms. */
  killGraceMs: Type.Number({ minimum: 0 }),
  /** Retry a failure (or timeout) on another attempt, up to --max-attempts; by default final. */
  retryFailed: Type.Boolean({ default: false }),
  /** Worker slots each task takes; also the threads its process is told to use. */
  threads: Type.Integer({ minimum: 1, default: 1 }),
  /** Memory each task needs, bytes (0 = negligible). */
  memory: Type.Number({ minimum: 0 }),
  /** GPUs each task needs; its process sees exactly those (CUDA_VISIBLE_DEVICES). */
  gpus: GpuCount,
};

/** How a kind words its options (and its default grace, s). */
export interface ProcessTaskWords {
  cwd: string;
  timeout: string;
  killGrace: string;
  killGraceS: number;
  retryFailed: string;
  threads: string;
}

const GB = 2 ** 30;
const timeoutS = Type.Number({ minimum: 0, default: 0 });
const taskMemoryGb = Type.Number({ minimum: 0, default: 0 });

/** Adds --cwd, --timeout, --kill-grace, --retry-failed, --threads, --task-memory and --gpus. */
export function addProcessTaskOptions(cmd: CommandUnknownOpts, w: ProcessTaskWords): CommandUnknownOpts {
  cmd
    .option('--cwd <dir>', w.cwd)
    .option('--timeout <s>', w.timeout, helpDefault(timeoutS))
    .option('--kill-grace <s>', w.killGrace, String(w.killGraceS))
    .option('--retry-failed', w.retryFailed)
    .option('--threads <n>', w.threads, helpDefault(ProcessTaskFields.threads))
    .option('--task-memory <gb>', 'memory each task needs (GB); agents with less free memory do not get it', helpDefault(taskMemoryGb));
  return addGpusOption(cmd);
}

function existingDir(dir: string): string {
  let ok = false;
  try {
    ok = statSync(dir).isDirectory();
  } catch {
    ok = false;
  }
  if (!ok) throw new InputError(`--cwd ${dir} is not a directory`);
  return dir;
}

/** The shared fields from parsed options (--cwd made absolute and checked); a UsageError names the option. */
export function readProcessTaskOptions(o: Record<string, unknown>, killGraceS: number) {
  return {
    cwd: existingDir(resolve(typeof o.cwd === 'string' ? o.cwd : '.')),
    timeoutMs: Math.round(readOption('--timeout', timeoutS, o.timeout) * 1000),
    killGraceMs: Math.round(readOption('--kill-grace', Type.Number({ minimum: 0, default: killGraceS }), o.killGrace) * 1000),
    retryFailed: o.retryFailed === true,
    threads: readOption('--threads', ProcessTaskFields.threads, o.threads),
    memory: Math.round(readOption('--task-memory', taskMemoryGb, o.taskMemory) * GB),
    gpus: readGpusOption(o),
  };
}

/** `--params JSON`: an object (absent: {}); `reserved` names a field it must not have, and why. */
export function readParamsOption(v: unknown, reserved?: { field: string; why: string }): Record<string, unknown> {
  if (v === undefined) return {};
  let p: unknown;
  try {
    p = JSON.parse(String(v));
  } catch (err) {
    throw new UsageError(`--params must be a JSON object: ${(err as Error).message}`);
  }
  if (!p || typeof p !== 'object' || Array.isArray(p)) throw new UsageError(`--params must be a JSON object, got ${String(v)}`);
  if (reserved && reserved.field in p) throw new UsageError(`--params must not have the field '${reserved.field}': ${reserved.why}`);
  return p as Record<string, unknown>;
}
