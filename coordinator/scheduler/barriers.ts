/**
 * Barriers between jobs (`--after`): how an upstream job ended, as a waiting job sees it, and
 * whether that end lets it run (`--after-ok`, the default) or cancels it.
 */
import type { State } from './state.js';

/** How an upstream job ended: its end state and its tasks committed as error rows. */
export interface UpstreamEnd {
  readonly state: 'done' | 'cancelled' | 'failed';
  readonly failed: number;
}

/** How job `name` ended; null while it has not (or is not known yet: it may still be admitted). */
export function endOf(st: State, name: string): UpstreamEnd | null {
  const j = st.jobs.get(name);
  if (j) return j.state === 'waiting' || j.state === 'running' ? null : { state: j.state, failed: j.errors };
  return st.endedElsewhere.get(name) ?? null;
}

/** Why upstream `name`'s end cancels a job submitted with --after-ok; null: it may run. */
export function badEnd(name: string, e: UpstreamEnd): string | null {
  if (e.state !== 'done') return `upstream job ${name} ended ${e.state}`;
  if (e.failed > 0) return `upstream job ${name} ended with ${e.failed} failed task${e.failed === 1 ? '' : 's'}`;
  return null;
}
