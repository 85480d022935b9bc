/**
 * What the sink checks in a task's rendered rows before it writes them. An agent that holds
 * the task's lease renders its rows, but the sink is the last line of defence of the output:
 * every line it writes must be a JSON object that is a row of the group's job and task, sent
 * by the agent it names, whole, and within the size limit, so the output stays one valid
 * JSON object per line whatever an agent sends.
 *
 * Rows as shoal renders them (src/rows/render.ts: fixed fields in a fixed order) are checked
 * field by field, and only their `value` (or `error`) goes through JSON.parse: parsing whole
 * rows was most of the sink's time per row. A row in any other form gets the full parse.
 */

/** A task's rows, checked: how many, and how many are error rows. */
export interface CheckedRows {
  ok: true;
  rows: number;
  errorRows: number;
}

export interface RefusedRows {
  ok: false;
  /** Why, for the error row that replaces them and the log. */
  why: string;
  /** The rows are only too large (the replacement is E_TOO_LARGE). */
  tooLarge: boolean;
}

/** What every row of a group must say besides its task. */
export interface RowExpectation {
  job: string;
  /** The sender's id: each row must name it as its `agent`. */
  agent: string;
}

interface Line {
  error: boolean;
  index: number | undefined;
  of: number | undefined;
}

/**
 * Checks the rendered text of task `task`: one or more lines, each a JSON object with the
 * expected `job`, this `task`, the sender as `agent`, and `status` "ok" or "error"; several
 * lines only as a complete record set (`of` = the number of lines, each with its own
 * `index`). `maxChars` bounds the whole text (the limit agents enforce too, maxResultText).
 */
export function checkTaskRows(text: string, task: string, maxChars: number, x: RowExpectation, parse = true): CheckedRows | RefusedRows {
  if (text.length > maxChars) return { ok: false, why: `its rows take ${text.length} characters, more than the limit of ${maxChars}`, tooLarge: true };
  if (text.length < 2 || text.charCodeAt(text.length - 1) !== 10 /* \n */) return refused('its rows do not end with a newline');
  if (!parse) return counted(text);
  // One row, the usual case: parsed as it is (JSON allows the trailing newline), no result allocated.
  if (text.indexOf('\n') === text.length - 1) {
    const line = parsed(text, task, x);
    if (typeof line === 'string') return refused(`line 1 of its rows ${line}`);
    if (line.of === undefined && line.index === undefined) return line.error ? ONE_ERROR : ONE_OK;
  }
  let errorRows = 0;
  let rows = 0;
  let start = 0;
  let of: number | null = null;
  let indexes: Set<number> | null = null;
  while (start < text.length) {
    const end = text.indexOf('\n', start);
    const n = rows + 1;
    const line = parsed(text.slice(start, end), task, x);
    start = end + 1;
    if (typeof line === 'string') return refused(`line ${n} of its rows ${line}`);
    if (line.error) errorRows++;
    if (line.of !== undefined || line.index !== undefined) {
      // `index` is the record's own number (a frame number, say), not its place in the set.
      if (!Number.isInteger(line.of) || line.of! < 1 || !Number.isInteger(line.index) || line.index! < 0) return refused(`line ${n} of its rows has index ${JSON.stringify(line.index)} of ${JSON.stringify(line.of)}`);
      if (of === null) of = line.of!;
      else if (line.of !== of) return refused(`line ${n} of its rows says of ${line.of}, line 1 says ${of}`);
      if (of > 1) {
        indexes ??= new Set();
        if (indexes.has(line.index!)) return refused(`line ${n} of its rows repeats index ${line.index}`);
        indexes.add(line.index!);
      }
    } else if (of !== null) return refused(`line ${n} of its rows has no index`);
    rows++;
  }
  if (rows > 1 && of === null) return refused(`it has ${rows} lines but they are not a record set (no index/of)`);
  if (of !== null && of !== rows) return refused(`its records say of ${of} but it has ${rows} lines`);
  return { ok: true, rows, errorRows };
}

/** One line: a Line, or why it is refused. */
function parsed(line: string, task: string, x: RowExpectation): Line | string {
  let r: unknown;
  try {
    r = JSON.parse(line);
  } catch {
    return 'is not JSON';
  }
  if (r === null || typeof r !== 'object' || Array.isArray(r)) return 'is not a JSON object';
  const row = r as { job?: unknown; task?: unknown; agent?: unknown; status?: unknown; index?: unknown; of?: unknown };
  if (row.job !== x.job) return `names job ${JSON.stringify(row.job)}`;
  if (row.task !== task) return `names task ${JSON.stringify(row.task)}`;
  if (row.agent !== x.agent) return `names agent ${JSON.stringify(row.agent)}, not its sender`;
  if (row.status !== 'ok' && row.status !== 'error') return `has status ${JSON.stringify(row.status)}`;
  return { error: row.status === 'error', index: row.index as number | undefined, of: row.of as number | undefined };
}

/** Rows rendered in this very process (see SinkOptions.checkRows): lines and error rows counted, not parsed. */
function counted(text: string): CheckedRows {
  let rows = 0;
  let errorRows = 0;
  for (let start = 0; start < text.length; rows++) {
    // A row's own status is the first `,"status":"` of its line: the strings before it (job,
    // task, kind) are JSON strings, which cannot hold that sequence unescaped.
    const st = text.indexOf(',"status":"', start);
    if (text.startsWith('error"', st + 11)) errorRows++;
    start = text.indexOf('\n', start) + 1;
  }
  return rows === 1 ? (errorRows > 0 ? ONE_ERROR : ONE_OK) : { ok: true, rows, errorRows };
}

const ONE_OK: CheckedRows = Object.freeze({ ok: true, rows: 1, errorRows: 0 });
const ONE_ERROR: CheckedRows = Object.freeze({ ok: true, rows: 1, errorRows: 1 });

function refused(why: string): RefusedRows {
  return { ok: false, why, tooLarge: false };
}
