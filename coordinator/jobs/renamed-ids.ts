/**
 * Resuming an output written under an earlier rule of task ids (a kind's `idRule`; records of
 * an earlier shoal name none). Ids are the journal: a row whose id the job no longer has does
 * not count as done, so every task would run again beside the old rows. Such an output is
 * refused, naming an id it holds and the job's first id now. An output whose ids are the same
 * under both rules (a job whose size kept the padding: spin_042 of 500 tasks is spin_042 still)
 * resumes as before.
 */
import { existsSync } from 'node:fs';
import { ErrorCode, ShoalError } from '../../src/errors.js';
import { PADDED_TO_SIZE } from '../../src/kinds/index.js';
import { scanJournal } from '../../src/sink/index.js';
import type { TaskSource } from '../scheduler/index.js';

/** The rules, in the user's words. */
const RULES: Readonly<Record<string, string>> = {
  [PADDED_TO_SIZE]: "task numbers are zero-padded to the digits of the job's size (spin_0042 of 1,000 tasks, frames_0000-0099 of 1,000 frames)",
};

/** The first of `ids` that names neither a task of `tasks` nor a half of one (`<id>/0`, `<id>/1/0`...), or null. */
export function strayId(ids: Iterable<string>, tasks: Pick<TaskSource, 'indexOf'>): string | null {
  for (const id of ids) {
    let base = id;
    while (tasks.indexOf(base) < 0) {
      const cut = base.lastIndexOf('/');
      if (cut < 0) return id;
      base = base.slice(0, cut);
    }
  }
  return null;
}

/**
 * Refuses to resume job `job` into `out` when the rows there name tasks it does not have (their
 * ids follow another rule than `rule`, the job's now). One pass over the output, only when the
 * job's record names another rule than the job has now.
 */
export async function refuseRenamedIds(job: string, out: string, tasks: TaskSource, rule: string | undefined): Promise<void> {
  if (!existsSync(out) || tasks.length === 0) return;
  const scan = await scanJournal(out, job, false, { length: tasks.length, indexOf: (id) => tasks.indexOf(id), idOf: (i) => tasks.at(i).id });
  const stray = strayId(scan.done.outsiders(), tasks);
  if (stray === null) return;
  const why = (rule !== undefined ? RULES[rule] : undefined) ?? 'task ids are made by another rule';
  throw new ShoalError(
    ErrorCode.Fingerprint,
    `refusing to resume job '${job}' into ${out}: its rows name tasks this job does not have (such as '${stray}', where its first task is now '${tasks.at(0).id}'), ` +
      `because an earlier shoal named them: now ${why}, and a resume would run every task again beside those rows. Use another --out (or --job), or remove the old output to start over`,
  );
}
