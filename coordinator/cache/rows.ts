/**
 * Rows in and out of the cache, as text. A committed row is cut where its parts are (rows are
 * rendered in a fixed field order, src/rows/render.ts): the head up to `end`, what follows it up
 * to `value` (a kind's fields, `index`, `of`), and the value's text, kept byte for byte. A hit's
 * row is a new head (this job, this task, written by the coordinator now, `"cached":true` and
 * the original head under `cached_from`) followed by the stored parts; many hits' rows are
 * gathered for the sink in one buffer (HitsGathered).
 */
import { GroupBuilder } from '../../src/rows/index.js';
import type { CachedRow } from './store.js';

/** A committed ok row, cut for the cache. */
export interface CutRow {
  task: string;
  /** `t` is '' (the row of a whole task; a split task's halves prefix theirs). */
  row: Omit<CachedRow, 'v'> & { value: string };
}

const VALUE = ',"value":';
const END = ',"end":';

/**
 * The parts of one row (a line without its newline), or null when it is not an ok row whose
 * value can be told apart (then it is not cached). `"value":` is a key at the row's top level
 * only where the text before it closes as an object: inside a string its quotes would be escaped.
 */
export function cutRow(line: string): CutRow | null {
  if (!line.endsWith('}')) return null;
  let at = line.indexOf(VALUE);
  while (at >= 0) {
    let head: Record<string, unknown> | null = null;
    try {
      head = JSON.parse(line.slice(0, at) + '}') as Record<string, unknown>;
    } catch {
      head = null;
    }
    if (head !== null) return cutAt(line, at, head);
    at = line.indexOf(VALUE, at + 1);
  }
  return null;
}

function cutAt(line: string, at: number, head: Record<string, unknown>): CutRow | null {
  if (head.status !== 'ok' || typeof head.task !== 'string' || head.cached === true) return null;
  // The first `,"end":` is the head's: nothing before it holds an object, and a string's quotes are escaped.
  const endAt = line.indexOf(END);
  if (endAt < 0 || endAt > at) return null;
  let p = endAt + END.length;
  while (p < at && line.charCodeAt(p) !== 44 /* , */) p++;
  const from = JSON.stringify({ agent: head.agent, host: head.host, worker: head.worker, start: head.start, end: head.end, attempt: head.attempt });
  return { task: head.task, row: { t: '', from, mid: line.slice(p, at), value: line.slice(at + VALUE.length, line.length - 1) } };
}

/** What a hit's rows share. */
export interface HitHead {
  /** `{"job":…,"task":` rendered once per job. */
  jobJson: string;
  /** `,"kind":…,"status":"ok","attempt":1,"agent":…,"host":…,"worker":null,"start":` rendered once per job. */
  afterTask: string;
}

export function hitHead(job: string, kind: string, agent: string, host: string): HitHead {
  return { jobJson: `{"job":${JSON.stringify(job)},"task":`, afterTask: `,"kind":${JSON.stringify(kind)},"status":"ok","attempt":1,"agent":${JSON.stringify(agent)},"host":${JSON.stringify(host)},"worker":null,"start":` };
}

/** The row a hit writes for task `task` (the stored row's suffix appended to its id). */
export function hitRow(h: HitHead, task: string, now: number, r: Pick<CachedRow, 't' | 'from' | 'mid'> & { value: string }): string {
  return `${h.jobJson}${JSON.stringify(task + r.t)}${h.afterTask}${now},"end":${now},"cached":true,"cached_from":${r.from}${r.mid}${VALUE}${r.value}}\n`;
}

/** A committed group's text as its tasks' rows: task id → its cut rows (null when one of them cannot be cached). */
export function cutTasks(text: string): Map<string, CutRow['row'][] | null> {
  const out = new Map<string, CutRow['row'][] | null>();
  let s = 0;
  while (s < text.length) {
    let e = text.indexOf('\n', s);
    if (e < 0) e = text.length;
    const line = text.slice(s, e);
    s = e + 1;
    if (line.length === 0) continue;
    const c = cutRow(line);
    if (c === null) {
      // Whose row it is, for leaving that task out (an error row, or one of another shape).
      const task = taskOf(line);
      if (task !== null) out.set(task, null);
      continue;
    }
    const rows = out.get(c.task);
    if (rows === null) continue;
    if (rows === undefined) out.set(c.task, [c.row]);
    else rows.push(c.row);
  }
  return out;
}

function taskOf(line: string): string | null {
  const m = /^\{"job":"(?:[^"\\]|\\.)*","task":("(?:[^"\\]|\\.)*")/.exec(line);
  if (!m) return null;
  try {
    return JSON.parse(m[1]!) as string;
  } catch {
    return null;
  }
}

/** A hit's rows for one task, ready for the sink. */
export interface HitRows {
  id: string;
  text: string;
  rows: number;
}

/**
 * Hits for the sink, many tasks at once: their rows back to back (task i's end at `ends[i]`,
 * as in a result group) and how many rows each has. Gathered in one UTF-8 buffer as they are
 * looked up (GroupBuilder), so thousands of hits' rows do not wait as strings.
 */
export interface OwnRows {
  ids: string[];
  ends: number[];
  text: string;
  rows: number[];
}

/** Gathers hits into OwnRows. */
export class HitsGathered {
  private readonly group: GroupBuilder;
  private readonly rows: number[] = [];
  constructor(job: string) {
    this.group = new GroupBuilder(job);
  }

  get size(): number {
    return this.rows.length;
  }

  get chars(): number {
    return this.group.chars;
  }

  add(h: HitRows): void {
    this.group.add(h.id, 1, true, 0, h.text);
    this.rows.push(h.rows);
  }

  build(): OwnRows {
    const g = this.group.build();
    return { ids: g.ids, ends: g.ends, text: g.text, rows: this.rows };
  }
}
