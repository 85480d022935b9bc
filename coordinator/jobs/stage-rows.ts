/**
 * An upstream job's committed rows as a stage's tasks: one per row (per record of a
 * multi-record task), the row's value in the task's ref. Rows come from the upstream's output
 * file (what was committed before the stage was admitted) and from the sink's commits after.
 */
import { createReadStream } from 'node:fs';
import { encodedSizeBound } from '../../protocol/index.js';
import { ErrorCode } from '../../src/errors.js';
import { stageTaskId, type StageRef, type StageShape } from '../../src/kinds/index.js';
import type { LateTask } from '../scheduler/index.js';

interface UpRow {
  task: string;
  status: 'ok' | 'error';
  index?: number;
  of?: number;
  value?: unknown;
  error?: { code?: unknown; message?: unknown };
}

/** A row of job `up`, or null for a line that is not one (another job's, not JSON). */
function upRow(line: string, up: string): UpRow | null {
  let r: unknown;
  try {
    r = JSON.parse(line);
  } catch {
    return null;
  }
  if (!r || typeof r !== 'object') return null;
  const o = r as Record<string, unknown>;
  if (o.job !== up || typeof o.task !== 'string' || (o.status !== 'ok' && o.status !== 'error')) return null;
  return o as unknown as UpRow;
}

/**
 * The stage task an upstream row gives, with id `id` (derived from the row's); an error row
 * gives one that does not run (E_UPSTREAM), and so does a value too big to travel in a task
 * (over `maxBytes` encoded: E_TOO_LARGE).
 */
export function stageTask(up: string, row: UpRow, shape: StageShape, id = stageTaskId(row.task, typeof row.index === 'number' ? row.index : undefined), maxBytes = Infinity): LateTask {
  const index = typeof row.index === 'number' ? row.index : undefined;
  const what = index !== undefined ? `task ${row.task} record ${index}` : `task ${row.task}`;
  let ref: StageRef = { up: row.task, ...(index !== undefined ? { i: index } : {}), v: row.status === 'ok' ? (row.value ?? null) : null };
  let bytes = encodedSizeBound({ id, ref }) + 24;
  let tooLarge: string | null = null;
  if (bytes > maxBytes) {
    tooLarge = `the value of upstream job ${up} ${what} is about ${bytes} bytes encoded; a task carries at most ${maxBytes} (half the bus's message limit): write large values to a file and return its path`;
    ref = { ...ref, v: null };
    bytes = encodedSizeBound({ id, ref }) + 24;
  }
  const t: LateTask = {
    id,
    cost: 1,
    threads: shape.threads ?? 1,
    memory: shape.memory ?? 0,
    gpus: shape.gpus ?? 0,
    bytes,
    ref,
  };
  if (row.status === 'error') {
    const e = row.error ?? {};
    t.upstreamError = { code: ErrorCode.Upstream, message: `upstream job ${up} ${what} failed: ${String(e.code ?? 'E_TASK')}: ${String(e.message ?? '')}` };
  } else if (tooLarge !== null) {
    t.upstreamError = { code: ErrorCode.TooLarge, message: tooLarge };
  }
  return t;
}

/**
 * Collects an upstream's rows into tasks: a single row at once, a multi-record task's rows once
 * its set is whole (`of` distinct indices), each task once.
 */
export class StageRows {
  private readonly seen = new Set<string>();
  private readonly sets = new Map<string, Map<number, UpRow>>();
  /** Ids taken by a record of a multi-record task (the others by a whole task's row). */
  private readonly ofRecords = new Set<string>();
  /** Rows whose derived id another row had taken (`a.1` beside record 1 of `a`), by their task and index: the id they got. */
  private readonly clashed = new Map<string, string>();
  /** The ids given instead (`<id>~<n>`): a row whose own id is one of them clashes too. */
  private readonly instead = new Set<string>();
  readonly tasks: LateTask[] = [];

  /**
   * `maxBytes`: the most a task may carry encoded. `onClash`: told when a row's derived id was
   * taken by another row, and the id it gets instead (`<id>~<n>`).
   */
  constructor(
    private readonly up: string,
    private readonly shape: StageShape,
    private readonly maxBytes = Infinity,
    private readonly onClash?: (id: string, instead: string) => void,
  ) {}

  /** Takes one line of the upstream's output. */
  line(line: string): void {
    const row = upRow(line, this.up);
    if (row === null) return;
    if (typeof row.index !== 'number' || typeof row.of !== 'number') {
      this.take(row);
      return;
    }
    let set = this.sets.get(row.task);
    if (!set) this.sets.set(row.task, (set = new Map()));
    set.set(row.index, row);
    if (set.size < row.of) return;
    this.sets.delete(row.task);
    for (const r of set.values()) this.take(r);
  }

  /** Takes rows back to back (a commit's text). */
  text(text: string): void {
    let at = 0;
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', at)) {
      if (nl > at) this.line(text.slice(at, nl));
      at = nl + 1;
    }
  }

  /** Hands over the tasks collected so far. */
  drain(): LateTask[] {
    return this.tasks.splice(0);
  }

  /**
   * One task per row, once: a row read twice (from the file and from a commit) is taken once.
   * Ids derive from the upstream's, so two rows can derive the same one (a task `a.1` and
   * record 1 of a task `a`); the later one (in the output's order, so the same on a resume)
   * gets the first free `<id>~<n>`.
   */
  private take(row: UpRow): void {
    const record = typeof row.index === 'number';
    let id = stageTaskId(row.task, record ? row.index : undefined);
    if (this.seen.has(id)) {
      if (!this.instead.has(id) && this.ofRecords.has(id) === record) return;
      const origin = `${row.task}\u0000${record ? row.index : ''}`;
      if (this.clashed.has(origin)) return;
      let n = 1;
      while (this.seen.has(`${id}~${n}`)) n++;
      this.clashed.set(origin, `${id}~${n}`);
      this.instead.add(`${id}~${n}`);
      this.onClash?.(id, `${id}~${n}`);
      id = `${id}~${n}`;
    }
    this.seen.add(id);
    if (record) this.ofRecords.add(id);
    this.tasks.push(stageTask(this.up, row, this.shape, id, this.maxBytes));
  }
}

/**
 * The tasks of the upstream's rows in its output `path`: its first `limit` bytes (the durable
 * part, while the sink writes it), or all of it; a last line without its newline is not taken.
 */
export async function readStageRows(path: string, limit: number | null, rows: StageRows): Promise<void> {
  if (limit === 0) return;
  const stream = createReadStream(path, { encoding: 'utf8', ...(limit !== null ? { end: limit - 1 } : {}) });
  let rest = '';
  try {
    for await (const chunk of stream as AsyncIterable<string>) {
      const text = rest + chunk;
      const cut = text.lastIndexOf('\n') + 1;
      rows.text(text.slice(0, cut));
      rest = text.slice(cut);
    }
  } catch (err) {
    // No output yet: the upstream has committed nothing.
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}
