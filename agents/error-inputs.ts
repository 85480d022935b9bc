/**
 * What the tasks whose error rows the agent's core writes were given (their rows' `input`): the
 * task a dead worker thread was running, and those whose rows alone are too large for the bus.
 * The shell reads them (a record's text comes from its file) and hands them to the core with
 * the bundle's end, since the core does no I/O.
 */
import { getKind, taskInput } from '../src/kinds/index.js';
import { oversized } from '../src/rows/index.js';
import type { Bundle } from './core/index.js';
import type { BundleEnd } from './worker-types.js';

/** The inputs, by task id, of the tasks of `b` the core will write error rows for after `end` (most often none). */
export function errorInputs(b: Bundle, end: BundleEnd, maxText: number): ReadonlyMap<string, unknown> {
  const ids = end.kind === 'died' ? [b.tasks[end.runningIndex]?.id] : end.kind === 'done' ? oversized(end.out.group, maxText).map((i) => end.out.group.ids[i]) : [];
  const out = new Map<string, unknown>();
  if (ids.length === 0) return out;
  const kind = getKind(b.info.kind);
  let params: unknown = b.info.params;
  try {
    if (kind) params = kind.checkParams(params);
  } catch {
    // Params that do not check: the kind's input is not asked for.
    return out;
  }
  for (const id of ids) {
    const t = id === undefined ? undefined : b.tasks.find((x) => x.id === id);
    if (t) out.set(t.id, taskInput(kind, params, t.ref));
  }
  return out;
}
