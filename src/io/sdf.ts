/**
 * SD files (V2000 molfiles, multi-record): a streaming index of record byte ranges, random
 * access to chosen records, and the record parser.
 *
 * The coordinator indexes a file once (`indexSdf`); a task then carries the byte ranges of its
 * records and the worker reads only those (`readSdfRecords`), so nothing ever loads a whole file.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { InputError } from '../errors.js';
import { parseSdfRecord, type SdfMolecule } from './sdf-record.js';

export { indexSdf, tagName, type SdfIndex, type SdfIndexOptions, type SdfRecordInfo } from './sdf-index.js';
export { parseSdfRecord, type SdfBondType, type SdfMolecule, type SdfRecordSource } from './sdf-record.js';

/** A record's place in its file, as tasks carry it: `[offset, length, line, record]`. */
export type SdfRange = readonly [offset: number, length: number, line: number, record: number];

/** Opens `file` for reading, or throws an InputError naming it. */
function openRecords(file: string, displayName: string): number {
  try {
    return openSync(file, 'r');
  } catch (err) {
    throw new InputError(`${displayName}: cannot open (${(err as NodeJS.ErrnoException).code ?? String(err)})`, err);
  }
}

/** Reads one record's bytes at its range, or throws an InputError when the file ends early. */
function readRecord(fd: number, [offset, length, , record]: SdfRange, displayName: string): string {
  const buf = Buffer.allocUnsafe(length);
  let got = 0;
  while (got < length) {
    const n = readSync(fd, buf, got, length - got, offset + got);
    if (n === 0) break;
    got += n;
  }
  if (got < length) {
    throw new InputError(`${displayName} record #${record}: file ended after ${got} of ${length} bytes at offset ${offset} (was it changed after indexing?)`);
  }
  return buf.toString('utf8');
}

/**
 * Reads the given records' bytes from `file` (synchronously: this runs in a worker thread that
 * has nothing else to do meanwhile) and returns their text, in the order given.
 */
export function readSdfRanges(file: string, ranges: readonly SdfRange[], displayName = file): string[] {
  const fd = openRecords(file, displayName);
  try {
    return ranges.map((r) => readRecord(fd, r, displayName));
  } finally {
    closeSync(fd);
  }
}

/** Reads and parses the given records of `file`. */
export function readSdfMolecules(file: string, ranges: readonly SdfRange[], displayName = file): SdfMolecule[] {
  const out: SdfMolecule[] = [];
  forEachSdfMolecule(file, ranges, displayName, (m) => out.push(m));
  return out;
}

/**
 * Reads and parses the given records one at a time, handing each to `visit` with its index in
 * `ranges`: only one record's text and parse are alive at once, whatever the count.
 */
export function forEachSdfMolecule(file: string, ranges: readonly SdfRange[], displayName: string, visit: (mol: SdfMolecule, k: number) => void): void {
  const fd = openRecords(file, displayName);
  try {
    ranges.forEach((r, k) => visit(parseSdfRecord(readRecord(fd, r, displayName), { file: displayName, record: r[3], line: r[2] }), k));
  } finally {
    closeSync(fd);
  }
}
