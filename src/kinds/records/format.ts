/** The record formats, how a file's name picks one, and the bytes they treat alike. */
import { extname } from 'node:path';
import { UsageError } from '../../errors.js';

/** How a file is cut into records, and what a record's value is. */
export type RecordFormat = 'txt' | 'jsonl' | 'csv' | 'tsv' | 'smi';

/** Every format, in the order --help lists them. */
export const RECORD_FORMATS: readonly RecordFormat[] = ['txt', 'jsonl', 'csv', 'tsv', 'smi'];

/** One line each, for --help and the README. */
export const FORMAT_WORDS: Readonly<Record<RecordFormat, string>> = {
  txt: 'one string per line',
  jsonl: 'one JSON value per line',
  csv: 'one object per row, keys from the header row, values strings',
  tsv: 'as csv, tab separated',
  smi: '{ smiles, name } per line (name null when absent; # starts a comment)',
};

function isFormat(s: string): s is RecordFormat {
  return (RECORD_FORMATS as readonly string[]).includes(s);
}

/**
 * The format of `file`: `given` when there is one (an option's value), else its extension.
 * Throws UsageError naming the file (or the value) and the formats.
 */
export function recordFormatOf(file: string, given?: string, option = '--format'): RecordFormat {
  if (given !== undefined) {
    const f = given.trim().toLowerCase().replace(/^\./, '');
    if (isFormat(f)) return f;
    throw new UsageError(`${option} must be one of ${RECORD_FORMATS.join(', ')}, got '${given}'`);
  }
  const ext = extname(file).toLowerCase().slice(1);
  if (isFormat(ext)) return ext;
  throw new UsageError(`${file}: cannot tell its format from its name; name the file .${RECORD_FORMATS.join(', .')} or give ${option} (${RECORD_FORMATS.join('|')})`);
}

/** Byte values the scanner and the reader look at. */
export const NL = 10;
export const CR = 13;
export const QUOTE = 34;
export const HASH = 35;
export const TAB = 9;
export const COMMA = 44;

/** The field delimiter of a delimited format (csv, tsv), or -1. */
export function delimiterOf(format: RecordFormat): number {
  return format === 'csv' ? COMMA : format === 'tsv' ? TAB : -1;
}

/**
 * Whether byte `b` leaves a line blank: ASCII spaces, tabs, CR, VT and FF, except the format's
 * delimiter (a tsv line of tabs is a row of empty fields, as pandas reads it).
 */
export function isBlankByte(b: number, delimiter: number): boolean {
  return (b === 32 || b === TAB || b === CR || b === 11 || b === 12) && b !== delimiter;
}

/** The UTF-8 byte order mark some editors write at the start of a file; never part of a record. */
export function bomLength(head: Uint8Array): number {
  return head.length >= 3 && head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf ? 3 : 0;
}
