/**
 * PDB files: the topology (first model's atoms with elements) and multi-model trajectories
 * (MODEL/ENDMDL; files without MODEL records may separate frames with END, or hold one frame).
 *
 * Fixed columns (1-based): record name 1-6, atom name 13-16, residue name 18-21 (18-20 in the
 * standard, CHARMM writes 4 characters), chain 22, residue number 23-26, x 31-38, y 39-46,
 * z 47-54, element 77-78.
 */
import { InputError } from '../errors.js';
import { elementBySymbol, guessElementFromAtomName } from './elements.js';
import {
  closeQuietly, openForRead, parseNumber, scanLines, startsWith, where,
  SpanFrameReader, type FrameSpan,
} from './traj-file.js';

/** One atom of a topology. */
export interface TopologyAtom {
  name: string;
  resName: string;
  resSeq: number;
  chain: string;
  /** Canonical element symbol, or undefined when neither the element columns nor the name tell. */
  element: string | undefined;
  /** Where the element came from. */
  elementFrom: 'column' | 'name' | 'none';
}

/** The atoms of a topology, in file order. */
export interface Topology {
  path: string;
  atoms: TopologyAtom[];
}

function isAtomRecord(line: Buffer): boolean {
  return startsWith(line, 'ATOM') || startsWith(line, 'HETATM');
}

/** An `END` record (not ENDMDL). */
function isEnd(line: Buffer): boolean {
  return startsWith(line, 'END') && (line.length === 3 || line[3] === 32);
}

/** Parses one ATOM/HETATM line's identity fields. */
export function parseAtomLine(line: Buffer): TopologyAtom {
  const text = line.toString('latin1');
  const name = text.slice(12, 16).padEnd(4, ' ');
  const resName = text.slice(17, 21).trim();
  const column = text.length >= 77 ? text.slice(76, 78).trim() : '';
  const fromColumn = column !== '' ? elementBySymbol(column)?.symbol : undefined;
  const guessed = fromColumn === undefined ? guessElementFromAtomName(name, resName) : undefined;
  return {
    name: name.trim(),
    resName,
    resSeq: Number.parseInt(text.slice(22, 26), 10) || 0,
    chain: text.slice(21, 22).trim(),
    element: fromColumn ?? guessed,
    elementFrom: fromColumn !== undefined ? 'column' : guessed !== undefined ? 'name' : 'none',
  };
}

/**
 * Reads the atoms of a PDB's first model (stops at its ENDMDL/END, so only the first frame of
 * a trajectory is read). Throws InputError when the file has no ATOM/HETATM record.
 */
export function readPdbTopology(path: string): Topology {
  const fd = openForRead(path);
  const atoms: TopologyAtom[] = [];
  try {
    scanLines(fd, (line) => {
      if (isAtomRecord(line)) atoms.push(parseAtomLine(line));
      else if (atoms.length > 0 && (startsWith(line, 'ENDMDL') || isEnd(line) || startsWith(line, 'MODEL'))) return false;
      return true;
    });
  } finally {
    closeQuietly(fd);
  }
  if (atoms.length === 0) throw new InputError(`${where(path)}: no ATOM or HETATM records`);
  return { path, atoms };
}

/** Byte ranges of every frame of a PDB trajectory, found in one streaming pass. */
export interface PdbIndex {
  /** Frame k is [ranges[2k], ranges[2k+1]). */
  ranges: number[];
  nFrames: number;
}

/**
 * Indexes the frames of a PDB: each MODEL starts a frame, ENDMDL ends it; without MODEL
 * records a frame runs from its first atom to the next END (or the end of the file).
 * Throws InputError when the file holds no atoms.
 */
export function indexPdbFrames(path: string): PdbIndex {
  const fd = openForRead(path);
  const ranges: number[] = [];
  let open = -1; // start of the frame being read, -1 when none
  let atoms = false;
  let endOfFile = 0;
  const close = (end: number): void => {
    if (open >= 0 && atoms) ranges.push(open, end);
    open = -1;
    atoms = false;
  };
  try {
    scanLines(fd, (line, offset, next) => {
      endOfFile = next;
      if (startsWith(line, 'MODEL')) {
        close(offset);
        open = offset;
      } else if (isAtomRecord(line)) {
        if (open < 0) open = offset;
        atoms = true;
      } else if (startsWith(line, 'ENDMDL') || isEnd(line)) {
        close(next);
      }
    });
  } finally {
    closeQuietly(fd);
  }
  close(endOfFile);
  if (ranges.length === 0) throw new InputError(`${where(path)}: no frames (no ATOM or HETATM records)`);
  return { ranges, nFrames: ranges.length / 2 };
}

/**
 * Reads the coordinates of the ATOM/HETATM records in `buf` into `out`; checks the count.
 * Throws InputError naming file, frame and atom.
 */
export function parsePdbFrame(buf: Buffer, out: Float64Array, nAtoms: number, path: string, frame: number): void {
  let atom = 0;
  let pos = 0;
  while (pos < buf.length) {
    let nl = buf.indexOf(10, pos);
    if (nl < 0) nl = buf.length;
    const line = buf.subarray(pos, nl);
    pos = nl + 1;
    if (!isAtomRecord(line)) {
      if (atom > 0 && startsWith(line, 'ENDMDL')) break;
      continue;
    }
    if (atom >= nAtoms) {
      atom++;
      continue; // counted for the message below
    }
    for (let axis = 0; axis < 3; axis++) {
      const v = line.length >= 38 + 8 * axis ? parseNumber(line, 30 + 8 * axis, 38 + 8 * axis) : NaN;
      if (Number.isNaN(v)) {
        const field = line.toString('latin1', 30 + 8 * axis, Math.min(line.length, 38 + 8 * axis)).trim();
        throw new InputError(
          `${where(path, frame)}: atom ${atom + 1}: ${'xyz'[axis]} coordinate '${field}' (columns ${31 + 8 * axis}-${38 + 8 * axis}) is not a number`,
        );
      }
      out[3 * atom + axis] = v;
    }
    atom++;
  }
  if (atom !== nAtoms) throw new InputError(`${where(path, frame)}: ${atom} atoms, expected ${nAtoms}`);
}

/** Random access to the frames of a PDB trajectory through byte ranges from its index. */
export class PdbReader extends SpanFrameReader {
  readonly format = 'pdb' as const;

  /** Opens `path`; `spans` say where the frames this reader may read are. */
  static open(path: string, nAtoms: number, spans: readonly FrameSpan[]): PdbReader {
    return new PdbReader(path, nAtoms, spans);
  }

  protected parse(bytes: Buffer, out: Float64Array, frame: number): void {
    parsePdbFrame(bytes, out, this.nAtoms, this.path, frame);
  }
}
