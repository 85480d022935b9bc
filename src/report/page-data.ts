/**
 * What the report page receives and what it leaves behind, shared by the server side (scan.ts
 * fills it, html.ts embeds it as JSON) and the browser script (browser/main.ts draws it).
 *
 * Types only, and no imports: the page's script is inlined as one file, so it may import
 * nothing but types (they vanish when compiled), and the browser build compiles this file with
 * the DOM library and no Node types.
 */

/**
 * One worker lane: an agent's worker (null when the row named none) as one job used it, from
 * that job's first task on it to its last. A worker that ran tasks of two jobs has a lane in
 * each job's group.
 */
export interface LaneTotals {
  job: string;
  /** Index into the groups. */
  group: number;
  agent: string;
  host: string;
  worker: number | null;
  tasks: number;
  busyMs: number;
  first: number;
  last: number;
}

/**
 * One job's lanes, drawn together under a band with its name: lanes `lane` to
 * `lane + lanes - 1`. Groups are ordered by their first task's start, so upstream stages of a
 * pipeline come first. `first` and `last` are epoch ms (its first start, its last end).
 */
export interface LaneGroup {
  job: string;
  lane: number;
  lanes: number;
  tasks: number;
  ok: number;
  error: number;
  first: number;
  last: number;
}

/** Columnar bars: index i is one task. `start` is ms after `t0`. */
export interface Bars {
  /** Index into the lanes. */
  lane: number[];
  start: number[];
  ms: number[];
  /** Index into the kinds. */
  kind: number[];
  /** 0 ok, 1 error. */
  status: number[];
  attempt: number[];
  task: string[];
}

/**
 * Where the timeline's rows are, in CSS pixels down its canvas: each job's band (when there
 * are several jobs), then the job's lanes. Laid out on the server (layout.ts), which renders
 * the labels beside the rows at the same heights; the page draws the rows there.
 */
export interface Geometry {
  laneHeight: number;
  /** 0 for a lone job: no band. */
  bandHeight: number;
  /** Per group. */
  bandTop: number[];
  /** Per lane. */
  laneTop: number[];
  height: number;
}

/**
 * Per bin of `width` ms from `from` (epoch ms): busy worker-ms, and worker-ms of workers alive
 * (an agent's worker from its first task to its last, whatever their jobs).
 */
export interface Utilization {
  from: number;
  width: number;
  busy: number[];
  capacity: number[];
}

/** The colours of the bars (per kind, in the kinds' order, repeating), of failed and retried tasks, and of job bands. */
export interface Palette {
  kinds: string[];
  error: string;
  retry: string;
  bands: string[];
}

/** The JSON embedded in the page (<script id="shoal-data" type="application/json">). */
export interface PageData {
  /** Earliest start and latest end (epoch ms); 0 when there are no rows. */
  t0: number;
  t1: number;
  kinds: string[];
  /** One per job; the page draws their bands when there are two or more. */
  groups: LaneGroup[];
  lanes: LaneTotals[];
  geometry: Geometry;
  palette: Palette;
  bars: Bars;
  util: Utilization;
}

/**
 * What the page records on `window.shoalReport` after each draw (the browser test reads it);
 * times are ms after `t0`, heights in CSS pixels.
 */
export interface PageState {
  lanes: number;
  /** Each group's job, its lanes and the top of its band (0 for a lone job, which has no band). */
  groups: Array<{ job: string; lanes: number; top: number }>;
  /** The top of each lane on the timeline canvas. */
  laneTops: number[];
  bars: number;
  barsDrawn: number;
  view: { from: number; to: number };
  laneHeight: number;
  axisHeight: number;
}
