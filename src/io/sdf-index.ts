/**
 * One streaming pass over an SD file that records where each record starts and ends, its
 * title, optionally one SD tag, and its atom counts — without keeping the file in memory.
 *
 * The file is read in fixed-size chunks; only the few lines the index needs are turned into
 * strings. A line split across two chunks is carried over, but at most `MAX_KEPT_LINE` bytes of
 * it, so a pathological file without newlines costs a bounded amount of memory.
 */
import { open } from 'node:fs/promises';
import { basename } from 'node:path';
import { InputError } from '../errors.js';

/** Where one record lives in its file, and the little the index learnt about it. */
export interface SdfRecordInfo {
  /** 1-based position of the record in the file. */
  record: number;
  /** Byte offset of the record's first line. */
  offset: number;
  /** Bytes from `offset` through the `$$$$` line and its line end (or the end of the file). */
  length: number;
  /** 1-based file line number of the record's first (title) line. */
  line: number;
  /** The title line, without the line end and trailing blanks. */
  title: string;
  /** The first value line of the requested SD tag, trimmed; absent when the record lacks it. */
  tag?: string;
  /** Atom count from the counts line; -1 when the counts line is unreadable or V3000. */
  atoms: number;
  /** Atoms whose symbol is not H, D or T (from the atom block); -1 when unknown. */
  heavy: number;
}

/** The index of one SD file. */
export interface SdfIndex {
  file: string;
  /** File size in bytes when indexed. */
  size: number;
  records: SdfRecordInfo[];
}

/** Options of {@link indexSdf}. */
export interface SdfIndexOptions {
  /** Record this SD tag's value for every record (e.g. `mol_id`). Default: none. */
  keyTag?: string;
  /** Bytes read per `read` call. Default 1 MiB; tests use tiny chunks to exercise carries. */
  chunkSize?: number;
}

const DEFAULT_CHUNK = 1 << 20;
/** Longest prefix of a line the index keeps; titles and tags longer than this are cut. */
const MAX_KEPT_LINE = 4096;

const NL = 0x0a;
const CR = 0x0d;
const DOLLAR = 0x24;
const GT = 0x3e;

type Section = 'header' | 'atoms' | 'ctab' | 'data';

/** Builds the index of `file` in one pass. Throws InputError when the file cannot be read. */
export async function indexSdf(file: string, opts: SdfIndexOptions = {}): Promise<SdfIndex> {
  const chunkSize = opts.chunkSize ?? DEFAULT_CHUNK;
  const scanner = new RecordScanner(opts.keyTag);
  let handle;
  try {
    handle = await open(file, 'r');
  } catch (err) {
    throw new InputError(`${file}: cannot open (${(err as NodeJS.ErrnoException).code ?? String(err)})`, err);
  }
  try {
    const size = (await handle.stat()).size;
    // Two buffers: the next chunk is read (in the thread pool) while this one is scanned.
    let buf = Buffer.allocUnsafe(chunkSize);
    let spare = Buffer.allocUnsafe(chunkSize);
    const carry = Buffer.allocUnsafe(MAX_KEPT_LINE);
    let carried = 0; // bytes kept in `carry`
    let lineStart = 0; // file offset of the line being assembled
    let pos = 0;
    let reading = handle.read(buf, 0, chunkSize, 0);
    for (;;) {
      const { bytesRead } = await reading;
      if (bytesRead === 0) break;
      reading = handle.read(spare, 0, chunkSize, pos + bytesRead);
      let from = 0;
      for (;;) {
        const nl = buf.indexOf(NL, from);
        if (nl < 0 || nl >= bytesRead) break;
        if (carried > 0 || lineStart < pos) {
          // The line began in an earlier chunk: complete it in the carry buffer.
          const take = Math.min(nl - from, MAX_KEPT_LINE - carried);
          if (take > 0) buf.copy(carry, carried, from, from + take);
          scanner.line(carry, 0, carried + take, lineStart, pos + nl + 1);
          carried = 0;
        } else {
          scanner.line(buf, from, nl, lineStart, pos + nl + 1);
        }
        from = nl + 1;
        lineStart = pos + from;
      }
      const rest = Math.min(bytesRead - from, MAX_KEPT_LINE - carried);
      if (rest > 0) {
        buf.copy(carry, carried, from, from + rest);
        carried += rest;
      }
      pos += bytesRead;
      [buf, spare] = [spare, buf];
    }
    if (lineStart < pos) scanner.line(carry, 0, carried, lineStart, pos);
    scanner.finish(pos);
    return { file, size, records: scanner.records };
  } catch (err) {
    if (err instanceof InputError) throw err;
    throw new InputError(`${basename(file)}: read failed (${(err as NodeJS.ErrnoException).code ?? String(err)})`, err);
  } finally {
    await handle.close();
  }
}

/** Receives the file's lines one by one and cuts them into records. */
class RecordScanner {
  readonly records: SdfRecordInfo[] = [];
  private lineNo = 0;
  private cur: SdfRecordInfo | undefined;
  private lineInRecord = 0;
  private section: Section = 'header';
  private atomsLeft = 0;
  private hydrogens = 0;
  private wantTagValue = false;
  /** Whether the pending record has anything but blank lines (trailing blank lines are no record). */
  private hasContent = false;

  constructor(private readonly keyTag: string | undefined) {}

  /** One line: bytes `[start,end)` of `buf` (line end excluded), spanning file bytes `[lineStart,next)`. */
  line(buf: Buffer, start: number, end: number, lineStart: number, next: number): void {
    this.lineNo++;
    if (end > start && buf[end - 1] === CR) end--;
    if (this.cur === undefined) {
      this.cur = { record: this.records.length + 1, offset: lineStart, length: 0, line: this.lineNo, title: '', atoms: -1, heavy: -1 };
      this.lineInRecord = 0;
      this.section = 'header';
      this.hasContent = false;
      this.wantTagValue = false;
    }
    const rec = this.cur;
    if (!this.hasContent && !isBlank(buf, start, end)) this.hasContent = true;
    const n = this.lineInRecord++;
    if (isRecordEnd(buf, start, end)) {
      rec.length = next - rec.offset;
      this.close(rec);
      return;
    }
    switch (this.section) {
      case 'header':
        if (n === 0) rec.title = buf.toString('utf8', start, end).trimEnd();
        else if (n === 3) this.counts(rec, buf, start, end);
        break;
      case 'atoms':
        if (isHydrogenSymbol(buf, start, end)) this.hydrogens++;
        if (--this.atomsLeft === 0) {
          rec.heavy = rec.atoms - this.hydrogens;
          this.section = 'ctab';
        }
        break;
      case 'ctab':
        if (startsWith(buf, start, end, 'M  END')) this.section = 'data';
        break;
      case 'data':
        if (this.wantTagValue) {
          this.wantTagValue = false;
          if (rec.tag === undefined) rec.tag = buf.toString('utf8', start, end).trim();
        } else if (this.keyTag !== undefined && buf[start] === GT && rec.tag === undefined) {
          this.wantTagValue = tagName(buf.toString('utf8', start, end)) === this.keyTag;
        }
        break;
    }
  }

  finish(size: number): void {
    const rec = this.cur;
    if (rec === undefined) return;
    // A last record without `$$$$`: keep it when it has content, so that parsing it later
    // reports what is wrong (usually a truncated file); trailing blank lines are dropped.
    if (this.hasContent) {
      rec.length = size - rec.offset;
      this.close(rec);
    }
    this.cur = undefined;
  }

  private close(rec: SdfRecordInfo): void {
    this.records.push(rec);
    this.cur = undefined;
  }

  private counts(rec: SdfRecordInfo, buf: Buffer, start: number, end: number): void {
    const atoms = countField(buf, start, Math.min(start + 3, end));
    if (atoms < 0 || hasV3000(buf, start, end)) {
      this.section = 'ctab';
      return;
    }
    rec.atoms = atoms;
    this.hydrogens = 0;
    this.atomsLeft = atoms;
    if (atoms === 0) {
      rec.heavy = 0;
      this.section = 'ctab';
    } else {
      this.section = 'atoms';
    }
  }
}

/** Whether bytes [start, end) hold `V3000` (a counts line's version). */
function hasV3000(buf: Buffer, start: number, end: number): boolean {
  for (let i = start; i + 5 <= end; i++) {
    if (buf[i] === 0x56 && buf[i + 1] === 0x33 && buf[i + 2] === 0x30 && buf[i + 3] === 0x30 && buf[i + 4] === 0x30) return true;
  }
  return false;
}

/** The counts line's right-aligned integer in bytes [start, end): blanks then digits, -1 when it is not one. */
function countField(buf: Buffer, start: number, end: number): number {
  let i = start;
  while (i < end && (buf[i] === 0x20 || buf[i] === 0x09)) i++;
  if (i === end) return -1;
  let n = 0;
  for (; i < end; i++) {
    const d = buf[i]! - 0x30;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

function isBlank(buf: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const c = buf[i]!;
    if (c !== 0x20 && c !== 0x09 && c !== CR) return false;
  }
  return true;
}

/** `$$$$`, optionally followed by blanks. */
function isRecordEnd(buf: Buffer, start: number, end: number): boolean {
  if (end - start < 4) return false;
  for (let i = 0; i < 4; i++) if (buf[start + i] !== DOLLAR) return false;
  return isBlank(buf, start + 4, end);
}

function startsWith(buf: Buffer, start: number, end: number, prefix: string): boolean {
  if (end - start < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (buf[start + i] !== prefix.charCodeAt(i)) return false;
  return true;
}

/** Bytes String.prototype.trim removes, in Latin-1: tab, line feed, VT, FF, CR, space, no-break space. */
function isTrimmed(c: number): boolean {
  return (c >= 0x09 && c <= 0x0d) || c === 0x20 || c === 0xa0;
}

/**
 * The V2000 atom symbol sits in columns 32-34; H, D and T are hydrogens. Read as bytes, not as
 * a string per atom line (two thirds of indexing a file of conformers went into those strings).
 */
function isHydrogenSymbol(buf: Buffer, start: number, end: number): boolean {
  let a = Math.min(start + 31, end);
  let b = Math.min(start + 34, end) - 1;
  while (a <= b && isTrimmed(buf[a]!)) a++;
  while (b > a && isTrimmed(buf[b]!)) b--;
  if (a !== b) return false;
  const c = buf[a]!;
  return c === 0x48 /* H */ || c === 0x44 /* D */ || c === 0x54 /* T */;
}

/** The name inside `<...>` on an SD data header line (`> <NAME> (12)`), or undefined. */
export function tagName(header: string): string | undefined {
  const open = header.indexOf('<');
  if (open < 0) return undefined;
  const close = header.indexOf('>', open + 1);
  if (close < 0) return undefined;
  return header.slice(open + 1, close);
}
