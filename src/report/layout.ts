/**
 * The timeline's layout, made once the files are read: one group of lanes per job, groups in
 * the order their jobs started (a pipeline's upstream stages first), and in each group the
 * lanes of the agent that started first, worker by worker. Also each job's overlap with the
 * job before it, which is what a pipeline's timeline is looked at for.
 */
import type { LaneGroup, LaneTotals, Geometry } from './page-data.js';

/** Task counts and busy time, kept per job and per agent while streaming. */
export interface TaskCounts {
  tasks: number;
  ok: number;
  error: number;
  /** Error rows of its tasks (a failed frame chunk counts each failed frame). */
  failedRecords: number;
  retried: number;
  busyMs: number;
  /** Its first task's start and its last task's end (epoch ms). */
  first: number;
  last: number;
}

/** One job's counts while streaming. */
export interface JobCounts extends TaskCounts {
  job: string;
}

/** A lane while streaming: `index` is the order it was first seen, which the bars point at. */
export type LaneCounts = Omit<LaneTotals, 'group'> & { index: number };

/** A job's counts, laid out. */
export interface LaidJob extends JobCounts {
  /** Worker time of its lanes while they were alive for it (each from its first task of the job to its last). */
  aliveMs: number;
  /** The job before it in the timeline (null for the first). */
  previous: string | null;
  /** How long its span [first, last] and the previous job's overlap (0 when they do not). */
  overlapMs: number;
}

export interface Layout {
  /** In drawing order: group by group. */
  lanes: LaneTotals[];
  groups: LaneGroup[];
  /** In the groups' order. */
  jobs: LaidJob[];
  /** A lane's first-seen index → its place in `lanes`. */
  remap: number[];
}

/** How long [a.first, a.last] and [b.first, b.last] share. */
export function overlapMs(a: { first: number; last: number }, b: { first: number; last: number }): number {
  return Math.max(0, Math.min(a.last, b.last) - Math.max(a.first, b.first));
}

/** A job's band above its lanes, when there are several jobs. */
export const BAND_HEIGHT = 20;

/**
 * The rows' heights and tops: lanes fill about 520px, 2 to 28px each, and the canvas (bands
 * included) stays within 16000px (1px lanes at least).
 */
export function geometryOf(groups: LaneGroup[], lanes: number): Geometry {
  const bandHeight = groups.length > 1 ? BAND_HEIGHT : 0;
  const bands = bandHeight * groups.length;
  const fill = Math.max(2, Math.min(28, Math.floor(520 / Math.max(1, lanes))));
  const laneHeight = bands + lanes * fill > 16000 ? Math.max(1, Math.floor((16000 - bands) / Math.max(1, lanes))) : fill;
  const bandTop: number[] = [];
  const laneTop = new Array<number>(lanes);
  let y = 0;
  groups.forEach((g, gi) => {
    bandTop[gi] = y;
    y += bandHeight;
    for (let l = g.lane; l < g.lane + g.lanes; l++, y += laneHeight) laneTop[l] = y;
  });
  return { laneHeight, bandHeight, bandTop, laneTop, height: Math.max(laneHeight, y) };
}

const byName = (x: string, y: string): number => (x < y ? -1 : x > y ? 1 : 0);

export function layOut(seen: LaneCounts[], jobCounts: JobCounts[]): Layout {
  const order = [...jobCounts].sort((x, y) => x.first - y.first || byName(x.job, y.job));
  const groupOf = new Map(order.map((j, i) => [j.job, i]));
  // An agent's first start in each job: its lanes in a group come in that order.
  const agentFirst = new Map<string, number>();
  for (const l of seen) {
    const k = `${l.job}\u0000${l.agent}`;
    agentFirst.set(k, Math.min(agentFirst.get(k) ?? Infinity, l.first));
  }
  const first = (l: LaneCounts): number => agentFirst.get(`${l.job}\u0000${l.agent}`)!;
  const sorted = [...seen].sort((x, y) => groupOf.get(x.job)! - groupOf.get(y.job)! || first(x) - first(y) || byName(x.agent, y.agent) || (x.worker ?? -1) - (y.worker ?? -1));
  const remap = new Array<number>(sorted.length);
  sorted.forEach((l, i) => (remap[l.index] = i));
  const lanes: LaneTotals[] = sorted.map(({ index: _i, ...l }) => ({ ...l, group: groupOf.get(l.job)! }));

  const groups: LaneGroup[] = order.map((j) => ({ job: j.job, lane: 0, lanes: 0, tasks: j.tasks, ok: j.ok, error: j.error, first: j.first, last: j.last }));
  const alive = new Array<number>(order.length).fill(0);
  lanes.forEach((l, i) => {
    const g = groups[l.group]!;
    if (g.lanes === 0) g.lane = i;
    g.lanes++;
    alive[l.group]! += l.last - l.first;
  });
  const jobs: LaidJob[] = order.map((j, i) => {
    const prev = i > 0 ? order[i - 1]! : null;
    const { job, tasks, ok, error, failedRecords, retried, busyMs, first: f, last } = j;
    return { job, tasks, ok, error, failedRecords, retried, busyMs, first: f, last, aliveMs: alive[i]!, previous: prev?.job ?? null, overlapMs: prev ? overlapMs(prev, j) : 0 };
  });
  return { lanes, groups, jobs, remap };
}
