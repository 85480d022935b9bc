/**
 * What the trajectory readers share: the format names, the random-access reader interface,
 * byte-range reads and a streaming line scanner for building frame indexes in one pass.
 */
import { basename, extname } from 'node:path';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { InputError } from '../errors.js';

/** Trajectory formats, named after their file extensions. */
export const TRAJ_FORMATS = ['dcd', 'pdb', 'xyz'] as const;
export type TrajFormat = (typeof TRAJ_FORMATS)[number];

/** The format of a trajectory file from its extension; undefined for anything else. */
export function formatFromPath(path: string): TrajFormat | undefined {
  const ext = extname(path).slice(1).toLowerCase();
  return (TRAJ_FORMATS as readonly string[]).includes(ext) ? (ext as TrajFormat) : undefined;
}

/** A trajectory opened for random access by frame. */
export interface FrameReader {
  readonly path: string;
  readonly format: TrajFormat;
  readonly nAtoms: number;
  /**
   * Reads frame `frame` into `out` (x, y, z per atom, Å). Throws InputError naming the file
   * and the frame when the frame is missing, truncated or malformed.
   */
  readFrame(frame: number, out: Float64Array): void;
  /** Closes the file; idempotent. */
  close(): void;
}

/** `traj.dcd frame 17` — how errors name a frame. */
export function where(path: string, frame?: number): string {
  return frame === undefined ? basename(path) : `${basename(path)} frame ${frame}`;
}

/** Opens a file for reading, turning "no such file" into an InputError naming it. */
export function openForRead(path: string): number {
  try {
    return openSync(path, 'r');
  } catch (err) {
    const code = (err as { code?: string }).code;
    throw new InputError(`${basename(path)}: cannot open (${code ?? String(err)}): ${path}`, err);
  }
}

/** Size of an open file in bytes. */
export function fileSize(fd: number): number {
  return fstatSync(fd).size;
}

/** Closes a descriptor, ignoring a second close. */
export function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // already closed
  }
}

/**
 * Reads bytes [start, end) into `buf` (grown when too small) and returns the filled view.
 * Returns fewer bytes only at end of file.
 */
export function readRange(fd: number, start: number, end: number, buf?: Buffer): Buffer {
  const want = end - start;
  const target = buf !== undefined && buf.length >= want ? buf : Buffer.allocUnsafe(want);
  let got = 0;
  while (got < want) {
    const n = readSync(fd, target, got, want - got, start + got);
    if (n === 0) break;
    got += n;
  }
  return target.subarray(0, got);
}

const SCAN_CHUNK = 1 << 22;

/**
 * Calls `onLine(line, offset, next)` for every line of the file from `start`, where `line`
 * excludes the newline (and a trailing `\r`), `offset` is the byte offset of its first byte and
 * `next` the offset just after its newline (the file size for a last unterminated line). The
 * buffer passed is only valid during the call. Stops early when `onLine` returns false.
 * Reads the file once, in 4 MB chunks; a last line without a newline is reported too.
 */
export function scanLines(
  fd: number,
  onLine: (line: Buffer, offset: number, next: number) => boolean | void,
  start = 0,
): void {
  let chunk = Buffer.allocUnsafe(SCAN_CHUNK);
  let carry = 0; // bytes at the front of `chunk` left over from the previous read
  let base = start; // file offset of chunk[0]
  for (;;) {
    if (carry === chunk.length) {
      const bigger = Buffer.allocUnsafe(chunk.length * 2); // a line longer than the chunk
      chunk.copy(bigger, 0, 0, carry);
      chunk = bigger;
    }
    const n = readSync(fd, chunk, carry, chunk.length - carry, base + carry);
    const filled = carry + n;
    const view = chunk.subarray(0, filled);
    let pos = 0;
    for (;;) {
      const nl = view.indexOf(10, pos);
      if (nl < 0) break;
      const endOfLine = nl > pos && chunk[nl - 1] === 13 ? nl - 1 : nl;
      if (onLine(chunk.subarray(pos, endOfLine), base + pos, base + nl + 1) === false) return;
      pos = nl + 1;
    }
    if (n === 0) {
      if (pos < filled) {
        const endOfLine = chunk[filled - 1] === 13 ? filled - 1 : filled;
        onLine(chunk.subarray(pos, endOfLine), base + pos, base + filled);
      }
      return;
    }
    chunk.copy(chunk, 0, pos, filled);
    carry = filled - pos;
    base += pos;
  }
}

/** True when the line starts with the given ASCII record name (e.g. `MODEL`). */
export function startsWith(line: Buffer, word: string): boolean {
  if (line.length < word.length) return false;
  for (let i = 0; i < word.length; i++) if (line[i] !== word.charCodeAt(i)) return false;
  return true;
}

/**
 * Byte ranges of consecutive frames of a text trajectory: frame `base + k` occupies
 * [ranges[2k], ranges[2k+1]). A task carries only the spans of its own frames.
 */
export interface FrameSpan {
  base: number;
  ranges: number[];
}

/** The byte range of `frame` among `spans`, or undefined when no span holds it. */
export function rangeOf(spans: readonly FrameSpan[], frame: number): [number, number] | undefined {
  for (const s of spans) {
    const k = frame - s.base;
    if (k >= 0 && 2 * k + 1 < s.ranges.length) return [s.ranges[2 * k]!, s.ranges[2 * k + 1]!];
  }
  return undefined;
}

/**
 * A reader of a text trajectory (multi-model PDB, multi-frame XYZ) that reads a frame's byte
 * range from the task's spans and hands the bytes to the format's parser.
 */
export abstract class SpanFrameReader implements FrameReader {
  abstract readonly format: TrajFormat;
  private fd: number | undefined;
  private buf: Buffer = Buffer.allocUnsafe(0);

  protected constructor(
    readonly path: string,
    readonly nAtoms: number,
    private readonly spans: readonly FrameSpan[],
  ) {
    this.fd = openForRead(path);
  }

  /** Parses one frame's bytes into `out` (3 × nAtoms), throwing InputError naming file and frame. */
  protected abstract parse(bytes: Buffer, out: Float64Array, frame: number): void;

  readFrame(frame: number, out: Float64Array): void {
    if (this.fd === undefined) throw new Error(`${where(this.path)}: reader is closed`);
    const range = rangeOf(this.spans, frame);
    if (range === undefined) throw new InputError(`${where(this.path, frame)}: frame not in this task's index`);
    if (this.buf.length < range[1] - range[0]) this.buf = Buffer.allocUnsafeSlow(range[1] - range[0]);
    const bytes = readRange(this.fd, range[0], range[1], this.buf);
    if (bytes.length < range[1] - range[0]) {
      throw new InputError(`${where(this.path, frame)}: file is shorter than when it was indexed`);
    }
    this.parse(bytes, out, frame);
  }

  close(): void {
    if (this.fd !== undefined) closeQuietly(this.fd);
    this.fd = undefined;
  }
}

const POW10 = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];

/**
 * The number written in bytes [start, end) of `buf`, surrounding blanks allowed; NaN when the
 * field is blank or not a number. Plain decimals (`-12.345`) are parsed from the bytes (and
 * rounded exactly as `Number` would: an integer mantissa divided by a power of ten); anything
 * else (exponents, many digits) goes through `Number`.
 */
export function parseNumber(buf: Buffer, start: number, end: number): number {
  while (start < end && (buf[start] === 32 || buf[start] === 9)) start++;
  while (end > start && (buf[end - 1] === 32 || buf[end - 1] === 9)) end--;
  if (start === end) return NaN;
  let i = start;
  let negative = false;
  if (buf[i] === 45 || buf[i] === 43) {
    negative = buf[i] === 45;
    i++;
  }
  let mantissa = 0;
  let digits = 0;
  let decimals = -1;
  for (; i < end; i++) {
    const c = buf[i]!;
    if (c >= 48 && c <= 57) {
      mantissa = mantissa * 10 + (c - 48);
      digits++;
      if (decimals >= 0) decimals++;
    } else if (c === 46 && decimals < 0) {
      decimals = 0;
    } else {
      break;
    }
  }
  if (i === end && digits > 0 && digits <= 15) {
    const v = decimals > 0 ? mantissa / POW10[decimals]! : mantissa;
    return negative ? -v : v;
  }
  if (i === end && digits === 0) return NaN;
  const v = Number(buf.toString('latin1', start, end));
  return Number.isFinite(v) ? v : NaN;
}
