/**
 * The trajectory as the frames kind sees it: what expand learns about it (frame count, atom
 * count, text formats' frame index), what a task carries (its frame range and byte ranges),
 * and opening a reader for a task.
 */
import { InputError } from '../../errors.js';
import { checkDcdFrames, DcdReader } from '../../io/dcd.js';
import { indexPdbFrames, PdbReader, readPdbTopology } from '../../io/pdb.js';
import { where, type FrameReader, type FrameSpan } from '../../io/traj-file.js';
import { indexXyzFrames, XyzReader } from '../../io/xyz.js';
import type { FramesParams } from './params.js';

/** What expand learns about the trajectory. */
export interface TrajectoryLayout {
  nFrames: number;
  nAtoms: number;
  /** PDB/XYZ: byte ranges of every frame (2 per frame); null for DCD. */
  ranges: number[] | null;
  /** Something an operator should know (a DCD still being written...). */
  notes: string[];
}

/** A task's reference: the frames it processes and where a text trajectory keeps them. */
export interface FramesRef {
  /** First and last frame, inclusive. */
  first: number;
  last: number;
  /** The trajectory's atom count when the job was expanded. */
  atoms: number;
  /** PDB/XYZ: byte ranges of the task's frames, plus the reference frame and frame 0 when needed. */
  spans?: FrameSpan[];
}

/** Reads the trajectory's header or builds its frame index (one pass over a text file). */
export function inspectTrajectory(params: FramesParams): TrajectoryLayout {
  const notes: string[] = [];
  switch (params.format) {
    case 'dcd': {
      const r = DcdReader.open(params.traj);
      try {
        const h = r.header;
        // Frames the file does not hold would each be an error row: refuse the job instead.
        checkDcdFrames(h, params.traj);
        if (h.framesInFile < h.nFrames) {
          notes.push(
            `${where(params.traj)}: the header says ${h.nsetHeader} frames, the file holds ${h.framesInFile} and part of ` +
              `frame ${h.framesInFile} (still being written?); that frame is an error row unless complete when its task runs`,
          );
        } else if (h.nsetHeader !== h.nFrames) {
          notes.push(`${where(params.traj)}: header says ${h.nsetHeader} frames, the file holds ${h.nFrames}; using ${h.nFrames}`);
        }
        return { nFrames: h.nFrames, nAtoms: h.nAtoms, ranges: null, notes };
      } finally {
        r.close();
      }
    }
    case 'pdb': {
      const index = indexPdbFrames(params.traj);
      const first = readPdbTopology(params.traj);
      return { nFrames: index.nFrames, nAtoms: first.atoms.length, ranges: index.ranges, notes };
    }
    case 'xyz': {
      const index = indexXyzFrames(params.traj);
      // Frame 0 fixes the atom count; it must be readable.
      const r = XyzReader.open(params.traj, index.nAtoms, [{ base: 0, ranges: index.ranges.slice(0, 2) }]);
      try {
        r.readFrame(0, new Float64Array(3 * index.nAtoms));
      } finally {
        r.close();
      }
      if (index.nAtoms === 0) throw new InputError(`${where(params.traj, 0)}: no atoms`);
      return { nFrames: index.nFrames, nAtoms: index.nAtoms, ranges: index.ranges, notes };
    }
  }
}

/** The spans a task over [first, last] needs from the full index. */
export function spansFor(ranges: number[], first: number, last: number, extra: number[]): FrameSpan[] {
  const spans: FrameSpan[] = [{ base: first, ranges: ranges.slice(2 * first, 2 * last + 2) }];
  for (const f of new Set(extra)) {
    if (f < first || f > last) spans.push({ base: f, ranges: ranges.slice(2 * f, 2 * f + 2) });
  }
  return spans;
}

function isSpan(s: unknown): s is FrameSpan {
  if (typeof s !== 'object' || s === null) return false;
  const { base, ranges } = s as Record<string, unknown>;
  return Number.isSafeInteger(base) && (base as number) >= 0 && Array.isArray(ranges) && ranges.length % 2 === 0 &&
    ranges.every((v) => Number.isSafeInteger(v) && v >= 0);
}

/** Validates a task reference that came over the wire. Throws InputError. */
export function checkFramesRef(raw: unknown, params: FramesParams): FramesRef {
  const bad = (why: string): never => {
    throw new InputError(`frames task reference: ${why}`);
  };
  if (typeof raw !== 'object' || raw === null) return bad('not an object');
  const { first, last, atoms, spans } = raw as Record<string, unknown>;
  if (!Number.isSafeInteger(first) || !Number.isSafeInteger(last) || (first as number) < 0 || (last as number) < (first as number)) {
    return bad(`bad frame range ${String(first)}-${String(last)}`);
  }
  if (!Number.isSafeInteger(atoms) || (atoms as number) <= 0) return bad(`bad atom count ${String(atoms)}`);
  if (params.format !== 'dcd') {
    if (!Array.isArray(spans) || !spans.every(isSpan)) return bad('missing or malformed byte ranges');
    return { first: first as number, last: last as number, atoms: atoms as number, spans: spans as FrameSpan[] };
  }
  return { first: first as number, last: last as number, atoms: atoms as number };
}

/** Opens the trajectory for a task. A DCD whose atom count changed since expand is refused. */
export function openTrajectory(params: FramesParams, ref: FramesRef): FrameReader {
  switch (params.format) {
    case 'dcd': {
      const r = DcdReader.open(params.traj);
      if (r.nAtoms !== ref.atoms) {
        r.close();
        throw new InputError(`${where(params.traj)}: ${r.nAtoms} atoms, but the job was expanded with ${ref.atoms} (file changed?)`);
      }
      return r;
    }
    case 'pdb':
      return PdbReader.open(params.traj, ref.atoms, ref.spans ?? []);
    case 'xyz':
      return XyzReader.open(params.traj, ref.atoms, ref.spans ?? []);
  }
}
