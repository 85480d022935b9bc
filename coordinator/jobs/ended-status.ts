/**
 * The status of a job that ended in an earlier life of the coordinator (before a restart): its
 * record in the out dir says how it ended, its summary how many tasks it had. `status JOB` then
 * tells the truth about a job the scheduler of this life never held.
 */
import { readFileSync, statSync } from 'node:fs';
import type { JobStatus } from '../../protocol/index.js';
import { summaryPathFor } from '../../src/sink/index.js';
import { findJobRecord } from './record.js';

/** The note such a status carries. */
export const ENDED_EARLIER = 'it ended before the coordinator restarted: figures from its record and summary';

/** Job `name`'s status from its record and summary, or null when no record says it ended. */
export function endedEarlierStatus(outDir: string, name: string): JobStatus | null {
  const rec = findJobRecord(outDir, name);
  if (rec === null || (rec.state !== 'done' && rec.state !== 'cancelled' && rec.state !== 'failed')) return null;
  const summary = summaryOf(rec.out);
  const ok = summary?.ok ?? 0;
  const failed = summary?.failed ?? rec.failed ?? 0;
  return {
    job: rec.job, kind: rec.kind, state: rec.state, total: ok + failed, done: ok + failed, failed, running: 0, queued: 0, retried: 0, speculated: 0,
    rate: 0, etaS: null, startedAt: rec.createdAt ?? rec.submittedAt, endedAt: summary?.at ?? null, out: rec.out, notes: [ENDED_EARLIER],
    ...(rec.upstream ? { from: rec.upstream.job } : {}),
    ...(rec.after?.length ? { after: [...rec.after] } : {}),
  };
}

/** Tasks ok and failed as the summary counts them, and when it was written; null without one. */
function summaryOf(out: string): { ok: number; failed: number; at: number } | null {
  const path = summaryPathFor(out);
  try {
    const s = JSON.parse(readFileSync(path, 'utf8')) as { tasks?: { ok?: unknown; error?: unknown } };
    const n = (v: unknown): number => (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : 0);
    return { ok: n(s.tasks?.ok), failed: n(s.tasks?.error), at: statSync(path).mtimeMs };
  } catch {
    return null;
  }
}
