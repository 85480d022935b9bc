/**
 * The jobs downstream of a job: fed by its rows (`--from`) or waiting for its end (`--after`),
 * and so on down. `shoal cancel JOB --downstream` cancels them with it.
 */
import type { Ctx } from './commands.js';
import type { Job } from './job.js';
import { cancelJob } from './lifecycle.js';
import type { State } from './state.js';

/** Each job's direct downstream jobs (by the upstream's name), in submission order. */
function children(st: State): Map<string, Job[]> {
  const under = new Map<string, Job[]>();
  const add = (up: string, job: Job): void => {
    const list = under.get(up);
    if (!list) under.set(up, [job]);
    else if (!list.includes(job)) list.push(job);
  };
  for (const job of st.jobs.values()) {
    if (job.upstream !== null) add(job.upstream, job);
    for (const up of job.spec.after ?? []) add(up, job);
  }
  return under;
}

/**
 * Every job downstream of `name`, each once, ordered so that a job comes before every job it
 * is downstream of (deepest first). `name` itself is not in the list, and a loop in the links
 * (which submission refuses) ends the walk instead of repeating it.
 */
export function downstreamOf(st: State, name: string): Job[] {
  const under = children(st);
  const seen = new Set<string>([name]);
  const order: Job[] = [];
  // Depth first, a job listed once all of its own downstream jobs are (no recursion: chains may
  // be long). Siblings are taken last first, so that the list read backwards (upstream first)
  // has them in submission order.
  const kidsOf = (n: string): Job[] => [...(under.get(n) ?? [])].reverse();
  const stack: Array<{ job: Job | null; next: number; kids: Job[] }> = [{ job: null, next: 0, kids: kidsOf(name) }];
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    const kid = top.kids[top.next++];
    if (kid === undefined) {
      stack.pop();
      if (top.job) order.push(top.job);
    } else if (!seen.has(kid.name)) {
      seen.add(kid.name);
      stack.push({ job: kid, next: 0, kids: kidsOf(kid.name) });
    }
  }
  return order;
}

/**
 * Cancels job `name` and every job downstream of it that has not ended; jobs that ended stay
 * as they are. The downstream ones go first, so each ends cancelled by this request rather than
 * by its upstream's end (which would release a job waiting `--after-any`). Returns the
 * downstream jobs it cancelled, each after its upstream jobs (depth first, siblings in
 * submission order).
 */
export function cancelDownstream(st: State, name: string, ctx: Ctx): string[] {
  const open = (job: Job | undefined): job is Job => job !== undefined && (job.state === 'running' || job.state === 'waiting');
  const also: string[] = [];
  for (const job of downstreamOf(st, name)) {
    if (!open(job)) continue;
    cancelJob(st, job, ctx);
    also.push(job.name);
  }
  const job = st.jobs.get(name);
  if (open(job)) cancelJob(st, job, ctx);
  return also.reverse();
}
