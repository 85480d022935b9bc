/**
 * The index of a file's records: where each one is (a byte range and the line it starts on),
 * built by streaming the file once, in a few bytes per record (packed.ts). The coordinator
 * builds it at expand; tasks carry one record's range each.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { InputError } from '../../errors.js';
import { numberedIds, type TaskList } from '../task-list.js';
import type { TaskSpec } from '../types.js';
import { csvHeader, loadCsv } from './csv.js';
import { bomLength, delimiterOf, type RecordFormat } from './format.js';
import { CHUNK, CHUNK_SHIFT, PackedUints } from './packed.js';
import { RecordScanner } from './scan.js';
import { stampError, stampOf, type FileStamp } from './stamp.js';

/** Byte range [s, e) of one record in its file and the line it starts on (from 1). msgpack-able, small. */
export interface RecordRef {
  s: number;
  e: number;
  line: number;
}

/** What a task of `recordTasks` carries: its record's range, and the record's number (from 0). */
export interface RecordTaskRef extends RecordRef {
  i: number;
}

/** A file's records, by number from 0 in file order (csv/tsv: data rows after the header). */
export interface RecordIndex {
  readonly file: string;
  readonly format: RecordFormat;
  readonly count: number;
  /** Lines in the file (a last line without a newline counts). */
  readonly lines: number;
  /** The file when it was indexed. */
  readonly stamp: FileStamp;
  /** csv/tsv: the column names. */
  readonly header?: string[];
  /** Record i (0 <= i < count). */
  ref(i: number): RecordRef;
  /** The number of the record that starts on `line`, or -1. */
  indexOfLine(line: number): number;
  /** Bytes the index holds. */
  readonly bytes: number;
}

/** Bytes read at a time. */
const BLOCK = 1 << 20;

function openError(what: string, file: string, err: unknown): InputError {
  const code = (err as NodeJS.ErrnoException).code;
  const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory, not a file' : (err as Error).message;
  return new InputError(`${what}${file}: ${why}`, err);
}

/** Columns of the records: offsets and lines relative to their chunk's first record (small numbers pack small). */
class Columns {
  readonly off = new PackedUints();
  readonly len = new PackedUints();
  readonly lineGap = new PackedUints();
  readonly baseOff: number[] = [];
  readonly baseLine: number[] = [];
  count = 0;

  push(s: number, e: number, line: number): void {
    const k = this.count & (CHUNK - 1);
    if (k === 0) {
      this.baseOff.push(s);
      this.baseLine.push(line);
    }
    const c = this.count >>> CHUNK_SHIFT;
    this.off.push(s - this.baseOff[c]!);
    this.len.push(e - s);
    // A record starts at least one line after the one before: line - k never falls below the base.
    this.lineGap.push(line - this.baseLine[c]! - k);
    this.count++;
  }

  ref(i: number): RecordRef {
    const c = i >>> CHUNK_SHIFT;
    const s = this.baseOff[c]! + this.off.get(i);
    return { s, e: s + this.len.get(i), line: this.lineOf(i) };
  }

  lineOf(i: number): number {
    return this.baseLine[i >>> CHUNK_SHIFT]! + (i & (CHUNK - 1)) + this.lineGap.get(i);
  }

  get bytes(): number {
    return this.off.bytes + this.len.bytes + this.lineGap.bytes + 16 * this.baseOff.length;
  }
}

async function readRange(fh: FileHandle, s: number, e: number): Promise<Buffer> {
  const buf = Buffer.alloc(e - s);
  const { bytesRead } = await fh.read(buf, 0, buf.length, s);
  return buf.subarray(0, bytesRead);
}

/**
 * Streams the file once (never holds it whole) and indexes its records. Malformed records are
 * indexed like the others (their error shows when their task reads them). Throws InputError
 * (naming `what`, e.g. '--inputs ', and the file) when the file cannot be read, when it is not
 * the file of `stamp`, or, for csv/tsv, when its header is missing or names a column twice.
 */
export async function indexRecords(file: string, format: RecordFormat, o: { stamp?: FileStamp; what?: string } = {}): Promise<RecordIndex> {
  const what = o.what ?? '';
  let fh: FileHandle;
  try {
    fh = await open(file, 'r');
  } catch (err) {
    throw openError(what, file, err);
  }
  try {
    const before = stampOf(await fh.stat());
    if (o.stamp) {
      const changed = stampError(file, o.stamp, before);
      if (changed) throw changed;
    }
    const delimited = delimiterOf(format) >= 0;
    if (delimited) await loadCsv();
    const cols = new Columns();
    let head: RecordRef | null = null;
    const buf = Buffer.allocUnsafe(BLOCK);
    let base = 0;
    let scanner: RecordScanner | null = null;
    for (;;) {
      let bytesRead: number;
      try {
        ({ bytesRead } = await fh.read(buf, 0, BLOCK, base));
      } catch (err) {
        throw openError(what, file, err);
      }
      const block = buf.subarray(0, bytesRead);
      scanner ??= new RecordScanner(
        format,
        (s, e, line) => {
          if (delimited && head === null) head = { s, e, line };
          else cols.push(s, e, line);
        },
        bomLength(block),
      );
      if (bytesRead === 0) break;
      scanner.feed(block, base);
      base += bytesRead;
    }
    scanner.finish(base);
    const after = stampOf(await fh.stat());
    // Changed while it was read: the index may mix old and new bytes.
    const changed = stampError(file, before, after) ?? stampError(file, before, { ...before, size: base });
    if (changed) throw changed;
    let header: string[] | undefined;
    if (delimited) {
      const h = head as RecordRef | null;
      if (!h) throw new InputError(`${what}${file}: no header row; a ${format} file starts with the names of its columns`);
      header = csvHeader(await readRange(fh, h.s, h.e), format, `${file} line ${h.line}`);
    }
    const lines = scanner.lines;
    return {
      file,
      format,
      count: cols.count,
      lines,
      stamp: before,
      ...(header ? { header } : {}),
      ref: (i) => cols.ref(i),
      indexOfLine(line) {
        let lo = 0;
        let hi = cols.count - 1;
        while (lo <= hi) {
          const mid = (lo + hi) >>> 1;
          const l = cols.lineOf(mid);
          if (l === line) return mid;
          if (l < line) lo = mid + 1;
          else hi = mid - 1;
        }
        return -1;
      },
      get bytes() {
        return cols.bytes;
      },
    };
  } finally {
    await fh.close();
  }
}

/**
 * A TaskList over the records: ids `<prefix><i>` zero-padded, cost 1 each, the fields given
 * (zero memory and gpus left out), and refs that are the records' ranges and numbers.
 */
export function recordTasks(index: RecordIndex, o: { prefix: string; threads?: number; memory?: number; gpus?: number }): TaskList {
  const ids = numberedIds(o.prefix, index.count);
  const fields: Omit<TaskSpec, 'id' | 'cost' | 'ref'> = {
    ...(o.threads !== undefined ? { threads: o.threads } : {}),
    ...(o.memory ? { memory: o.memory } : {}),
    ...(o.gpus ? { gpus: o.gpus } : {}),
  };
  return {
    length: index.count,
    at: (i) => ({ id: ids.id(i), cost: 1, ...fields, ref: { ...index.ref(i), i } satisfies RecordTaskRef }),
    costAt: () => 1,
    indexOf: (id) => ids.indexOf(id),
  };
}
