/**
 * Multi-frame XYZ: per frame a line with the atom count N, a comment line, then N lines
 * `element x y z [anything]`. The element may be a symbol or an atomic number.
 */
import { InputError } from '../errors.js';
import { elementFromToken } from './elements.js';
import {
  closeQuietly, fileSize, openForRead, parseNumber, readRange, scanLines, where,
  SpanFrameReader, type FrameSpan,
} from './traj-file.js';

/** Byte ranges of every frame of an XYZ file, found in one streaming pass. */
export interface XyzIndex {
  /** Frame k is [ranges[2k], ranges[2k+1]). */
  ranges: number[];
  nFrames: number;
  /** The atom count of frame 0. */
  nAtoms: number;
}

function isBlank(line: Buffer): boolean {
  for (let i = 0; i < line.length; i++) if (line[i] !== 32 && line[i] !== 9) return false;
  return true;
}

/** The atom count on a count line, or undefined when it is not a non-negative integer. */
function countOf(line: Buffer): number | undefined {
  const v = parseNumber(line, 0, line.length);
  return Number.isInteger(v) && v >= 0 ? v : undefined;
}

/**
 * Indexes an XYZ file. A frame whose count line is not a number, or that the file cuts short,
 * is still indexed (to the end of the file) so that reading it reports the problem for that
 * frame while the frames before it are processed. Throws InputError for a file with no frame.
 */
export function indexXyzFrames(path: string): XyzIndex {
  const fd = openForRead(path);
  const ranges: number[] = [];
  let nAtoms = -1;
  let start = -1; // start of the frame being skipped over
  let remaining = 0; // lines of that frame still to come
  let size = 0;
  try {
    size = fileSize(fd);
    scanLines(fd, (line, offset, next) => {
      if (start >= 0) {
        if (--remaining === 0) {
          ranges.push(start, next);
          start = -1;
        }
        return true;
      }
      if (isBlank(line)) return true;
      const n = countOf(line);
      if (n === undefined) {
        start = offset; // unreadable count line: this frame runs to the end of the file
        return false;
      }
      if (nAtoms < 0) nAtoms = n;
      start = offset;
      remaining = n + 1;
      return true;
    });
  } finally {
    closeQuietly(fd);
  }
  if (start >= 0) ranges.push(start, size);
  if (ranges.length === 0) {
    throw new InputError(`${where(path)}: no frames (${size === 0 ? 'empty file' : 'only blank lines'})`);
  }
  return { ranges, nFrames: ranges.length / 2, nAtoms: Math.max(0, nAtoms) };
}

/** Splits a line into its first `max` whitespace-separated tokens as [start, end) pairs. */
function tokens(line: Buffer, max: number, out: number[]): number {
  let n = 0;
  let i = 0;
  while (n < max) {
    while (i < line.length && (line[i] === 32 || line[i] === 9)) i++;
    if (i >= line.length) break;
    const s = i;
    while (i < line.length && line[i] !== 32 && line[i] !== 9) i++;
    out[2 * n] = s;
    out[2 * n + 1] = i;
    n++;
  }
  return n;
}

/** Calls `each(atom, line)` for the atom lines of one frame's bytes, after checking the count. */
function forEachAtomLine(buf: Buffer, nAtoms: number, path: string, frame: number, each: (atom: number, line: Buffer) => void): void {
  let pos = 0;
  const nextLine = (): Buffer | undefined => {
    if (pos >= buf.length) return undefined;
    let nl = buf.indexOf(10, pos);
    if (nl < 0) nl = buf.length;
    const end = nl > pos && buf[nl - 1] === 13 ? nl - 1 : nl;
    const line = buf.subarray(pos, end);
    pos = nl + 1;
    return line;
  };
  let first = nextLine();
  while (first !== undefined && isBlank(first)) first = nextLine();
  const count = first === undefined ? undefined : countOf(first);
  if (count === undefined) {
    const text = first === undefined ? '' : first.toString('latin1').trim().slice(0, 40);
    throw new InputError(`${where(path, frame)}: expected an atom count, found '${text}'`);
  }
  if (count !== nAtoms) throw new InputError(`${where(path, frame)}: ${count} atoms, expected ${nAtoms}`);
  if (nextLine() === undefined) throw new InputError(`${where(path, frame)}: truncated (no comment line)`);
  for (let atom = 0; atom < nAtoms; atom++) {
    const line = nextLine();
    if (line === undefined) {
      throw new InputError(`${where(path, frame)}: truncated (${atom} of ${nAtoms} atom lines)`);
    }
    each(atom, line);
  }
}

/** Reads the coordinates of one frame's bytes into `out`. Throws InputError naming file, frame, atom. */
export function parseXyzFrame(buf: Buffer, out: Float64Array, nAtoms: number, path: string, frame: number): void {
  const tok: number[] = [0, 0, 0, 0, 0, 0, 0, 0];
  forEachAtomLine(buf, nAtoms, path, frame, (atom, line) => {
    const n = tokens(line, 4, tok);
    if (n < 4) throw new InputError(`${where(path, frame)}: atom ${atom + 1}: expected 'element x y z', found '${line.toString('latin1').trim()}'`);
    for (let axis = 0; axis < 3; axis++) {
      const v = parseNumber(line, tok[2 + 2 * axis]!, tok[3 + 2 * axis]!);
      if (Number.isNaN(v)) {
        const field = line.toString('latin1', tok[2 + 2 * axis], tok[3 + 2 * axis]);
        throw new InputError(`${where(path, frame)}: atom ${atom + 1}: ${'xyz'[axis]} coordinate '${field}' is not a number`);
      }
      out[3 * atom + axis] = v;
    }
  });
}

/** The element column of one frame: canonical symbols, undefined where the token names none. */
export interface XyzElements {
  elements: (string | undefined)[];
  tokens: string[];
}

/** Reads the element tokens of the frame in [start, end) of `path`. */
export function readXyzElements(path: string, nAtoms: number, start: number, end: number): XyzElements {
  const fd = openForRead(path);
  try {
    const buf = readRange(fd, start, end);
    const out: XyzElements = { elements: [], tokens: [] };
    const tok = [0, 0];
    forEachAtomLine(buf, nAtoms, path, 0, (_atom, line) => {
      const text = tokens(line, 1, tok) === 1 ? line.toString('latin1', tok[0], tok[1]) : '';
      out.tokens.push(text);
      out.elements.push(elementFromToken(text));
    });
    return out;
  } finally {
    closeQuietly(fd);
  }
}

/** Random access to the frames of an XYZ file through byte ranges from its index. */
export class XyzReader extends SpanFrameReader {
  readonly format = 'xyz' as const;

  /** Opens `path`; `spans` say where the frames this reader may read are. */
  static open(path: string, nAtoms: number, spans: readonly FrameSpan[]): XyzReader {
    return new XyzReader(path, nAtoms, spans);
  }

  protected parse(bytes: Buffer, out: Float64Array, frame: number): void {
    parseXyzFrame(bytes, out, this.nAtoms, this.path, frame);
  }
}
