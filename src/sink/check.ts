/**
 * What the sink checks in a task's rendered rows before it writes them. An agent that holds
 * the task's lease renders its rows, but the sink is the last line of defence of the output:
 * every line it writes must be a row of the group's job and task, whole, and within the size
 * limit, so the output stays one valid JSON object per line whatever an agent sends.
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

/**
 * Checks the rendered text of task `task` of job `job`: one or more lines, each a JSON object
 * with these `job` and `task`, `status` "ok" or "error"; several lines only as a complete
 * record set (`of` = the number of lines, each with its own `index`). `maxChars` bounds the
 * whole text (the limit agents enforce too, see maxResultText).
 */
export function checkTaskRows(text: string, job: string, task: string, maxChars: number): CheckedRows | RefusedRows {
  if (text.length > maxChars) return { ok: false, why: `its rows take ${text.length} characters, more than the limit of ${maxChars}`, tooLarge: true };
  if (text.length < 2 || text.charCodeAt(text.length - 1) !== 10 /* \n */) return refused('its rows do not end with a newline');
  let errorRows = 0;
  let rows = 0;
  let start = 0;
  let of: number | null = null;
  let indexes: Set<number> | null = null;
  while (start < text.length) {
    const end = text.indexOf('\n', start);
    const line = text.slice(start, end);
    start = end + 1;
    let r: unknown;
    try {
      r = JSON.parse(line);
    } catch {
      return refused(`line ${rows + 1} of its rows is not JSON`);
    }
    if (r === null || typeof r !== 'object' || Array.isArray(r)) return refused(`line ${rows + 1} of its rows is not a JSON object`);
    const row = r as { job?: unknown; task?: unknown; status?: unknown; index?: unknown; of?: unknown };
    if (row.job !== job) return refused(`line ${rows + 1} of its rows names job ${JSON.stringify(row.job)}`);
    if (row.task !== task) return refused(`line ${rows + 1} of its rows names task ${JSON.stringify(row.task)}`);
    if (row.status === 'error') errorRows++;
    else if (row.status !== 'ok') return refused(`line ${rows + 1} of its rows has status ${JSON.stringify(row.status)}`);
    if (row.of !== undefined || row.index !== undefined) {
      // `index` is the record's own number (a frame number, say), not its place in the set.
      if (!Number.isInteger(row.of) || (row.of as number) < 1 || !Number.isInteger(row.index) || (row.index as number) < 0) return refused(`line ${rows + 1} of its rows has index ${JSON.stringify(row.index)} of ${JSON.stringify(row.of)}`);
      if (of === null) of = row.of as number;
      else if (row.of !== of) return refused(`line ${rows + 1} of its rows says of ${JSON.stringify(row.of)}, line 1 says ${of}`);
      if (of > 1) {
        indexes ??= new Set();
        if (indexes.has(row.index as number)) return refused(`line ${rows + 1} of its rows repeats index ${row.index}`);
        indexes.add(row.index as number);
      }
    } else if (of !== null) return refused(`line ${rows + 1} of its rows has no index`);
    rows++;
  }
  if (rows > 1 && of === null) return refused(`it has ${rows} lines but they are not a record set (no index/of)`);
  if (of !== null && of !== rows) return refused(`its records say of ${of} but it has ${rows} lines`);
  return { ok: true, rows, errorRows };
}

function refused(why: string): RefusedRows {
  return { ok: false, why, tooLarge: false };
}
