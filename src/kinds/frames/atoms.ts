/**
 * Per-atom facts the analyses need: elements (from the topology PDB, or from the trajectory
 * itself for PDB and XYZ), masses, zeno radii and the heavy-atom selection. Checked once at
 * expand, so a job whose atoms lack what its analyses need is refused before it starts; at run
 * time built once per agent and shared by its workers (see run.ts), so a chunk of frames does
 * not re-read the topology.
 *
 * An AtomInfo is plain data (numbers, strings, typed arrays) so that it can live in the agent's
 * input store: per-atom facts are typed arrays (shared memory there), not per-atom strings.
 */
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
  /** The distinct element symbols, as the file gives them. */
  symbols: string[];
  /** Per atom: its symbol's index in `symbols`, -1 when the file does not tell. */
  element: Int16Array;
  /** Masses by element, null when some element is unknown. */
  masses: Float64Array | null;
  totalMass: number;
  /** Indexes of all atoms, and of the atoms that are not hydrogen. */
  all: Int32Array;
  heavy: Int32Array;
  /**
   * What messages call each atom (`CA ALA 3`), UTF-8: atom i's text ends at `labelEnds[i]`
   * and starts where atom i − 1's ends (0 for atom 0). See {@link atomLabel}.
   */
  labelText: Uint8Array;
  labelEnds: Int32Array;
}

/** `atom 17 (CA ALA 3)`, for messages. */
export function atomLabel(info: AtomInfo, i: number): string {
  const start = i === 0 ? 0 : info.labelEnds[i - 1]!;
  const end = info.labelEnds[i]!;
  const bytes = info.labelText;
  // Buffer.from(buffer, ...) views the memory (shared or not) without copying it.
  const text = Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start).toString('utf8');
  return `atom ${i + 1} (${text})`;
}

/** Packs per-atom labels into UTF-8 text and end offsets. */
function packLabels(labels: string[]): { labelText: Uint8Array; labelEnds: Int32Array } {
  const labelEnds = new Int32Array(labels.length);
  let total = 0;
  for (let i = 0; i < labels.length; i++) labelEnds[i] = total += Buffer.byteLength(labels[i]!, 'utf8');
  const labelText = new Uint8Array(total);
  const encoder = new TextEncoder();
  for (let i = 0, at = 0; i < labels.length; i++) at += encoder.encodeInto(labels[i]!, labelText.subarray(at)).written;
  return { labelText, labelEnds };
}

function build(source: string, elements: (string | undefined)[], names: string[], residues: string[]): AtomInfo {
  const n = elements.length;
  const symbols: string[] = [];
  const codes = new Map<string, number>();
  const element = new Int16Array(n);
  let masses: Float64Array | null = new Float64Array(n);
  let totalMass = 0;
  const heavy: number[] = [];
  for (let i = 0; i < n; i++) {
    const sym = elements[i];
    let k = -1;
    if (sym !== undefined) {
      k = codes.get(sym) ?? -1;
      if (k < 0) {
        k = symbols.push(sym) - 1;
        if (k > 0x7fff) throw new RangeError(`${source}: more than ${0x7fff + 1} distinct element symbols`);
        codes.set(sym, k);
      }
    }
    element[i] = k;
    const el = sym === undefined ? undefined : elementBySymbol(sym);
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
    symbols,
    element,
    masses,
    totalMass,
    all: Int32Array.from({ length: n }, (_, i) => i),
    heavy: Int32Array.from(heavy),
    ...packLabels(names.map((name, i) => [name, residues[i]].filter((s) => s).join(' '))),
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
  const bySymbol = info.symbols.map((sym) => overrides[sym] ?? elementBySymbol(sym)?.radius ?? undefined);
  const radii = new Float64Array(info.n);
  for (let i = 0; i < info.n; i++) {
    const k = info.element[i]!;
    const r = k < 0 ? undefined : bySymbol[k];
    if (r === undefined || r === null) {
      throw new InputError(
        k < 0
          ? `${info.source} ${atomLabel(info, i)}: unknown element, so no zeno radius`
          : `${info.source} ${atomLabel(info, i)}: no default radius for ${info.symbols[k]}; give one with --radii ${info.symbols[k]}=R`,
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
    const known = info.symbols.map((sym) => elementBySymbol(sym) !== undefined);
    const i = info.element.findIndex((k) => k < 0 || !known[k]);
    if (i >= 0) {
      const why = params.analyses.some((a) => NEEDS_MASSES.has(a)) ? `${params.analyses.filter((a) => NEEDS_MASSES.has(a)).join(' and ')} need masses` : '--select heavy needs elements';
      throw new InputError(`${info.source} ${atomLabel(info, i)}: unknown element; ${why}`);
    }
  }
  if (params.analyses.includes('rmsd') && params.select === 'heavy' && info.heavy.length === 0) {
    throw new InputError(`${info.source}: no heavy atoms to superpose (--select heavy)`);
  }
  if (params.analyses.includes('zeno')) atomRadii(info, params.radii);
}
