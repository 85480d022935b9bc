/**
 * GPUs as a kind's tasks ask for them and see them, for every kind whose tasks may use GPUs
 * (command, python): the `--gpus N` option on `run`/`submit <kind>`, its reader, and the
 * environment that shows a task's process exactly its GPUs.
 */
import type { CommandUnknownOpts } from '@commander-js/extra-typings';
import { Type } from '@sinclair/typebox';
import { helpDefault, readOption } from './options.js';
import type { RunContext } from './types.js';

/** GPUs one task needs: a params field (`gpus`) and the `--gpus N` option's check and default. */
export const GpuCount = Type.Integer({ minimum: 0, maximum: 1024, default: 0 });

/** Adds `--gpus <n>` (GPUs each task needs) to a kind's command. */
export function addGpusOption(cmd: CommandUnknownOpts): CommandUnknownOpts {
  return cmd.option(
    '--gpus <n>',
    'GPUs each task needs; it goes only to an agent with that many free, and its process sees exactly those in CUDA_VISIBLE_DEVICES (and SHOAL_GPUS)',
    helpDefault(GpuCount),
  );
}

/** The `--gpus` value of parsed options (0 when absent); a UsageError names the option and the value. */
export function readGpusOption(opts: Record<string, unknown>): number {
  return readOption('--gpus', GpuCount, opts.gpus);
}

/**
 * GPUs each task of a built-in kind's job needs, from its params (the `gpus` field; 0 when
 * absent): a built-in kind's tasks hold GPUs only when asked with `--gpus N`.
 */
export function gpusAsked(params: unknown): number {
  const n = params !== null && typeof params === 'object' ? (params as { gpus?: unknown }).gpus : undefined;
  return typeof n === 'number' && n > 0 ? n : 0;
}

/**
 * What a task's process is told of its GPUs: CUDA_VISIBLE_DEVICES and SHOAL_GPUS, the indices
 * separated by commas. Empty (nothing set) for a task given no GPU, so a program run by hand
 * on a GPU node behaves as it would outside shoal.
 */
export function gpuEnv(ctx: Pick<RunContext, 'gpus'>): Record<string, string> {
  if (!ctx.gpus || ctx.gpus.length === 0) return {};
  const list = ctx.gpus.join(',');
  return { CUDA_VISIBLE_DEVICES: list, SHOAL_GPUS: list };
}
