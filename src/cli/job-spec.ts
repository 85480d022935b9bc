/** Turning `run <kind>` / `submit <kind>` options into a job spec. */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { Type } from '@sinclair/typebox';
import { Option, type Command } from '@commander-js/extra-typings';
import { JOB_NAME_PATTERN, type JobSpec } from '../../protocol/index.js';
import { UsageError } from '../errors.js';
import type { Kind } from '../kinds/index.js';
import { jobFilePathFor } from '../sink/index.js';
import { DEFAULT_SCHEDULER_OPTIONS, readJobRecord } from '../../coordinator/index.js';
import { integerFrom, valueOption } from './options.js';

/** Options every job takes, whatever its kind, as `addJobOptions` reads them. */
export interface JobCliOptions {
  job?: string;
  out?: string;
  force?: true;
  maxAttempts?: number;
  granularity: 'auto' | 'task' | number;
  /** `false` from --no-speculate. */
  speculate: 'on' | 'off' | false;
  after?: string;
  afterOk?: true;
  afterAny?: true;
  priority: number;
  cache?: string;
  cacheKey?: string;
  /** `false` from --no-cache-write. */
  cacheWrite?: boolean;
}

/** Options every job takes, whatever its kind. */
export function addJobOptions<Args extends unknown[]>(cmd: Command<Args>) {
  return cmd
    .option('--job <name>', 'job name: the `job` of every row, the id for status/cancel, the output file name (default: kind + a short unique suffix)')
    .option('--out <file>', "output JSONL file (default: <out-dir>/<job>.jsonl); submit: a path inside the coordinator's out dir, a relative one taken from there")
    .option('--force', 'write to --out even when it is not empty and does not look like a shoal output')
    .addOption(valueOption('--max-attempts <n>', `attempts per task before it becomes an error row (default: the coordinator's, ${DEFAULT_SCHEDULER_OPTIONS.maxAttempts})`, integerFrom(1)))
    .addOption(valueOption('--granularity <g>', "'auto' (adaptive batching), 'task' (one task per dispatch) or N tasks per dispatch", Type.Union([Type.Literal('auto'), Type.Literal('task'), integerFrom(1)])).default('auto' as const))
    .addOption(valueOption('--speculate <on|off>', 'run a second copy of a straggling task when slots are idle (never for command tasks)', Type.Union([Type.Literal('on'), Type.Literal('off')])).default('on' as const))
    .option('--no-speculate', "the same as '--speculate off'")
    .option('--after <jobs>', 'dispatch nothing until these jobs (JOB[,JOB...], known to the coordinator) have ended')
    .addOption(new Option('--after-ok', 'with --after: run only if each of them ended done without failed tasks, else cancel this job (the default)').conflicts('afterAny'))
    .addOption(new Option('--after-any', 'with --after: run however they ended'))
    .addOption(new Option('--cache <dir>', 'result cache on a shared filesystem: tasks whose input and options were run before are written from it, ok rows of the others stored (README: the result cache)').env('SHOAL_CACHE'))
    .option('--cache-key <string>', 'with --cache: counts in every task\'s key: what shoal cannot see changes, e.g. the program a command job runs, or the modules and packages (RDKit\'s version) a python function imports besides its own file')
    .option('--no-cache-write', 'with --cache: look tasks up, store nothing')
    .addOption(valueOption('--priority <n>', 'jobs of higher priority get free slots first; equal ones share them (change it later with `shoal priority`)', Type.Integer({ minimum: -1000, maximum: 1000 })).default(0));
}

/** The jobs of `--after A,B`, each a valid job name. */
function afterList(value: string): string[] {
  const names = value.split(',').map((n) => n.trim());
  for (const n of names) {
    if (!JOB_RE.test(n)) throw new UsageError(`--after '${value}': '${n}' is not a job name (JOB[,JOB...]: letters, digits, '.', '_' or '-')`);
  }
  return [...new Set(names)];
}

const JOB_RE = new RegExp(JOB_NAME_PATTERN);

export function newJobName(kind: string): string {
  return `${kind}-${Date.now().toString(36).slice(-4)}${randomBytes(2).toString('hex')}`;
}

/**
 * Builds the spec. With `--out F` and no `--job`, a job already recorded beside F is
 * resumed under its own name (so re-running the same command resumes). `remote`: the spec
 * goes to a coordinator elsewhere, which takes a relative `--out` from its own out dir.
 */
export function buildSpec(kind: Kind<unknown>, opts: JobCliOptions & Record<string, unknown>, o: { remote?: boolean } = {}): JobSpec {
  // The kind's own options are on the same object; the kind reads and checks them.
  const params = kind.params(opts);
  const out = opts.out !== undefined && !o.remote ? resolve(opts.out) : opts.out;
  let job = opts.job;
  if (!job && out && !o.remote && existsSync(jobFilePathFor(out))) job = readJobRecord(jobFilePathFor(out))?.job;
  job ??= newJobName(kind.name);
  if (!JOB_RE.test(job)) throw new UsageError(`--job '${job}' is not a valid name: use letters, digits, '.', '_' or '-' (at most 128)`);
  const spec: JobSpec = { job, kind: kind.name, params, granularity: opts.granularity === 'task' ? 1 : opts.granularity };
  // Only an explicit 'off' is recorded; otherwise the kind's default applies.
  if (opts.speculate === 'off' || opts.speculate === false) spec.speculate = false;
  if (out) spec.out = out;
  if (opts.force === true) spec.force = true;
  if (opts.maxAttempts !== undefined) spec.maxAttempts = opts.maxAttempts;
  if ((opts.afterOk || opts.afterAny) && opts.after === undefined) throw new UsageError(`${opts.afterAny ? '--after-any' : '--after-ok'} says how to wait for the jobs of --after: give --after JOB[,JOB...] too`);
  if (opts.after !== undefined) spec.after = afterList(opts.after);
  if (opts.afterAny) spec.afterAny = true;
  if (opts.priority !== 0) spec.priority = opts.priority;
  if ((opts.cacheKey !== undefined || opts.cacheWrite === false) && !opts.cache) throw new UsageError(`${opts.cacheKey !== undefined ? '--cache-key' : '--no-cache-write'} says how to use the result cache: give --cache DIR too (or set SHOAL_CACHE)`);
  if (opts.cache) spec.cache = { dir: resolve(opts.cache), ...(opts.cacheKey !== undefined ? { key: opts.cacheKey } : {}), ...(opts.cacheWrite === false ? { readOnly: true } : {}) };
  return spec;
}
