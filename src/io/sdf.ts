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

/**
 * Reads the given records' bytes from `file` (synchronously: this runs in a worker thread that
 * has nothing else to do meanwhile) and returns their text, in the order given.
 */
export function readSdfRanges(file: string, ranges: readonly SdfRange[], displayName = file): string[] {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (err) {
    throw new InputError(`${displayName}: cannot open (${(err as NodeJS.ErrnoException).code ?? String(err)})`, err);
  }
  try {
    const out: string[] = [];
    for (const [offset, length, , record] of ranges) {
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
      out.push(buf.toString('utf8'));
    }
    return out;
  } finally {
    closeSync(fd);
  }
}

/** Reads and parses the given records of `file`. */
export function readSdfMolecules(file: string, ranges: readonly SdfRange[], displayName = file): SdfMolecule[] {
  const texts = readSdfRanges(file, ranges, displayName);
  return texts.map((text, k) => {
    const [, , line, record] = ranges[k]!;
    return parseSdfRecord(text, { file: displayName, record, line });
  });
}
