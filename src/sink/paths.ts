/** Where a job's files live, derived from its output path (DESIGN §4). */
import { dirname, basename, join } from 'node:path';

/** `x/results.jsonl` → `x/results` (the base the other files share). */
function base(out: string): string {
  const b = basename(out).replace(/\.jsonl$/i, '');
  return join(dirname(out), b);
}

/** `OUT/<job>.summary.json`, or `results.summary.json` beside `--out results.jsonl`. */
export function summaryPathFor(out: string): string {
  return `${base(out)}.summary.json`;
}

/** The job record beside the output: name, kind, parameters, fingerprint, state. */
export function jobFilePathFor(out: string): string {
  return `${base(out)}.job.json`;
}

/** The default output of a job in an out dir. */
export function defaultOutPath(outDir: string, job: string): string {
  return join(outDir, `${job}.jsonl`);
}
