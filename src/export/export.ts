/**
 * `shoal export`: a JSONL output as a flat table, CSV or Parquet, in two streamed passes over
 * the file: the first learns the columns and their types and where each task's rows lie, the
 * second writes the rows in task order (order.ts: the JSONL is in completion order). Memory
 * holds the columns, a bounded batch of the spans out of order (more go to sorted files beside
 * the table) and, for Parquet, one row group: a file of any length is exported in bounded
 * memory. Only the bytes the file had when the first pass began are read, so an output a
 * running job is still appending to is exported as it was then.
 *
 * Lines that are not rows (not JSON, or without job, task, kind and status) are skipped and
 * counted, with the numbers of the first few; a last line without its newline is a torn write
 * (a crash mid-row) and skipped too. Neither stops the export.
 */
import { createWriteStream, renameSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { InputError, UsageError } from '../errors.js';
import { parseRow, TableShape, TooManyColumns, type Cell, type Column, type Row, type SkippedField, type Table } from './columns.js';
import { writeCsv } from './csv.js';
import { readLines, type Line, type TornTail } from './lines.js';
import { SpanCutter } from './order.js';
import { orderedRows } from './ordered.js';
import { writeParquet } from './parquet.js';
import { SpanSorter } from './span-sort.js';

export const FORMATS = ['csv', 'parquet'] as const;
export type ExportFormat = (typeof FORMATS)[number];

/** Line numbers kept for each kind of skipped line. */
export const MAX_LINE_NUMBERS = 5;

export interface ExportOptions {
  format: ExportFormat;
  /** Where the table goes; '-' is stdout (CSV only). Default: FILE with `.csv` or `.parquet` for `.jsonl`. */
  out?: string;
  /** Follow nested objects down, one column per field (see columns.ts). Default false. */
  flat?: boolean;
  /** Rows per Parquet row group at most (default parquet.ts's GROUP_ROWS). */
  groupRows?: number;
  /** Spans sorted in memory before they go to files (default span-sort.ts's SPANS_IN_MEMORY; tests use few). */
  spansInMemory?: number;
}

export interface ExportReport {
  file: string;
  /** The table's path, or '-' for stdout. */
  out: string;
  format: ExportFormat;
  flat: boolean;
  rows: number;
  columns: Column[];
  /** Value fields left out of the table (arrays of arrays): they stay in the JSONL. */
  skipped: SkippedField[];
  /** Lines that are not rows, skipped: how many, and the numbers of the first few. */
  malformed: { count: number; lines: number[] };
  /** A last line without its newline (a torn write), skipped. */
  torn: TornTail | null;
  /** Bytes of FILE read. */
  bytes: number;
  /** Putting the rows in task order: runs of a task's rows that came after one out of order (0: the file was in order), and the files their sort took (0: it fitted in memory). */
  order: { moved: number; spills: number };
}

/** The format `--format` names, else the one `--out`'s extension names. Throws UsageError. */
export function formatFor(format: string | undefined, out: string | undefined): ExportFormat {
  if (format !== undefined) {
    if ((FORMATS as readonly string[]).includes(format)) return format as ExportFormat;
    throw new UsageError(`--format ${format}: expected csv or parquet`);
  }
  const ext = out?.toLowerCase().match(/\.(csv|parquet)$/)?.[1];
  if (ext) return ext as ExportFormat;
  throw new UsageError('--format is required (csv or parquet) unless --out ends in .csv or .parquet');
}

/** FILE.jsonl → FILE.csv (or .parquet); another name gets the extension added. */
export function defaultExportPath(file: string, format: ExportFormat): string {
  return /\.jsonl$/i.test(file) ? file.replace(/\.jsonl$/i, `.${format}`) : `${file}.${format}`;
}

/** The rows of the first `size` bytes of `file`, with their lines; what is not a row goes to `malformed` and ends the cutter's span. */
async function* rowsOf(file: string, size: number, torn: { tail: TornTail | null }, malformed: ExportReport['malformed'], cutter: SpanCutter): AsyncGenerator<{ row: Row; line: Line }> {
  for await (const line of readLines(file, size, torn)) {
    const row = parseRow(line.text);
    if (row !== null) {
      yield { row, line };
      continue;
    }
    await cutter.other();
    malformed.count++;
    if (malformed.lines.length < MAX_LINE_NUMBERS) malformed.lines.push(line.number);
  }
}

function sizeOf(file: string): number {
  let st;
  try {
    st = statSync(file);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new InputError(e.code === 'ENOENT' ? `${file}: no such file` : `${file}: cannot be read (${e.code ?? e.message})`, err);
  }
  if (!st.isFile()) throw new InputError(`${file}: not a file (give a JSONL output, such as results.jsonl)`);
  return st.size;
}

/** The first pass: the table's columns, and the rows' spans cut for the order (order.ts). */
async function learn(file: string, size: number, flat: boolean, report: ExportReport, cutter: SpanCutter): Promise<Table> {
  const shape = new TableShape(flat);
  const torn = { tail: null as TornTail | null };
  for await (const { row, line } of rowsOf(file, size, torn, report.malformed, cutter)) {
    try {
      shape.add(row, line.number);
    } catch (err) {
      if (!(err instanceof TooManyColumns)) throw err;
      const hint = flat
        ? 'export without --flat: then only the top-level fields of value are columns'
        : "the value's fields differ from row to row (a field per input?): read the JSONL itself";
      throw new InputError(`${file} line ${line.number}: ${err.message}; ${hint}`);
    }
    await cutter.row(row.task, row.index, line.start, line.end);
  }
  await cutter.finish();
  report.torn = torn.tail;
  return shape.finish();
}

/** Exports `file` as a table; see the module's comment. */
export async function exportOutput(file: string, o: ExportOptions): Promise<ExportReport> {
  const flat = o.flat === true;
  const out = o.out ?? defaultExportPath(file, o.format);
  if (out === '-' && o.format === 'parquet') throw new UsageError('--out -: Parquet cannot go to stdout (it is written with its index at the end); give a file');
  if (out !== '-' && resolve(out) === resolve(file)) throw new UsageError(`--out ${out} is the file being exported: give another name`);
  const size = sizeOf(file);
  const report: ExportReport = { file, out, format: o.format, flat, rows: 0, columns: [], skipped: [], malformed: { count: 0, lines: [] }, torn: null, bytes: size, order: { moved: 0, spills: 0 } };
  // Spans out of order that do not fit in memory are sorted in files beside the table.
  const sorter = new SpanSorter(out === '-' ? tmpdir() : dirname(resolve(out)), o.spansInMemory);
  try {
    const cutter = new SpanCutter((s) => sorter.add(s));
    const table = await learn(file, size, flat, report, cutter);
    report.columns = [...table.columns];
    report.skipped = [...table.skipped];
    report.order = { moved: cutter.moved, spills: sorter.spills };
    const cells = async function* (): AsyncGenerator<Cell[]> {
      for await (const row of orderedRows(file, size, cutter.prefixEnd, sorter.sorted())) yield table.cells(row);
    };
    await write(file, out, o, report, table.columns, cells());
    report.order.spills = sorter.spills;
    return report;
  } finally {
    sorter.close();
  }
}

/** The second pass: the table written to `out` (stdout for '-'), its rows counted in `report`. */
async function write(file: string, out: string, o: ExportOptions, report: ExportReport, columns: readonly Column[], cells: AsyncIterable<Cell[]>): Promise<void> {
  if (out === '-') {
    report.rows = await writeCsv(process.stdout, columns, cells, false);
    return;
  }
  // Written beside the target and renamed over it at the end: a failed export leaves no half table.
  const partial = join(dirname(out), `.${basename(out)}.${process.pid}.partial`);
  try {
    if (o.format === 'csv') {
      report.rows = await writeCsv(createWriteStream(partial, { highWaterMark: 1 << 20 }), columns, cells);
    } else {
      const metadata = [{ key: 'shoal.export', value: JSON.stringify({ source: basename(file), flat: report.flat, skipped: report.skipped }) }];
      report.rows = await writeParquet(partial, columns, cells, { metadata, ...(o.groupRows ? { groupRows: o.groupRows } : {}) });
    }
    renameSync(partial, out);
  } catch (err) {
    rmSync(partial, { force: true });
    const e = err as NodeJS.ErrnoException;
    if (typeof e.code === 'string' && e.syscall !== undefined) throw new InputError(`cannot write ${out}: ${e.code} (${e.message})`, err);
    throw err;
  }
}
