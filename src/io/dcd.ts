/**
 * DCD trajectories (CHARMM, NAMD and X-PLOR flavours) with random access by frame.
 *
 * Layout, as Fortran unformatted records (each framed by a 4-byte length before and after):
 *   1. 84 bytes: "CORD" + 20 int32 control words (ICNTRL)
 *   2. title block: int32 NTITLE + NTITLE × 80 characters
 *   3. int32 NATOM
 *   4. (only when NAMNF ≠ 0) the indexes of the free atoms
 * then per frame: an optional unit-cell record of 6 float64, and the X, Y, Z records of NATOM
 * float32 each (and a 4th record for CHARMM's 4-D dynamics).
 *
 * ICNTRL words used: [0] NSET (frames), [1] ISTART, [2] NSAVC, [8] NAMNF (fixed atoms),
 * [9] DELTA (float32; X-PLOR files hold a float64 in [9..10]), [10] unit-cell flag,
 * [11] 4-D flag, [19] CHARMM version (0 for X-PLOR, 24 for NAMD). Every frame has the same
 * size, so frame i starts at header size + i × frame size.
 */
import { endianness } from 'node:os';
import { InputError } from '../errors.js';
import { closeQuietly, fileSize, openForRead, readRange, where, type FrameReader } from './traj-file.js';

/** What the header says, and how the file's bytes are laid out. */
export interface DcdHeader {
  readonly endian: 'little' | 'big';
  /** A CHARMM-style header (CHARMM or NAMD); false for X-PLOR. */
  readonly charmm: boolean;
  /** Each frame carries a unit-cell record (6 float64). */
  readonly hasCell: boolean;
  /** Each frame carries a 4th coordinate record (CHARMM 4-D dynamics). */
  readonly has4d: boolean;
  readonly nAtoms: number;
  /** NSET: the frame count the header promises (some writers leave 0). */
  readonly nsetHeader: number;
  readonly istart: number;
  readonly nsavc: number;
  /** Time step in the file's (AKMA) units. */
  readonly delta: number;
  readonly titles: string[];
  /** Bytes before frame 0. */
  readonly headerBytes: number;
  /** Bytes of one frame, record markers included. */
  readonly frameBytes: number;
  readonly fileBytes: number;
  /** Complete frames present in the file. */
  readonly framesInFile: number;
  /** Frames to process: NSET, or more when the file holds more (partial last frame included). */
  readonly nFrames: number;
}

const MAGIC = 84;
const NATIVE_LE = endianness() === 'LE';

/** Reads and checks the header of an open DCD. Throws InputError naming the file. */
export function readDcdHeader(fd: number, path: string): DcdHeader {
  const size = fileSize(fd);
  const head = readRange(fd, 0, Math.min(size, 100));
  const fail = (msg: string): never => {
    throw new InputError(`${where(path)}: ${msg}`);
  };
  if (head.length < 100) fail(`not a DCD file (${size} bytes, shorter than a DCD header)`);
  let endian: 'little' | 'big';
  if ((head.readBigInt64LE(0) === 84n || head.readBigInt64BE(0) === 84n) && head.toString('latin1', 8, 12) === 'CORD') {
    return fail('uses 8-byte Fortran record markers; only 4-byte markers are supported');
  }
  if (head.readInt32LE(0) === MAGIC) endian = 'little';
  else if (head.readInt32BE(0) === MAGIC) endian = 'big';
  else {
    return fail(`not a DCD file (first record marker is ${head.readInt32LE(0)}, expected 84)`);
  }
  const le = endian === 'little';
  const i32 = (b: Buffer, off: number): number => (le ? b.readInt32LE(off) : b.readInt32BE(off));
  const magic = head.toString('latin1', 4, 8);
  if (magic !== 'CORD') fail(`not a coordinate DCD (magic '${magic}', expected 'CORD')`);
  if (i32(head, 88) !== MAGIC) fail('corrupt header (first record does not end with marker 84)');
  const icntrl = Array.from({ length: 20 }, (_, k) => i32(head, 8 + 4 * k));
  const charmm = icntrl[19] !== 0;
  const delta = charmm ? (le ? head.readFloatLE(44) : head.readFloatBE(44)) : le ? head.readDoubleLE(44) : head.readDoubleBE(44);
  const hasCell = charmm && icntrl[10] !== 0;
  const has4d = charmm && icntrl[11] !== 0;
  const namnf = icntrl[8]!;

  // Title record.
  const titleLen = i32(head, 92);
  const ntitle = i32(head, 96);
  if (titleLen < 4 || (titleLen - 4) % 80 !== 0 || ntitle * 80 + 4 !== titleLen) {
    fail(`corrupt title record (length ${titleLen}, ${ntitle} titles)`);
  }
  const afterTitle = 96 + titleLen + 4;
  const rest = readRange(fd, 96, afterTitle + 12);
  if (rest.length < afterTitle + 12 - 96) fail('truncated header');
  if (i32(rest, titleLen) !== titleLen) fail('corrupt title record (end marker)');
  const titles: string[] = [];
  for (let t = 0; t < ntitle; t++) titles.push(rest.toString('latin1', 4 + 80 * t, 4 + 80 * (t + 1)).trimEnd());
  const atomRec = afterTitle - 96;
  if (i32(rest, atomRec) !== 4 || i32(rest, atomRec + 8) !== 4) fail('corrupt atom-count record');
  const nAtoms = i32(rest, atomRec + 4);
  if (nAtoms <= 0) fail(`bad atom count ${nAtoms}`);
  if (namnf !== 0) {
    fail(`has ${namnf} fixed atoms (NAMNF ≠ 0); fixed-atom DCDs store only the free atoms after frame 0 and are not supported`);
  }
  const headerBytes = afterTitle + 12;
  const frameBytes = (hasCell ? 56 : 0) + (has4d ? 4 : 3) * (8 + 4 * nAtoms);
  const data = Math.max(0, size - headerBytes);
  const framesInFile = Math.floor(data / frameBytes);
  const nsetHeader = Math.max(0, icntrl[0]!);
  return {
    endian, charmm, hasCell, has4d, nAtoms, nsetHeader,
    istart: icntrl[1]!, nsavc: icntrl[2]!, delta, titles,
    headerBytes, frameBytes, fileBytes: size, framesInFile,
    nFrames: Math.max(nsetHeader, Math.ceil(data / frameBytes)),
  };
}

/**
 * Refuses a DCD whose header promises more frames than the file holds (a copy cut short, a
 * run that died): each missing frame could only become an error row. A partial last frame
 * counts as missing. A file holding more frames than the header says (a trajectory still
 * being written, or a writer that left NSET at 0) passes. Throws InputError naming the file
 * and both counts.
 */
export function checkDcdFrames(h: DcdHeader, path: string): void {
  if (h.framesInFile >= h.nsetHeader) return;
  throw new InputError(
    `${where(path)}: the header promises ${h.nsetHeader} frames but the file holds ${h.framesInFile} ` +
      `(${h.fileBytes} bytes, ${h.frameBytes} bytes per frame)`,
  );
}

/** Random access to the frames of a DCD: one `readSync` of one frame's bytes per frame. */
export class DcdReader implements FrameReader {
  readonly format = 'dcd' as const;
  readonly header: DcdHeader;
  private fd: number | undefined;
  private buf: Buffer;

  private constructor(readonly path: string, fd: number) {
    this.fd = fd;
    this.header = readDcdHeader(fd, path);
    this.buf = Buffer.allocUnsafe(this.header.frameBytes);
  }

  /** Opens a DCD and reads its header. Throws InputError. */
  static open(path: string): DcdReader {
    const fd = openForRead(path);
    try {
      return new DcdReader(path, fd);
    } catch (err) {
      closeQuietly(fd);
      throw err;
    }
  }

  get nAtoms(): number {
    return this.header.nAtoms;
  }

  /** Frames to process (see DcdHeader.nFrames). */
  get nFrames(): number {
    return this.header.nFrames;
  }

  readFrame(frame: number, out: Float64Array): void {
    const h = this.header;
    if (this.fd === undefined) throw new Error(`${where(this.path)}: reader is closed`);
    if (!Number.isInteger(frame) || frame < 0 || frame >= h.nFrames) {
      throw new InputError(`${where(this.path, frame)}: no such frame (the file has ${h.nFrames})`);
    }
    const start = h.headerBytes + frame * h.frameBytes;
    const bytes = readRange(this.fd, start, start + h.frameBytes, this.buf);
    if (bytes.length < h.frameBytes) {
      throw new InputError(
        `${where(this.path, frame)}: truncated file (header promises ${h.nFrames} frames, ` +
          `the file holds ${h.framesInFile} complete frames)`,
      );
    }
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const le = h.endian === 'little';
    // Same byte order as the host and 4-byte aligned: read the floats through a typed-array view.
    const direct = le === NATIVE_LE && bytes.byteOffset % 4 === 0;
    let off = 0;
    if (h.hasCell) {
      if (view.getInt32(0, le) !== 48 || view.getInt32(52, le) !== 48) {
        throw new InputError(`${where(this.path, frame)}: corrupt unit-cell record (marker ${view.getInt32(0, le)}, expected 48)`);
      }
      off = 56;
    }
    const n = h.nAtoms;
    const recLen = 4 * n;
    for (let axis = 0; axis < 3; axis++) {
      if (view.getInt32(off, le) !== recLen || view.getInt32(off + 4 + recLen, le) !== recLen) {
        throw new InputError(
          `${where(this.path, frame)}: corrupt ${'XYZ'[axis]} record (marker ${view.getInt32(off, le)}, expected ${recLen})`,
        );
      }
      let bad = -1;
      if (direct) {
        const f32 = new Float32Array(bytes.buffer, bytes.byteOffset + off + 4, n);
        for (let a = 0, i = axis; a < n; a++, i += 3) {
          const v = f32[a]!;
          if (v - v !== 0) bad = i; // NaN or ±Infinity
          out[i] = v;
        }
      } else {
        for (let i = axis, p = off + 4; i < 3 * n; i += 3, p += 4) {
          const v = view.getFloat32(p, le);
          if (v - v !== 0) bad = i;
          out[i] = v;
        }
      }
      if (bad >= 0) {
        throw new InputError(`${where(this.path, frame)}: atom ${(bad - axis) / 3 + 1} has a non-finite ${'xyz'[axis]} coordinate`);
      }
      off += recLen + 8;
    }
  }

  close(): void {
    if (this.fd !== undefined) closeQuietly(this.fd);
    this.fd = undefined;
  }
}
