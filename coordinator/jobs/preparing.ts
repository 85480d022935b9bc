/**
 * What each job does before the scheduler holds it, for `status` (state `expanding`, the step in
 * its notes) and so for `run` and `submit --wait`, which say it while they wait: reading its
 * inputs for its fingerprint, expanding its tasks, opening its output (a resumed one is read
 * through), looking its tasks up in the cache. On inputs of gigabytes each takes seconds.
 */
import type { JobStatus } from '../../protocol/index.js';
import type { JobRecord } from './record.js';

interface Step {
  kind: string;
  out: string;
  since: number;
  what: string;
  /** How far the step has got, asked when status is (absent: not known). */
  progress?: () => string;
}

/** The status of a job the scheduler does not hold (being prepared, or not resumed): no counts, its links. */
export function notRunning(rec: Pick<JobRecord, 'job' | 'kind' | 'out' | 'submittedAt' | 'after'>, state: JobStatus['state'], from: string | undefined, notes: string[] = []): JobStatus {
  return {
    job: rec.job, kind: rec.kind, state, total: 0, done: 0, failed: 0, running: 0, queued: 0, retried: 0, speculated: 0, rate: 0, etaS: null, startedAt: rec.submittedAt, endedAt: null, out: rec.out, notes,
    ...(from !== undefined ? { from } : {}),
    ...(rec.after?.length ? { after: [...rec.after] } : {}),
  };
}

export class Preparing {
  private readonly jobs = new Map<string, Step>();

  /** Job `job` is now doing `what`, and `progress` says how far (the first step names its kind and output). */
  step(job: string, what: string, first?: { kind: string; out: string }, progress?: () => string): void {
    const s = this.jobs.get(job) ?? (first ? { kind: first.kind, out: first.out, since: Date.now(), what } : undefined);
    if (!s) return;
    s.what = what;
    if (progress) s.progress = progress;
    else delete s.progress;
    this.jobs.set(job, s);
  }

  /** The job is in the scheduler now, or was refused. */
  end(job: string): void {
    this.jobs.delete(job);
  }

  /** What `job` does now (undefined once it is not being prepared). */
  doing(job: string): string | undefined {
    return this.jobs.get(job)?.what;
  }

  /** Status notes of `job`: its step, then how far the step has got where that is known. */
  notes(job: string): string[] {
    const s = this.jobs.get(job);
    if (!s) return [];
    return s.progress ? [s.what, s.progress()] : [s.what];
  }

  /** Status of the jobs being prepared that have no record yet (their inputs being read). */
  status(job: string | undefined, recorded: ReadonlyMap<string, unknown>): JobStatus[] {
    const out: JobStatus[] = [];
    for (const [name, s] of this.jobs) {
      if ((job !== undefined && job !== name) || recorded.has(name)) continue;
      out.push(notRunning({ job: name, kind: s.kind, out: s.out, submittedAt: s.since }, 'expanding', undefined, this.notes(name)));
    }
    return out;
  }
}
