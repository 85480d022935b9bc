/**
 * Per-atom facts the analyses need: elements (from the topology PDB, or from the trajectory
 * itself for PDB and XYZ), masses, zeno radii and the heavy-atom selection. Checked once at
 * expand, so a job whose atoms lack what its analyses need is refused before it starts; cached
 * per worker thread at run time (a chunk of frames should not re-read the topology).
 */
import { statSync } from 'node:fs';
import { basename } from 'node:path';
import { InputError } from '../../errors.js';
import { elementBySymbol } from '../../io/elements.js';
import { readPdbTopology, type TopologyAtom } from '../../io/pdb.js';
import { rangeOf, type FrameSpan } from '../../io/traj-file.js';
import { readXyzElements } from '../../io/xyz.js';
import { NEEDS_MASSES } from './analyses.js';
import type { FramesParams } from './params.js';

/** What the analyses know about the atoms. */
export interface AtomInfo {
  /** Where the elements came from (topology or trajectory). */
  source: string;
  n: number;
  elements: (string | undefined)[];
  /** Masses by element, null when some element is unknown. */
  masses: Float64Array | null;
  totalMass: number;
  /** Indexes of all atoms, and of the atoms that are not hydrogen. */
  all: Int32Array;
  heavy: Int32Array;
  /** `atom 17 (CA ALA 3)` for messages. */
  label(i: number): string;
}

function build(source: string, elements: (string | undefined)[], names: string[], residues: string[]): AtomInfo {
  const n = elements.length;
  let masses: Float64Array | null = new Float64Array(n);
  let totalMass = 0;
  const heavy: number[] = [];
  for (let i = 0; i < n; i++) {
    const el = elements[i] === undefined ? undefined : elementBySymbol(elements[i]!);
    if (el === undefined) masses = null;
    else if (masses !== null) {
      masses[i] = el.mass;
      totalMass += el.mass;
    }
    if (el?.symbol !== 'H') heavy.push(i);
  }
  return {
    source,
    n,
    elements,
    masses,
    totalMass,
    all: Int32Array.from({ length: n }, (_, i) => i),
    heavy: Int32Array.from(heavy),
    label: (i) => `atom ${i + 1} (${[names[i], residues[i]].filter((s) => s).join(' ')})`,
  };
}

function fromTopology(atoms: TopologyAtom[], path: string): AtomInfo {
  return build(
    basename(path),
    atoms.map((a) => a.element),
    atoms.map((a) => a.name),
    atoms.map((a) => (a.resName ? `${a.resName} ${a.resSeq}` : '')),
  );
}

/**
 * Loads the atoms: from `--top`, else from the PDB trajectory's first model, else from the
 * XYZ trajectory's first frame (whose byte range must be among `spans`).
 */
export function loadAtoms(params: FramesParams, nAtoms: number, spans: readonly FrameSpan[]): AtomInfo {
  if (params.top !== null) return fromTopology(readPdbTopology(params.top).atoms, params.top);
  if (params.format === 'pdb') return fromTopology(readPdbTopology(params.traj).atoms, params.traj);
  if (params.format === 'xyz') {
    const range = rangeOf(spans, 0);
    if (range === undefined) throw new InputError(`${basename(params.traj)}: frame 0 is needed for the elements`);
    const { elements, tokens } = readXyzElements(params.traj, nAtoms, range[0], range[1]);
    return build(basename(params.traj), elements, tokens, tokens.map(() => ''));
  }
  throw new InputError(`${basename(params.traj)}: a DCD trajectory needs --top`);
}

/** The zeno radius of every atom (overrides first, then the element's default). */
export function atomRadii(info: AtomInfo, overrides: Record<string, number>): Float64Array {
  const radii = new Float64Array(info.n);
  for (let i = 0; i < info.n; i++) {
    const sym = info.elements[i];
    const r = sym === undefined ? undefined : (overrides[sym] ?? elementBySymbol(sym)?.radius ?? undefined);
    if (r === undefined || r === null) {
      throw new InputError(
        sym === undefined
          ? `${info.source} ${info.label(i)}: unknown element, so no zeno radius`
          : `${info.source} ${info.label(i)}: no default radius for ${sym}; give one with --radii ${sym}=R`,
      );
    }
    radii[i] = r;
  }
  return radii;
}

/** Refuses (InputError) atoms that lack what the requested analyses need. */
export function checkAtoms(info: AtomInfo, params: FramesParams): void {
  const needsElements = params.analyses.some((a) => NEEDS_MASSES.has(a)) || (params.analyses.includes('rmsd') && params.select === 'heavy');
  if (needsElements) {
    const i = info.elements.findIndex((e) => e === undefined || elementBySymbol(e) === undefined);
    if (i >= 0) {
      const why = params.analyses.some((a) => NEEDS_MASSES.has(a)) ? `${params.analyses.filter((a) => NEEDS_MASSES.has(a)).join(' and ')} need masses` : '--select heavy needs elements';
      throw new InputError(`${info.source} ${info.label(i)}: unknown element; ${why}`);
    }
  }
  if (params.analyses.includes('rmsd') && params.select === 'heavy' && info.heavy.length === 0) {
    throw new InputError(`${info.source}: no heavy atoms to superpose (--select heavy)`);
  }
  if (params.analyses.includes('zeno')) atomRadii(info, params.radii);
}

const cache = new Map<string, AtomInfo>();
const CACHE_MAX = 8;

/** loadAtoms, cached per thread by file identity (path, size, mtime). */
export function cachedAtoms(params: FramesParams, nAtoms: number, spans: readonly FrameSpan[]): AtomInfo {
  const file = params.top ?? params.traj;
  const st = statSync(file);
  const key = `${file}\0${st.size}\0${st.mtimeMs}\0${nAtoms}`;
  let info = cache.get(key);
  if (info === undefined) {
    info = loadAtoms(params, nAtoms, spans);
    if (cache.size >= CACHE_MAX) cache.clear();
    cache.set(key, info);
  }
  return info;
}
