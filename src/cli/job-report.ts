/** The end of a job as `run` and `submit --wait` print it. */
import { existsSync, readFileSync } from 'node:fs';
import type { JobStatus } from '../../protocol/index.js';
import type { Kind } from '../kinds/index.js';
import { summaryPathFor } from '../sink/index.js';
import { formatDuration, formatRate, type Output } from './output.js';

/** The end-of-run lines: counts, speed, where the output is, and the kind's own figures. */
export function reportJob(out: Output, kind: Kind<unknown> | undefined, j: JobStatus): void {
  const secs = Math.max(0.001, ((j.endedAt ?? Date.now()) - j.startedAt) / 1000);
  const ok = j.done - j.failed;
  const summaryPath = summaryPathFor(j.out);
  let summary: Record<string, unknown> | null = null;
  if (existsSync(summaryPath)) {
    try {
      summary = JSON.parse(readFileSync(summaryPath, 'utf8'));
    } catch {
      summary = null;
    }
  }
  out.data({ ...j, summary });
  const records = j.failedRecords ? ` (${j.failedRecords} failed ${j.failedRecords === 1 ? 'record' : 'records'})` : '';
  // The rate status shows for an ended job: its tasks run in this run over the time it ran. A
  // resumed job found done ran none: its rows were written before.
  const rate = j.rate > 0 ? ` (${formatRate(j.rate)} tasks/s)` : '';
  out.line(`job ${j.job} ${j.state}: ${ok} ok, ${j.failed} failed${records}${j.state === 'cancelled' || j.state === 'failed' ? `, ${j.total - j.done} not run` : ''} of ${j.total} tasks in ${formatDuration(secs)}${rate}`);
  if (j.error) out.line(`error:   ${j.error}`);
  out.line(`output:  ${j.out}`);
  if (j.cache) {
    const c = typeof summary?.cache === 'object' && summary.cache !== null ? (summary.cache as { dir?: unknown; unstored?: unknown }) : {};
    const unstored = typeof c.unstored === 'number' && c.unstored > 0 ? `; ${c.unstored} ok ${c.unstored === 1 ? 'task' : 'tasks'} not stored (the log says why)` : '';
    out.line(`cache:   ${j.cache.hits} of ${j.cache.hits + j.cache.misses} tasks found${typeof c.dir === 'string' ? ` in ${c.dir}` : ''}, ${j.cache.misses} run${unstored}`);
  }
  if (summary) {
    out.line(`summary: ${summaryPath}`);
    if (kind?.describeSummary) for (const l of kind.describeSummary(summary)) out.line(`  ${l}`);
  }
}
