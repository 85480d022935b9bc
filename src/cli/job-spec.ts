/** Turning `run <kind>` / `submit <kind>` options into a job spec. */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { JobSpec } from '../../protocol/index.js';
import { UsageError } from '../errors.js';
import type { Kind } from '../kinds/index.js';
import { jobFilePathFor } from '../sink/index.js';
import { readJobRecord } from '../../coordinator/index.js';
import { positive } from './actors.js';

/** Options every job takes, whatever its kind. */
export function addJobOptions(cmd: Command): Command {
  return cmd
    .option('--job <name>', 'job name: the `job` of every row, the id for status/cancel, the output file name (default: kind + a short unique suffix)')
    .option('--out <file>', "output JSONL file (default: <out-dir>/<job>.jsonl); submit: a path inside the coordinator's out dir, a relative one taken from there")
    .option('--force', 'write to --out even when it is not empty and does not look like a shoal output')
    .option('--max-attempts <n>', 'attempts per task before it becomes an error row (default: the coordinator\'s, 3)')
    .option('--granularity <g>', "'auto' (adaptive batching), 'task' (one task per dispatch) or N tasks per dispatch", 'auto')
    .option('--speculate <on|off>', 'run a second copy of a straggling task when slots are idle (never for command tasks)', 'on')
    .option('--no-speculate', "the same as '--speculate off'");
}

const JOB_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export function newJobName(kind: string): string {
  return `${kind}-${Date.now().toString(36).slice(-4)}${randomBytes(2).toString('hex')}`;
}

function granularity(v: string | undefined): 'auto' | number {
  if (v === undefined || v === 'auto') return 'auto';
  if (v === 'task') return 1;
  return positive('--granularity', v, 1, { integer: true, min: 1 });
}

/**
 * Builds the spec. With `--out F` and no `--job`, a job already recorded beside F is
 * resumed under its own name (so re-running the same command resumes). `remote`: the spec
 * goes to a coordinator elsewhere, which takes a relative `--out` from its own out dir.
 */
export function buildSpec(kind: Kind<any>, opts: Record<string, unknown>, o: { remote?: boolean } = {}): JobSpec {
  const params = kind.params(opts);
  const given = typeof opts.out === 'string' ? opts.out : undefined;
  const out = given !== undefined && !o.remote ? resolve(given) : given;
  let job = typeof opts.job === 'string' ? opts.job : undefined;
  if (!job && out && !o.remote && existsSync(jobFilePathFor(out))) job = readJobRecord(jobFilePathFor(out))?.job;
  job ??= newJobName(kind.name);
  if (!JOB_RE.test(job)) throw new UsageError(`--job '${job}' is not a valid name: use letters, digits, '.', '_' or '-' (at most 128)`);
  const spec: JobSpec = { job, kind: kind.name, params, granularity: granularity(opts.granularity as string | undefined) };
  // Only an explicit 'off' is recorded; otherwise the kind's default applies.
  const speculate = opts.speculate === false ? 'off' : String(opts.speculate ?? 'on');
  if (speculate !== 'on' && speculate !== 'off') throw new UsageError(`--speculate must be 'on' or 'off', got '${speculate}'`);
  if (speculate === 'off') spec.speculate = false;
  if (out) spec.out = out;
  if (opts.force === true) spec.force = true;
  if (opts.maxAttempts !== undefined) spec.maxAttempts = positive('--max-attempts', String(opts.maxAttempts), 3, { integer: true, min: 1 });
  return spec;
}
