/**
 * Where a job's output may go: inside the coordinator's out dir, symbolic links followed, so a
 * submission can never make the coordinator open a file elsewhere.
 */
import { existsSync, realpathSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { JobSpec } from '../../protocol/index.js';
import { UsageError } from '../../src/errors.js';
import { defaultOutPath } from '../../src/sink/index.js';

/** `<out-dir>/<job>.jsonl`, or the spec's `out` taken from the out dir; refused when outside it. */
export function outPathOf(outDir: string, spec: JobSpec): string {
  const out = spec.out ? resolve(outDir, spec.out) : defaultOutPath(outDir, spec.job);
  confine(outDir, out, spec.out);
  return out;
}

/** Throws a UsageError naming `given` when `out` is not strictly inside `outDir`. */
export function confine(outDir: string, out: string, given = out): void {
  const rel = relative(realish(outDir), realish(out));
  if (rel === '' || rel.startsWith(`..${sep}`) || rel === '..' || isAbsolute(rel)) {
    throw new UsageError(`--out ${given} is outside the coordinator's out dir ${outDir}: give a path inside it (a relative one is taken from there)`);
  }
}

/** The real path of `p`: its nearest existing ancestor resolved (links followed), the rest as given. */
function realish(p: string): string {
  let head = resolve(p);
  let tail = '';
  while (!existsSync(head)) {
    const up = dirname(head);
    if (up === head) return resolve(p);
    tail = tail ? join(basename(head), tail) : basename(head);
    head = up;
  }
  const real = realpathSync(head);
  return tail ? join(real, tail) : real;
}
