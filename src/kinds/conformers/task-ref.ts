/**
 * What a conformers task carries: references into the two SD files, never coordinates.
 */
import { ErrorCode, ShoalError } from '../../errors.js';
import type { SdfRange } from '../../io/sdf.js';
import type { TaskContent, TaskHalf, TaskSpec } from '../types.js';

/** Records of one file that a task reads. */
export interface FileRecords {
  /** Absolute path. */
  file: string;
  /** `[offset, length, line, record]` per record, in file order. */
  ranges: SdfRange[];
}

/** The `ref` of a conformers TaskSpec. */
export interface ConformersTaskRef {
  /** The molecule key (title line or SD tag value). */
  key: string;
  /**
   * Set when the key cannot be evaluated at all (present in one file only, records without a
   * key): running the task throws an InputError with this message, so it becomes an error row.
   */
  error?: string;
  /** This task's reference records (rows `rows[0]` to `rows[1] - 1` of the molecule). */
  ref?: FileRecords;
  /** The molecule's first reference record: the topology every conformer must agree with. */
  topo?: SdfRange;
  /** All generated records of the molecule. */
  gen?: FileRecords;
  /** Reference rows covered, `[first, last)`. */
  rows?: [number, number];
  /** Reference conformers of the whole molecule. */
  nRef?: number;
  /** Block number when the molecule is split (absent: the task covers the whole molecule). */
  block?: number;
}

function isRange(v: unknown): v is SdfRange {
  return Array.isArray(v) && v.length === 4 && v.every((x) => Number.isSafeInteger(x) && (x as number) >= 0);
}

function isFileRecords(v: unknown): v is FileRecords {
  if (typeof v !== 'object' || v === null) return false;
  const f = v as Record<string, unknown>;
  return typeof f.file === 'string' && Array.isArray(f.ranges) && f.ranges.every(isRange);
}

/** Checks a task ref's shape (it crossed the wire); a bad one is a bug, not bad user input. */
export function checkTaskRef(raw: unknown): ConformersTaskRef {
  const bad = (what: string): never => {
    throw new ShoalError(ErrorCode.Internal, `conformers task ref: ${what}`);
  };
  if (typeof raw !== 'object' || raw === null) return bad('not an object');
  const r = raw as Record<string, unknown>;
  if (typeof r.key !== 'string') bad('key must be a string');
  if (r.error !== undefined) {
    if (typeof r.error !== 'string') bad('error must be a string');
    return { key: r.key as string, error: r.error as string };
  }
  if (!isFileRecords(r.ref) || !isFileRecords(r.gen)) bad('ref and gen must be {file, ranges}');
  if (!isRange(r.topo)) bad('topo must be a record range');
  const rows = r.rows;
  if (!Array.isArray(rows) || rows.length !== 2 || !rows.every((x) => Number.isSafeInteger(x)) || rows[0] >= rows[1]) bad('rows must be [first, last) with first < last');
  if (!Number.isSafeInteger(r.nRef) || (rows as number[])[1]! > (r.nRef as number)) bad('nRef must cover rows');
  if ((r.ref as FileRecords).ranges.length !== (rows as number[])[1]! - (rows as number[])[0]!) bad('ref ranges must match rows');
  if (r.block !== undefined && !Number.isSafeInteger(r.block)) bad('block must be an integer');
  return raw as ConformersTaskRef;
}

/** Fewest reference rows in a half of a task split while dispatching. */
const MIN_HALF_ROWS = 16;

/**
 * The kind's `split`: a task's reference rows in two halves (the first gets the odd row), each
 * reading the molecule's generated records as before. Memory stays the whole task's (an upper
 * bound). Null for error tasks and for tasks under 2 × MIN_HALF_ROWS rows.
 */
export function splitConformersTask(task: TaskSpec, minHalfRows = MIN_HALF_ROWS): [TaskHalf, TaskHalf] | null {
  const ref = task.ref as ConformersTaskRef;
  if (ref.error !== undefined || ref.rows === undefined || ref.ref === undefined) return null;
  const [first, last] = ref.rows;
  const n = last - first;
  if (n < 2 * minHalfRows) return null;
  const mid = first + Math.ceil(n / 2);
  const half = (from: number, to: number): TaskHalf => ({
    cost: (task.cost * (to - from)) / n,
    ...(task.memory !== undefined ? { memory: task.memory } : {}),
    ref: { ...ref, ref: { file: ref.ref!.file, ranges: ref.ref!.ranges.slice(from - first, to - first) }, rows: [from, to], block: ref.block ?? 0 } satisfies ConformersTaskRef,
  });
  return [half(first, mid), half(mid, last)];
}

/**
 * The kind's cache content: the bytes of the task's records (its topology record, its
 * reference rows, the molecule's generated records), and which rows of how many it covers.
 * Null for error tasks (their row is an error, never cached).
 */
export function conformersContent(raw: unknown): TaskContent | null {
  const r = raw as ConformersTaskRef;
  if (r.error !== undefined || !r.ref || !r.gen || !r.topo) return null;
  const ranges: TaskContent['ranges'] = [[r.ref.file, r.topo[0], r.topo[0] + r.topo[1]]];
  for (const f of [r.ref, r.gen]) for (const x of f.ranges) ranges.push([f.file, x[0], x[0] + x[1]]);
  return { ranges, rest: { key: r.key, rows: r.rows, nRef: r.nRef } };
}

/** What a task was given, for its error rows: the molecule's key, and the reference rows of a block or a half (`[first, end)`). */
export function conformersInput(raw: unknown): Record<string, unknown> | null {
  const r = raw as ConformersTaskRef | null;
  if (typeof r !== 'object' || r === null || typeof r.key !== 'string') return null;
  const rows = r.rows;
  const part = Array.isArray(rows) && typeof r.nRef === 'number' && (rows[0] > 0 || rows[1] < r.nRef);
  return part ? { molecule: r.key, rows: [rows[0], rows[1]] } : { molecule: r.key };
}
