/**
 * A job that grows while it runs: a stage fed by another job's rows gets a task for each row as
 * it commits (`onGrow`), and ends only once its upstream has ended and every task is done.
 * Tasks that come late have no number in the job's source: they are objects from birth, like
 * the halves of split tasks.
 */
import type { WireError } from '../../src/errors.js';
import { log, type Ctx } from './commands.js';
import type { Job } from './job.js';
import type { LateTask } from './options.js';
import { DONE_ERROR, DONE_OK, QUEUED } from './task-state.js';

/**
 * Adds the tasks of `late` the job does not have yet: done when the output held them before
 * this run, failing (the coordinator writes their error row, nothing runs) when they carry an
 * upstream error, queued otherwise. Returns how many were added.
 */
export function grow(job: Job, late: readonly LateTask[], ctx: Ctx): number {
  const q = job.queue;
  const errorRows: Array<{ id: string; attempt: number; error: WireError }> = [];
  let added = 0;
  for (const spec of late) {
    if (q.find(spec.id) !== undefined) continue;
    const prior = job.doneBefore?.get(spec.id);
    const { upstreamError, ...task } = spec;
    const t = q.addHalf(task, prior === undefined ? QUEUED : prior === 'ok' ? DONE_OK : DONE_ERROR);
    added++;
    if (prior === 'error') job.errors++;
    if (prior !== undefined) job.doneEarlier++;
    if (prior !== undefined || upstreamError === undefined) continue;
    const error: WireError = { code: upstreamError.code, message: upstreamError.message };
    q.move(t, { s: 'failing', error }, ctx.ev);
    errorRows.push({ id: t.id, attempt: t.attempt, error });
  }
  if (errorRows.length > 0) ctx.out.push({ kind: 'error-rows', job: job.name, rows: errorRows });
  if (added > 0) ctx.out.push(log('debug', 'tasks added from the upstream', { job: job.name, upstream: job.upstream, added, event: ctx.ev }));
  return added;
}
