/**
 * Reading records by byte range, in a worker thread. The reader keeps its file open and reads
 * ahead a block at a time, so the consecutive records of a bundle cost one read between them.
 * Each record's range is checked against the file (it must still be a whole line, or a whole
 * csv record, and the file the job was made from): a file changed since it was indexed gives
 * an error naming the file and the line, never another record's bytes.
 *
 * A csv/tsv reader reads the header from the file's first record when it opens (once per file
 * and thread): a job's params stay small whatever the width of the header.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { InputError } from '../../errors.js';
import { csvHeader, csvRow, loadCsv } from './csv.js';
import { CR, NL, bomLength, delimiterOf, type RecordFormat } from './format.js';
import type { RecordRef } from './record-index.js';
import { RecordScanner } from './scan.js';
import { stampChange, stampError, stampOf, type FileStamp } from './stamp.js';

/** Bytes read ahead at a time. */
const BLOCK = 256 * 1024;
/** The largest record read (a bigger one is most likely a csv quote never closed). */
export const MAX_RECORD_BYTES = 64 * 1024 * 1024;

/** A SMILES line's value. */
export interface SmilesRecord {
  smiles: string;
  name: string | null;
}

function isRef(r: unknown): r is RecordRef {
  const x = r as RecordRef | null;
  return typeof x === 'object' && x !== null && Number.isSafeInteger(x.s) && Number.isSafeInteger(x.e) && Number.isSafeInteger(x.line) && x.s >= 0 && x.e >= x.s && x.line >= 1;
}

/** One open file of records; one per (file, format) and thread. `close` is idempotent. */
export class RecordReader {
  /** Reads done so far (a test's measure of read-ahead). */
  reads = 0;
  private fd: number | null;
  private buf = Buffer.allocUnsafe(BLOCK);
  private blockStart = 0;
  private blockLen = 0;
  private size: number;
  private readonly bom: number;

  private constructor(
    readonly file: string,
    readonly format: RecordFormat,
    fd: number,
    private readonly stamp: FileStamp,
    /** csv/tsv: the column names. */
    readonly header: readonly string[] | undefined,
    bom: number,
  ) {
    this.fd = fd;
    this.size = stamp.size;
    this.bom = bom;
  }

  /** Opens `file`; with `stamp`, refuses a file that is not the one the job was made from. Throws InputError. */
  static async open(file: string, format: RecordFormat, o: { stamp?: FileStamp } = {}): Promise<RecordReader> {
    if (delimiterOf(format) >= 0) await loadCsv();
    let fd: number;
    try {
      fd = openSync(file, 'r');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new InputError(`${file}: ${code === 'ENOENT' ? 'no such file on this agent' : (err as Error).message}`, err);
    }
    try {
      const now = stampOf(fstatSync(fd));
      const changed = o.stamp ? stampError(file, o.stamp, now) : null;
      if (changed) throw changed;
      const head = Buffer.alloc(3);
      const bom = bomLength(head.subarray(0, readSync(fd, head, 0, 3, 0)));
      const header = delimiterOf(format) >= 0 ? readHeader(fd, file, format, bom) : undefined;
      return new RecordReader(file, format, fd, o.stamp ?? now, header, bom);
    } catch (err) {
      closeSync(fd);
      throw err;
    }
  }

  /** The value of the record at `ref`. Throws InputError naming the file and the line. */
  read(ref: RecordRef): unknown {
    if (!isRef(ref)) throw new InputError(`${this.file}: a task's record reference is malformed: ${JSON.stringify(ref)}`);
    const where = `${this.file} line ${ref.line}`;
    if (ref.e - ref.s > MAX_RECORD_BYTES) throw new InputError(`${where}: a record of ${ref.e - ref.s} bytes, over the ${MAX_RECORD_BYTES >> 20} MiB a record may have (in a csv, a quote never closed makes the rest of the file one record)`);
    const bytes = this.bytesOf(ref, where);
    return this.value(bytes, where);
  }

  close(): void {
    if (this.fd === null) return;
    closeSync(this.fd);
    this.fd = null;
  }

  private changedError(ref: RecordRef, where: string, why: string): InputError {
    return new InputError(`${where}: the file changed since the job was submitted (${why}; this record was bytes ${ref.s}-${ref.e}); submit the job again`);
  }

  /** The record's bytes, its range checked against the file. */
  private bytesOf(ref: RecordRef, where: string): Buffer {
    const lo = ref.s > 0 ? ref.s - 1 : 0;
    const hi = ref.e + 1;
    if (lo < this.blockStart || Math.min(hi, this.size) > this.blockStart + this.blockLen) this.fill(lo, hi, ref, where);
    if (ref.e > this.size) throw this.changedError(ref, where, `the file ends at byte ${this.size}`);
    const at = (p: number): number => this.buf[p - this.blockStart]!;
    if (ref.s > 0 && ref.s !== this.bom && at(ref.s - 1) !== NL) throw this.changedError(ref, where, 'no line starts here');
    if (ref.e < this.size && at(ref.e) !== NL && at(ref.e) !== CR) throw this.changedError(ref, where, 'no line ends here');
    const bytes = this.buf.subarray(ref.s - this.blockStart, ref.e - this.blockStart);
    if (delimiterOf(this.format) < 0 && bytes.indexOf(NL) >= 0) throw this.changedError(ref, where, 'more than one line here');
    return bytes;
  }

  /** Reads from `lo` on: at least up to `hi`, a block's worth when the record is smaller. */
  private fill(lo: number, hi: number, ref: RecordRef, where: string): void {
    if (this.fd === null) throw new InputError(`${this.file}: the reader is closed`);
    const now = stampOf(fstatSync(this.fd));
    const how = stampChange(this.stamp, now);
    if (how !== null) throw this.changedError(ref, where, how);
    this.size = now.size;
    const want = Math.max(BLOCK, hi - lo);
    if (this.buf.length < want || (this.buf.length > BLOCK && want === BLOCK)) this.buf = Buffer.allocUnsafe(want);
    this.reads++;
    let got = 0;
    while (got < want) {
      const n = readSync(this.fd, this.buf, got, want - got, lo + got);
      if (n === 0) break;
      got += n;
    }
    this.blockStart = lo;
    this.blockLen = got;
  }

  private value(bytes: Buffer, where: string): unknown {
    switch (this.format) {
      case 'txt':
        return bytes.toString('utf8');
      case 'jsonl': {
        const text = bytes.toString('utf8');
        try {
          return JSON.parse(text) as unknown;
        } catch (err) {
          throw new InputError(`${where}: not JSON: ${(err as Error).message}`, err);
        }
      }
      case 'smi': {
        const text = bytes.toString('utf8').trim();
        const cut = text.search(/\s/);
        const name = cut < 0 ? '' : text.slice(cut).trim();
        return { smiles: cut < 0 ? text : text.slice(0, cut), name: name === '' ? null : name } satisfies SmilesRecord;
      }
      case 'csv':
      case 'tsv':
        return csvRow(bytes, this.format, this.header!, where);
    }
  }
}

/** The column names of a csv/tsv file: its first record, found by the index's own scanner. */
function readHeader(fd: number, file: string, format: RecordFormat, bom: number): string[] {
  let head: RecordRef | null = null;
  const scanner = new RecordScanner(
    format,
    (s, e, line) => {
      head = { s, e, line };
      return false;
    },
    bom,
  );
  const buf = Buffer.allocUnsafe(64 * 1024);
  let base = 0;
  for (;;) {
    const n = readSync(fd, buf, 0, buf.length, base);
    if (n === 0) {
      scanner.finish(base);
      break;
    }
    if (!scanner.feed(buf.subarray(0, n), base)) break;
    base += n;
    if (base > MAX_RECORD_BYTES) break;
  }
  const h = head as RecordRef | null;
  if (!h) throw new InputError(`${file}: no header row; a ${format} file starts with the names of its columns`);
  const bytes = Buffer.alloc(h.e - h.s);
  readSync(fd, bytes, 0, bytes.length, h.s);
  return csvHeader(bytes, format, `${file} line ${h.line}`);
}
