/**
 * The fields of one csv or tsv record, by csv-parse (its sync API): quoting, doubled quotes and
 * newlines inside quotes are its business. It is loaded on the first csv file, so jobs of other
 * formats never load it.
 *
 * Options: quotes relaxed as pandas reads them (a quote inside an unquoted field is a character),
 * field counts checked here (so the message says what the header has), values left as strings.
 */
import type { CsvError, parse as ParseFn } from 'csv-parse/sync';
import { InputError } from '../../errors.js';
import type { RecordFormat } from './format.js';

let parse: typeof ParseFn | undefined;

/** Loads csv-parse (once per thread) before the first `csvFields`. */
export async function loadCsv(): Promise<void> {
  parse ??= (await import('csv-parse/sync')).parse;
}

/** What a csv-parse error code means for a user. */
function reason(err: unknown): string {
  const e = err as Partial<CsvError>;
  switch (e.code) {
    case 'CSV_QUOTE_NOT_CLOSED':
      return 'a quoted field is not closed (every " that opens a field needs one that closes it; write "" for a " inside)';
    case 'CSV_INVALID_CLOSING_QUOTE':
      return 'a quote inside a quoted field must be doubled ("")';
    default:
      return e.message ?? String(err);
  }
}

/**
 * The fields of the record in `bytes` (its newline already cut off). `where` is how messages
 * name it (`rows.csv line 88`). Throws InputError.
 */
export function csvFields(bytes: Uint8Array, format: RecordFormat, where: string): string[] {
  if (!parse) throw new Error('csv-parse is not loaded: call loadCsv() first');
  let rows: string[][];
  try {
    rows = parse(bytes, { delimiter: format === 'tsv' ? '\t' : ',', record_delimiter: '\n', relax_quotes: true, relax_column_count: true, bom: false, skip_empty_lines: false });
  } catch (err) {
    throw new InputError(`${where}: ${reason(err)}`, err);
  }
  if (rows.length !== 1) throw new InputError(`${where}: expected one ${format} record here, found ${rows.length} (did the file change since the job was submitted?)`);
  return rows[0]!;
}

/** The header's column names; a name given twice is refused (a row's keys would collide). */
export function csvHeader(bytes: Uint8Array, format: RecordFormat, where: string): string[] {
  const names = csvFields(bytes, format, where);
  const seen = new Set<string>();
  for (const n of names) {
    if (seen.has(n)) throw new InputError(`${where}: the header names column '${n}' twice; rename one (each row becomes an object keyed by the header)`);
    seen.add(n);
  }
  return names;
}

/** A data row as an object keyed by the header; a row with another number of fields is an error for that row. */
export function csvRow(bytes: Uint8Array, format: RecordFormat, header: readonly string[], where: string): Record<string, string> {
  const fields = csvFields(bytes, format, where);
  if (fields.length !== header.length) throw new InputError(`${where}: ${fields.length} field${fields.length === 1 ? '' : 's'}, the header has ${header.length}`);
  // fromEntries defines own properties: a column named __proto__ stays a column.
  return Object.fromEntries(header.map((name, k) => [name, fields[k]!]));
}
