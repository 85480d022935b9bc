/**
 * A kind's tasks by number. A kind whose task's id, cost and ref follow from its number (spin,
 * a list of numbered inputs) gives them as a `TaskList`, so a job of ten million tasks holds no
 * object per task until one is dispatched; other kinds give an array, which `taskListOf` wraps.
 */
import type { TaskSpec } from './types.js';

/** A job's tasks, numbered from 0. Ids are unique and never contain '/' (it names split halves). */
export interface TaskList {
  readonly length: number;
  /** Task number i, built anew on each call (0 <= i < length). */
  at(i: number): TaskSpec;
  /** The cost of task i alone (for ordering the queue without building tasks). */
  costAt(i: number): number;
  /** The number of the task with this id, or -1 when no task has it. */
  indexOf(id: string): number;
}

/**
 * Tasks from an array. Its id index is built on the first `indexOf`; `check` names the first
 * id given twice (or one holding a '/', where `noSlash`), or returns null.
 */
export function taskListOf(specs: readonly TaskSpec[]): TaskList & { check(noSlash: boolean): string | null } {
  let index: Map<string, number> | null = null;
  const build = (): Map<string, number> => {
    if (index) return index;
    index = new Map();
    for (let i = 0; i < specs.length; i++) if (!index.has(specs[i]!.id)) index.set(specs[i]!.id, i);
    return index;
  };
  return {
    length: specs.length,
    at: (i) => specs[i]!,
    costAt: (i) => specs[i]!.cost,
    indexOf: (id) => build().get(id) ?? -1,
    check(noSlash) {
      const m = build();
      if (m.size !== specs.length) {
        const seen = new Set<string>();
        for (const s of specs) {
          if (seen.has(s.id)) return `task id '${s.id}' twice`;
          seen.add(s.id);
        }
      }
      if (noSlash) for (const s of specs) if (s.id.includes('/')) return `task id '${s.id}' with a '/'`;
      return null;
    },
  };
}

/**
 * Ids `<prefix><number>` with the number zero-padded to the digits of the task count, the job's
 * size (`spin_0042` of 1000 tasks, `spin_07` of 10), so that string order is task order: the id
 * of task i, and the task number of an id (-1 when it is not one of them).
 */
export function numberedIds(prefix: string, n: number): { id(i: number): string; indexOf(id: string): number } {
  const width = idWidth(n);
  return {
    id: (i) => prefix + String(i).padStart(width, '0'),
    indexOf(id) {
      if (id.length !== prefix.length + width || !id.startsWith(prefix)) return -1;
      let i = 0;
      for (let k = prefix.length; k < id.length; k++) {
        const d = id.charCodeAt(k) - 48;
        if (d < 0 || d > 9) return -1;
        i = i * 10 + d;
      }
      return i < n ? i : -1;
    },
  };
}

/**
 * The rule that numbered ids follow since they are zero-padded to the digits of the job's size
 * (a kind's `idRule`). Earlier shoals padded spin, python and handler ids to the digits of the
 * last task number (`spin_042` of 1000) and did not pad frames ids at all.
 */
export const PADDED_TO_SIZE = 'padded-to-size';

/** The digits of a job's size (its task count, a file's last line number, a trajectory's frame count): numbered ids are zero-padded to it. */
export function idWidth(size: number): number {
  return String(Math.max(0, Math.floor(size))).length;
}
