/**
 * Rendering of JSONL rows (DESIGN §4). Rows are rendered where they are produced (worker
 * threads, in parallel) so the single writer only checks ids and appends bytes.
 *
 * Field order is fixed: job, task, kind, status, attempt, agent, host, worker, start, end,
 * then a kind's own fields (the python kind's `pid`, `stdout`, `stderr`), then `index` and
 * `of` for multi-record tasks (`of` = how many rows the task has, so a torn tail can be told
 * from a complete one), then `value` or `error`, and after `error` the task's `input` (what it
 * was given: src/kinds/task-input.ts).
 */
import type { WireError } from '../errors.js';

/** The fields every row of one task shares. */
export interface RowHead {
  job: string;
  task: string;
  kind: string;
  attempt: number;
  agent: string;
  host: string;
  worker: number | null;
  start: number;
  end: number;
  /** Further fields of the kind's (a process's pid, what a task printed), after `end`. */
  fields?: Record<string, unknown>;
}

/**
 * JSON of a string that is usually the same as last time (job, kind, agent, host: the same
 * for every task of a bundle), so a worker serialises it once per bundle, not once per row.
 */
class LastJson {
  private last: string | null = null;
  private json = '';
  of(s: string): string {
    if (s !== this.last) {
      this.json = JSON.stringify(s);
      this.last = s;
    }
    return this.json;
  }
}
const jobJson = new LastJson();
const kindJson = new LastJson();
const agentJson = new LastJson();
const hostJson = new LastJson();

/** The part of a row up to (excluding) `status`, computed once per task. */
function headPrefix(h: RowHead): string {
  return `{"job":${jobJson.of(h.job)},"task":${JSON.stringify(h.task)},"kind":${kindJson.of(h.kind)}`;
}

function headSuffix(h: RowHead): string {
  const s = `,"attempt":${h.attempt},"agent":${agentJson.of(h.agent)},"host":${hostJson.of(h.host)},"worker":${h.worker === null ? 'null' : h.worker},"start":${h.start},"end":${h.end}`;
  if (!h.fields) return s;
  let more = '';
  for (const k in h.fields) if (h.fields[k] !== undefined) more += `,${JSON.stringify(k)}:${toJson(h.fields[k]) ?? 'null'}`;
  return s + more;
}

/** Serialises a value, or returns null when it cannot be (cycles, BigInt...). */
export function toJson(value: unknown): string | null {
  try {
    const s = JSON.stringify(value);
    return s === undefined ? 'null' : s;
  } catch {
    return null;
  }
}

/** One ok row with its value (already serialised). */
export function okRow(h: RowHead, valueJson: string, index?: { index: number; of: number }): string {
  const idx = index ? `,"index":${index.index},"of":${index.of}` : '';
  return `${headPrefix(h)},"status":"ok"${headSuffix(h)}${idx},"value":${valueJson}}\n`;
}

/** One error row; `input` (what the task was given) is left out when null or undefined. */
export function errorRow(h: RowHead, error: WireError, index?: { index: number; of: number }, input?: unknown): string {
  const idx = index ? `,"index":${index.index},"of":${index.of}` : '';
  const e = `{"code":${JSON.stringify(error.code)},"message":${JSON.stringify(error.message)}}`;
  const json = input === null || input === undefined ? null : toJson(input);
  return `${headPrefix(h)},"status":"error"${headSuffix(h)}${idx},"error":${e}${json === null ? '' : `,"input":${json}`}}\n`;
}
