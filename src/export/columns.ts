/**
 * The columns of an exported table, learned from the rows in a first pass (`TableShape`), then
 * used to turn each row into its cells in a second (`Table.cells`). Pure: no I/O.
 *
 * A row's own fields come first: job, task, index and of (when any row has them), kind, status,
 * attempt, agent, host, worker, start, end, error.code, error.message, one column per field of
 * the error rows' `input` (input.line, input.text...: what the task was given), then the kind's
 * further fields (a python row's pid, stdout, stderr). Then the value's fields:
 *
 * - without `flat`, one column per top-level field of `value`; an object or an array there is
 *   its JSON text;
 * - with `flat`, objects are followed down and each field is a column named by its path
 *   (`zeno.capacitance`); a '.' inside a key becomes '_', so dots only separate levels. Arrays
 *   are JSON text, except a kind's vectors (kind-columns.ts: `cog` → cog.x, cog.y, cog.z);
 * - a value that is not an object (a python function returning a number) is the column `value`;
 * - arrays of arrays (the conformers kind's `matrix`) are left out: they are counted in
 *   `skipped` and stay in the JSONL.
 *
 * Value columns keep the order of the fields in the value (a field first seen in a later row is
 * placed before the field that follows it there, or last), numbered keys (a kind's thresholds) go in numeric
 * order. A value field named like a row column gets the prefix `value.`.
 *
 * Types: a column whose cells are all integers (safe ones) is `int`, numbers otherwise
 * `double`, all booleans `boolean`, anything else `string` (a number or boolean among strings is
 * written as its JSON text). Nulls (and missing fields) are nulls in every type; a column of
 * nulls only is `string`.
 */
import { KIND_COLUMNS, type KindColumns } from './kind-columns.js';

/** One cell of the table. */
export type Cell = string | number | boolean | null;

/** How a column's cells are written (Parquet: BOOLEAN, INT64, DOUBLE, UTF-8 BYTE_ARRAY). */
export type ColumnType = 'boolean' | 'int' | 'double' | 'string';

export interface Column {
  name: string;
  type: ColumnType;
}

/** A value field left out of the table (arrays of arrays). */
export interface SkippedField {
  /** The column it would have been. */
  column: string;
  /** Rows that had it. */
  rows: number;
  /** The line of the first of them. */
  line: number;
}

/** Most columns a table may have: a value with a field per molecule or per input would need more. */
export const MAX_COLUMNS = 10_000;

/** Thrown by `TableShape.add` when a row would take the table past MAX_COLUMNS. */
export class TooManyColumns extends Error {
  constructor(readonly field: string) {
    super(`more than ${MAX_COLUMNS} columns (the value has a field '${field}' that no earlier row had)`);
    this.name = 'TooManyColumns';
  }
}

/** A JSONL row as export takes it: an object with string job, task and kind and a status. */
export type Row = Record<string, unknown> & { job: string; task: string; kind: string; status: 'ok' | 'error' };

/** Whether a parsed line is a row (the same test as the sink's, less the record-set checks). */
export function isRow(v: unknown): v is Row {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  const r = v as Record<string, unknown>;
  return typeof r.job === 'string' && typeof r.task === 'string' && typeof r.kind === 'string' && (r.status === 'ok' || r.status === 'error');
}

/** A line's row, or null when it is not one (not JSON, or not a row). */
export function parseRow(text: string | null): Row | null {
  if (text === null) return null;
  try {
    const v: unknown = JSON.parse(text);
    return isRow(v) ? v : null;
  } catch {
    return null;
  }
}

const LEADING = ['job', 'task'] as const;
const RECORD = ['index', 'of'] as const;
const HEAD = ['kind', 'status', 'attempt', 'agent', 'host', 'worker', 'start', 'end'] as const;
const ERROR = ['error.code', 'error.message'] as const;
const ROW_FIELDS: readonly string[] = [...LEADING, ...RECORD, ...HEAD];
/** Top-level fields that are not a kind's further fields. */
const OWN = new Set<string>([...ROW_FIELDS, 'value', 'error', 'input']);
/** The prefix of the columns of an error row's `input`. */
const INPUT = 'input.';

// What a column has seen (bits).
const BOOL = 1;
const INT = 2;
const DOUBLE = 4;
const TEXT = 8;

function bitsOf(v: string | number | boolean): number {
  if (typeof v === 'boolean') return BOOL;
  if (typeof v === 'number') return Number.isSafeInteger(v) ? INT : DOUBLE;
  return TEXT;
}

function typeOf(bits: number): ColumnType {
  if (bits === BOOL) return 'boolean';
  if (bits === INT) return 'int';
  if (bits !== 0 && (bits & ~(INT | DOUBLE)) === 0) return 'double';
  return 'string';
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const isMatrix = (v: unknown[]): boolean => v.some(Array.isArray);

/**
 * Adds the keys of `keys` that `order` lacks: each goes right before the known key that follows
 * it in `keys`, or at the end when none does (so fields a later row appends come last).
 */
function mergeOrder(order: string[], known: Set<string>, keys: readonly string[]): void {
  let before = order.length;
  for (let i = keys.length - 1; i >= 0; i--) {
    const k = keys[i]!;
    if (known.has(k)) {
      before = order.indexOf(k);
      continue;
    }
    order.splice(before, 0, k);
    known.add(k);
  }
}

/** A place in the value: a column when cells were seen there, a parent when objects were. */
class Node {
  bits = 0;
  /** Non-null cells seen here. */
  cells = 0;
  nulls = 0;
  matrix: { rows: number; line: number } | null = null;
  children: Map<string, Node> | null = null;
  order: string[] = [];
  numbered: ((key: string) => string) | null = null;
  /** The column index, once the table is made (-1: none). */
  column = -1;
  /** The path's keys joined by '.', as kind-columns.ts names places. */
  readonly key: string;
  constructor(readonly path: readonly string[]) {
    this.key = path.join('.');
  }
}

/** What each of the row's own fields has held. */
class Slots {
  readonly bits = new Map<string, number>();
  see(name: string, v: unknown): void {
    if (v === null || v === undefined) return;
    this.bits.set(name, (this.bits.get(name) ?? 0) | (typeof v === 'object' ? TEXT : bitsOf(v as string | number | boolean)));
  }
}

/** The first pass: learns the columns from rows. */
export class TableShape {
  private readonly root = new Node([]);
  private readonly row = new Slots();
  /** The kind's further fields, in their order in the rows. */
  private readonly extras: string[] = [];
  private readonly extrasKnown = new Set<string>();
  /** The fields of error rows' `input`, in their order in the rows. */
  private readonly inputs: string[] = [];
  private readonly inputsKnown = new Set<string>();
  private hasRecords = false;
  private nodes = 0;

  constructor(private readonly flat: boolean) {}

  /** Learns one row (`line`: its line number, for skipped fields). Throws TooManyColumns. */
  add(row: Row, line: number): void {
    for (const k of ROW_FIELDS) this.row.see(k, row[k]);
    if (row.index !== undefined || row.of !== undefined) this.hasRecords = true;
    const err = row.error;
    if (isObject(err)) {
      this.row.see('error.code', err.code);
      this.row.see('error.message', err.message);
    }
    if (isObject(row.input)) {
      const keys = Object.keys(row.input);
      for (const k of keys) this.row.see(INPUT + k, row.input[k]);
      mergeOrder(this.inputs, this.inputsKnown, keys);
    }
    const extra: string[] = [];
    for (const k in row) {
      if (OWN.has(k)) continue;
      extra.push(k);
      this.row.see(k, row[k]);
    }
    if (extra.length > 0) mergeOrder(this.extras, this.extrasKnown, extra);
    if ('value' in row) this.addValue(this.root, row.value, line, KIND_COLUMNS[row.kind]);
  }

  private addValue(node: Node, v: unknown, line: number, hints: KindColumns | undefined): void {
    if (v === null || v === undefined) {
      node.nulls++;
      return;
    }
    const spread = spreadOf(node, v, this.flat, hints);
    if (spread !== null) {
      const children = (node.children ??= new Map());
      const keys = Object.keys(spread);
      let fresh = false;
      for (const k of keys) {
        if (children.has(k)) continue;
        if (++this.nodes > MAX_COLUMNS) throw new TooManyColumns(node.key === '' ? k : `${node.key}.${k}`);
        children.set(k, new Node([...node.path, k]));
        fresh = true;
      }
      if (fresh) mergeOrder(node.order, new Set(node.order), keys);
      const numbered = node.path.length > 0 ? hints?.numbered?.[node.key] : undefined;
      if (numbered) node.numbered = numbered.name;
      for (const k of keys) this.addValue(children.get(k)!, spread[k], line, hints);
      return;
    }
    if (Array.isArray(v) && isMatrix(v)) {
      if (node.matrix) node.matrix.rows++;
      else node.matrix = { rows: 1, line };
      return;
    }
    node.cells++;
    node.bits |= typeof v === 'object' ? TEXT : bitsOf(v as string | number | boolean);
  }

  /** The table these rows make. */
  finish(): Table {
    const columns: Column[] = [];
    const taken = new Set<string>();
    const add = (name: string, bits: number): number => {
      let unique = name;
      for (let n = 2; taken.has(unique); n++) unique = `${name}_${n}`;
      taken.add(unique);
      columns.push({ name: unique, type: typeOf(bits) });
      return columns.length - 1;
    };
    const fixed: string[] = [...LEADING, ...(this.hasRecords ? RECORD : []), ...HEAD];
    for (const k of [...fixed, ...ERROR, ...this.inputs.map((k) => INPUT + k), ...this.extras]) add(k, this.row.bits.get(k) ?? 0);
    const reserved = new Set([...taken, ...LEADING, ...RECORD]);
    const skipped: SkippedField[] = [];
    // `name` is the node's path as columns name it; the root's ('') is the column `value`.
    const walk = (node: Node, name: string): void => {
      const own = name === '' ? 'value' : reserved.has(name) ? `value.${name}` : name;
      if (node.cells > 0 || (node.nulls > 0 && node.children === null && node.matrix === null)) node.column = add(own, node.bits);
      if (node.matrix) skipped.push({ column: own, rows: node.matrix.rows, line: node.matrix.line });
      if (node.children === null) return;
      const keys = node.numbered ? [...node.order].sort(byNumber) : node.order;
      for (const k of keys) {
        const part = node.numbered ? node.numbered(k) : this.flat ? k.replace(/\./g, '_') : k;
        walk(node.children.get(k)!, name === '' ? part : `${name}.${part}`);
      }
    };
    walk(this.root, '');
    return new Table(columns, skipped, this.root, fixed, [...this.inputs], [...this.extras], this.flat);
  }
}

/** Numbers in numeric order, then any other keys as they came. */
function byNumber(a: string, b: string): number {
  const x = Number(a);
  const y = Number(b);
  if (Number.isNaN(x) || Number.isNaN(y)) return Number.isNaN(x) ? (Number.isNaN(y) ? 0 : 1) : -1;
  return x - y;
}

/** How a value is taken apart at a node (see the module's comment); null: it is one cell. */
function spreadOf(node: Node, v: unknown, flat: boolean, hints: KindColumns | undefined): Record<string, unknown> | null {
  if (isObject(v)) return flat || node.path.length === 0 ? v : null;
  if (!flat || !Array.isArray(v) || node.path.length === 0) return null;
  const names = hints?.vectors?.[node.key];
  if (!names || v.length !== names.length || !v.every((x) => x === null || typeof x === 'number')) return null;
  const out: Record<string, unknown> = {};
  names.forEach((n, i) => (out[n] = v[i]));
  return out;
}

/** The second pass: a row's cells, in column order. */
export class Table {
  constructor(
    readonly columns: readonly Column[],
    readonly skipped: readonly SkippedField[],
    private readonly root: Node,
    private readonly fixed: readonly string[],
    private readonly inputs: readonly string[],
    private readonly extras: readonly string[],
    private readonly flat: boolean,
  ) {}

  cells(row: Row): Cell[] {
    const out: Cell[] = new Array<Cell>(this.columns.length).fill(null);
    let c = 0;
    for (const k of this.fixed) out[c] = this.cell(c++, row[k]);
    const err = isObject(row.error) ? row.error : undefined;
    out[c] = this.cell(c++, err?.code);
    out[c] = this.cell(c++, err?.message);
    const input = isObject(row.input) ? row.input : undefined;
    for (const k of this.inputs) out[c] = this.cell(c++, input?.[k]);
    for (const k of this.extras) out[c] = this.cell(c++, row[k]);
    if ('value' in row) this.valueCells(this.root, row.value, out, KIND_COLUMNS[row.kind]);
    return out;
  }

  private valueCells(node: Node, v: unknown, out: Cell[], hints: KindColumns | undefined): void {
    if (v === null || v === undefined) return;
    const spread = spreadOf(node, v, this.flat, hints);
    if (spread !== null) {
      for (const k in spread) {
        const child = node.children?.get(k);
        if (child) this.valueCells(child, spread[k], out, hints);
      }
      return;
    }
    if (node.column < 0 || (Array.isArray(v) && isMatrix(v))) return;
    out[node.column] = this.cell(node.column, v);
  }

  /** A field's value as a cell of column `c`. */
  private cell(c: number, v: unknown): Cell {
    if (v === null || v === undefined) return null;
    if (typeof v === 'object') return JSON.stringify(v);
    if (this.columns[c]!.type === 'string' && typeof v !== 'string') return JSON.stringify(v);
    return v as Cell;
  }
}
