/**
 * What the report page receives and what it leaves behind, shared by the server side (scan.ts
 * fills it, html.ts embeds it as JSON) and the browser script (browser/main.ts draws it).
 *
 * Types only, and no imports: the page's script is inlined as one file, so it may import
 * nothing but types (they vanish when compiled), and the browser build compiles this file with
 * the DOM library and no Node types.
 */

/** One worker lane: an agent's worker (null when the row named none), from its first task to its last. */
export interface LaneTotals {
  agent: string;
  host: string;
  worker: number | null;
  tasks: number;
  busyMs: number;
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

/** Per bin of `width` ms from `from` (epoch ms): busy worker-ms, and worker-ms of lanes alive (first..last task). */
export interface Utilization {
  from: number;
  width: number;
  busy: number[];
  capacity: number[];
}

/** The JSON embedded in the page (<script id="shoal-data" type="application/json">). */
export interface PageData {
  /** Earliest start and latest end (epoch ms); 0 when there are no rows. */
  t0: number;
  t1: number;
  kinds: string[];
  lanes: LaneTotals[];
  bars: Bars;
  util: Utilization;
}

/**
 * What the page records on `window.shoalReport` after each draw (the browser test reads it);
 * times are ms after `t0`, heights in CSS pixels.
 */
export interface PageState {
  lanes: number;
  bars: number;
  barsDrawn: number;
  view: { from: number; to: number };
  laneHeight: number;
  axisHeight: number;
}
