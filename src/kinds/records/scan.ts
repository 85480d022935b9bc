/**
 * Finding records in a file's bytes, block by block, without holding a record or a line: the
 * scanner keeps a few numbers of state between blocks, so a record of any length spanning any
 * number of blocks costs nothing extra. It reports each record as a byte range and the line it
 * starts on; it never decodes or parses (the reader does, for the one record a task needs).
 *
 * Line formats (txt, jsonl, smi): a record is a line that is not blank (and, in smi, does not
 * start with '#'). A delimited format (csv, tsv): a record ends at a newline outside quotes, per
 * RFC 4180; how the quotes move it between states is the table below. Fields themselves are
 * csv-parse's business (csv.ts); this only has to agree with it on where a record ends, and a
 * record where they disagree reads as an error for that record, never as a wrong value.
 */
import { CR, HASH, NL, QUOTE, delimiterOf, isBlankByte, type RecordFormat } from './format.js';

/** Called for each record: [s, e) its bytes (without newline or CR), `line` where it starts (from 1). False stops the scan. */
export type OnRecord = (s: number, e: number, line: number) => boolean | void;

/** Where a delimited record's bytes stand with respect to quotes. */
const Field = { Start: 0, Unquoted: 1, Quoted: 2, QuoteSeen: 3 } as const;
type Field = (typeof Field)[keyof typeof Field];

/** What a byte is to the delimited scanner. */
const Byte = { Other: 0, Quote: 1, Delimiter: 2, Newline: 3, Blank: 4 } as const;
const CLASSES = 5;
/** A newline in this state ends the record. */
const ENDS = -1;

/**
 * The moves of a delimited record, by state and byte class (relaxed like pandas: a quote inside
 * an unquoted field is a character; a closing quote followed by text goes on unquoted).
 */
// prettier-ignore
const MOVES: readonly number[] = [
  //            Other             Quote             Delimiter    Newline  Blank
  /* Start */   Field.Unquoted,   Field.Quoted,     Field.Start, ENDS,    Field.Unquoted,
  /* Unquoted */Field.Unquoted,   Field.Unquoted,   Field.Start, ENDS,    Field.Unquoted,
  /* Quoted */  Field.Quoted,     Field.QuoteSeen,  Field.Quoted, Field.Quoted, Field.Quoted,
  /* QuoteSeen*/Field.Unquoted,   Field.Quoted,     Field.Start, ENDS,    Field.Unquoted,
];

/** The first byte of [from, to) that does not leave a line blank, or -1. */
function firstNonBlank(buf: Uint8Array, from: number, to: number, delimiter: number): number {
  for (let i = from; i < to; i++) if (!isBlankByte(buf[i]!, delimiter)) return buf[i]!;
  return -1;
}

/** Scans one file's bytes, fed in order; `finish` after the last block. */
export class RecordScanner {
  /** Lines seen so far (a last line without a newline counts once `finish` ran). */
  lines = 0;
  private readonly delimiter: number;
  private readonly comments: boolean;
  private stopped = false;
  /** Where the current record (or line) started, and on which line. */
  private start: number;
  private startLine = 1;
  /** Line formats: the first non-blank byte of the current line, -1 while none. */
  private first = -1;
  /** Delimited formats: the quote state, and whether the record has a non-blank byte yet. */
  private field: Field = Field.Start;
  private filled = false;
  /** The last byte of the previous block (a CR before a newline that starts the next). */
  private last = -1;

  /** `from`: where records may start (after a byte order mark). */
  constructor(
    format: RecordFormat,
    private readonly each: OnRecord,
    from = 0,
  ) {
    this.delimiter = delimiterOf(format);
    this.comments = format === 'smi';
    this.start = from;
  }

  /** Feeds `buf`, whose first byte is at offset `base` of the file. False once the callback stopped the scan. */
  feed(buf: Uint8Array, base: number): boolean {
    if (this.stopped) return false;
    let pos = Math.max(0, this.start - base);
    if (this.delimiter < 0) this.lineBlock(buf, base, pos);
    else this.delimitedBlock(buf, base, pos);
    if (buf.length > 0) this.last = buf[buf.length - 1]!;
    return !this.stopped;
  }

  /** Ends the scan at `size`, the file's length: a last record without a final newline counts. */
  finish(size: number): void {
    if (this.stopped || this.start >= size) return;
    this.lines++;
    const e = size - (this.last === CR ? 1 : 0);
    if (this.delimiter < 0) {
      if (this.isRecordLine()) this.emit(this.start, e, this.startLine);
    } else if (this.filled) this.emit(this.start, e, this.startLine);
  }

  private emit(s: number, e: number, line: number): void {
    if (this.each(s, Math.max(s, e), line) === false) this.stopped = true;
  }

  private isRecordLine(): boolean {
    return this.first >= 0 && !(this.comments && this.first === HASH);
  }

  /** The end of a record whose newline is at `nl` (absolute), CR before it dropped. */
  private endAt(nl: number, buf: Uint8Array, base: number): number {
    const before = nl - 1 >= base ? buf[nl - 1 - base] : this.last;
    return before === CR ? nl - 1 : nl;
  }

  private lineBlock(buf: Uint8Array, base: number, pos: number): void {
    const len = buf.length;
    while (pos < len && !this.stopped) {
      const nl = buf.indexOf(NL, pos);
      const to = nl < 0 ? len : nl;
      if (this.first < 0) this.first = firstNonBlank(buf, pos, to, -1);
      if (nl < 0) return;
      this.lines++;
      if (this.isRecordLine()) this.emit(this.start, this.endAt(base + nl, buf, base), this.startLine);
      this.start = base + nl + 1;
      this.startLine = this.lines + 1;
      this.first = -1;
      pos = nl + 1;
    }
  }

  private classOf(b: number): number {
    if (b === QUOTE) return Byte.Quote;
    if (b === this.delimiter) return Byte.Delimiter;
    if (b === NL) return Byte.Newline;
    return isBlankByte(b, this.delimiter) ? Byte.Blank : Byte.Other;
  }

  private delimitedBlock(buf: Uint8Array, base: number, pos: number): void {
    const len = buf.length;
    // The next quote and newline at or after pos, found again only once pos passes them.
    let quote = buf.indexOf(QUOTE, pos);
    let nl = buf.indexOf(NL, pos);
    while (pos < len && !this.stopped) {
      if (quote >= 0 && quote < pos) quote = buf.indexOf(QUOTE, pos);
      if (nl >= 0 && nl < pos) nl = buf.indexOf(NL, pos);
      if (this.field === Field.Quoted) {
        // Inside quotes only a quote matters: jump to it, counting the newlines passed.
        const to = quote < 0 ? len : quote;
        for (let n = nl; n >= 0 && n < to; n = buf.indexOf(NL, n + 1)) this.lines++;
        if (quote < 0) return;
        this.field = Field.QuoteSeen;
        pos = quote + 1;
        continue;
      }
      const lineEnd = nl < 0 ? len : nl;
      if (this.field !== Field.QuoteSeen && (quote < 0 || quote > lineEnd)) {
        // No quote before the newline: the state at its end follows from its last byte.
        if (!this.filled) this.filled = firstNonBlank(buf, pos, lineEnd, this.delimiter) >= 0;
        if (lineEnd > pos) this.field = buf[lineEnd - 1] === this.delimiter ? Field.Start : Field.Unquoted;
        if (nl < 0) return;
        this.newline(nl, buf, base);
        pos = nl + 1;
        continue;
      }
      const b = buf[pos]!;
      const cls = this.classOf(b);
      if (cls === Byte.Newline) {
        const next = MOVES[this.field * CLASSES + cls]!;
        if (next === ENDS) this.newline(pos, buf, base);
        else this.field = next as Field;
      } else {
        if (cls !== Byte.Blank) this.filled = true;
        this.field = MOVES[this.field * CLASSES + cls] as Field;
      }
      pos++;
    }
  }

  /** A newline at buf[at] outside quotes: the record ends (when it had anything in it). */
  private newline(at: number, buf: Uint8Array, base: number): void {
    this.lines++;
    if (this.filled) this.emit(this.start, this.endAt(base + at, buf, base), this.startLine);
    this.start = base + at + 1;
    this.startLine = this.lines + 1;
    this.field = Field.Start;
    this.filled = false;
  }
}
