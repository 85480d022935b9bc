/**
 * How `shoal status` lays out jobs that feed each other: a job is drawn under the one it takes
 * its rows from (`from`), else under the first it was submitted after (`after`), with tree
 * glyphs before its name. Pure: jobs in, rows in drawing order out; both printers (the table
 * and `--watch`) use it.
 */
import type { JobStatus } from '../../protocol/index.js';

/** One job as drawn: where it sits in the tree and what goes before its lines. */
export interface TreeRow {
  readonly job: JobStatus;
  /** 0 for a job drawn at the left (no upstream in the list), 1 under it, and so on. */
  readonly depth: number;
  /** Before the job's name: '' for a root, else the branches above and `├─ ` or `└─ `. */
  readonly prefix: string;
  /** Before each further line of the job (progress, notes): the branches that go on past it. */
  readonly indent: string;
  /** The job it is drawn under; null for a root. */
  readonly parent: string | null;
  /** Its upstream jobs other than `parent`, as `from X` or `after X`, in the order the job names them. */
  readonly others: readonly string[];
}

const BRANCH = '├─ ';
const LAST = '└─ ';
const PAST = '│  ';
const BLANK = '   ';

/** A job's upstream jobs, each once: its `from` first, then its `after` ones; never itself. */
function upstreams(j: JobStatus): Array<{ rel: 'from' | 'after'; name: string }> {
  const ups: Array<{ rel: 'from' | 'after'; name: string }> = [];
  if (j.from !== undefined) ups.push({ rel: 'from', name: j.from });
  for (const name of j.after ?? []) ups.push({ rel: 'after', name });
  const seen = new Set<string>([j.job]);
  return ups.filter((u) => !seen.has(u.name) && seen.add(u.name));
}

/**
 * The jobs as a forest, in drawing order: roots (jobs none of whose upstream jobs is in the
 * list) in the order given, each followed by the jobs under it, depth first, siblings in the
 * order given. A job appears once, under the first of its upstream jobs that is in the list;
 * the others are in `others`. Links that loop (bad data: submission refuses them) are cut
 * where the loop is found, so every job is drawn once and the walk ends.
 */
export function statusTree(jobs: readonly JobStatus[]): TreeRow[] {
  const index = new Map<string, number>();
  jobs.forEach((j, i) => {
    if (!index.has(j.job)) index.set(j.job, i);
  });
  const ups = jobs.map(upstreams);
  const parent: Array<number | null> = ups.map((u) => {
    const first = u.find((x) => index.has(x.name));
    return first === undefined ? null : index.get(first.name)!;
  });
  const under = jobs.map((): number[] => []);
  parent.forEach((p, i) => p !== null && under[p]!.push(i));
  // A loop has no root: climb from a job not drawn yet until a job repeats, and make that one a root.
  const placed = new Set<number>();
  const cut = (i: number): number => {
    const climbed = new Set<number>();
    let at = i;
    while (parent[at] !== null && !climbed.has(at)) {
      climbed.add(at);
      at = parent[at]!;
    }
    parent[at] = null;
    return at;
  };
  const rows: TreeRow[] = [];
  const draw = (root: number): void => {
    const stack: Array<{ i: number; depth: number; above: string; last: boolean }> = [{ i: root, depth: 0, above: '', last: true }];
    while (stack.length > 0) {
      const { i, depth, above, last } = stack.pop()!;
      placed.add(i);
      // A job cut out of a loop is drawn as a root, not again under its upstream.
      const kids = under[i]!.filter((k) => !placed.has(k));
      const past = depth === 0 ? '' : above + (last ? BLANK : PAST);
      const p = parent[i] === null ? null : jobs[parent[i]!]!.job;
      rows.push({
        job: jobs[i]!,
        depth,
        prefix: depth === 0 ? '' : above + (last ? LAST : BRANCH),
        indent: past + (kids.length > 0 ? PAST : BLANK),
        parent: p,
        others: ups[i]!.filter((u) => u.name !== p).map((u) => `${u.rel} ${u.name}`),
      });
      for (let k = kids.length - 1; k >= 0; k--) stack.push({ i: kids[k]!, depth: depth + 1, above: past, last: k === kids.length - 1 });
    }
  };
  for (let i = 0; i < jobs.length; i++) if (parent[i] === null && !placed.has(i)) draw(i);
  for (let i = 0; i < jobs.length; i++) if (!placed.has(i)) draw(cut(i));
  return rows;
}

/** A job's state as status shows it: `waiting` for a job held by --after, its priority when not 0. */
export function shownState(j: JobStatus): string {
  const state = j.waitingFor ? 'waiting' : j.state;
  return j.priority ? `${state} (p${j.priority})` : state;
}

/**
 * What is said of a job below the table (or its progress): what it waits for, why it ended
 * badly, the coordinator's notes, and its upstream jobs other than the one it is drawn under.
 * Each as `[label, text]`.
 */
export function remarks(row: TreeRow): Array<[string, string]> {
  const j = row.job;
  const out: Array<[string, string]> = [];
  if (j.waitingFor) out.push(['waiting', `for ${j.waitingFor.join(', ')} to end`]);
  if (j.error) out.push([j.state, j.error]);
  for (const n of j.notes) out.push(['note', n]);
  if (row.others.length > 0) out.push(['note', `${row.parent === null ? '' : 'also '}${row.others.join(', ')}`]);
  return out;
}
