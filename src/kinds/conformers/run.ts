/**
 * One conformers task in a worker: read the task's records by byte range, keep heavy atoms,
 * check every reference conformer against the molecule's topology record and match the
 * generated ones to it (by index or by graph: gen-side.ts), compute the RMSD block and its
 * minima, and the molecule's metrics when the task covers all of it.
 */
import { basename } from 'node:path';
import { ErrorCode, InputError, ShoalError } from '../../errors.js';
import { forEachSdfMolecule, readSdfMolecules, type SdfRange } from '../../io/sdf.js';
import { fileStamp, threadInputs } from '../inputs.js';
import type { RunContext, RunOutput } from '../types.js';
import { genByGraph, genByIndex, type ExcludedConformer } from './gen-side.js';
import { checkSameAtoms, toHeavy, type ConformerOrigin, type HeavyMolecule } from './heavy.js';
import { blockMinima, moleculeMetrics, type MoleculeMetrics } from './metrics.js';
import type { ConformersParams } from './params.js';
import { bestRmsdRows, prepareConformers, preparePairings, type ConformerSet } from './rmsd-qcp.js';
import { selfMappings, type SymmetryMode } from './symmetry.js';
import { checkTaskRef } from './task-ref.js';

/** Generated conformers left out that a row lists (`n_excluded` counts them all). */
export const EXCLUDED_LISTED = 100;

/** The `value` of a conformers row. */
export interface ConformersValue {
  key: string;
  n_ref: number;
  /** Generated conformers evaluated (the columns); with --match graph, without the excluded ones. */
  n_gen: number;
  heavy_atoms: number;
  /** Reference rows covered, `[first, last)`; only on a block of a split molecule. */
  rows?: [number, number];
  /**
   * Atom mappings tried per pair (1 without symmetry) and whether the cap cut the search; how
   * atoms were matched, and with --match graph the distinct atom orders matched.
   */
  symmetry: { mode: SymmetryMode; match: ConformersParams['match']; mappings: number; capped: boolean; orders?: number };
  /** With --match graph: generated conformers left out (not the reference's graph). */
  n_excluded?: number;
  /** The first EXCLUDED_LISTED left out, when there are any. */
  excluded?: ExcludedConformer[];
  /** Per threshold; only when the task covers the whole molecule. */
  metrics?: MoleculeMetrics;
  /** Min RMSD over generated conformers, per reference row of this task. */
  row_min: number[];
  /** Min RMSD over this task's reference rows, per generated conformer. */
  col_min: number[];
  /** RMSD matrix rows × n_gen (Å, 6 decimals), with `--matrix`. */
  matrix?: number[][];
}

/** The task's reference conformers as coordinates, each record checked against the topology. */
function loadRefs(file: string, ranges: readonly SdfRange[], topo: HeavyMolecule, topoAt: ConformerOrigin): Float64Array {
  const name = basename(file);
  const coords = new Float64Array(ranges.length * 3 * topo.n);
  forEachSdfMolecule(file, ranges, name, (m, k) => {
    const heavy = toHeavy(m);
    const [, , line, record] = ranges[k]!;
    checkSameAtoms(heavy, { file: name, record, line }, topo, topoAt);
    coords.set(heavy.coords, k * 3 * topo.n);
  });
  return coords;
}

function checkAbort(signal: AbortSignal, task: string): void {
  if (signal.aborted) throw new ShoalError(ErrorCode.Aborted, `task ${task} aborted`);
}

/** Runs one task (see the kind's `run`). */
export async function runConformers(rawRef: unknown, p: ConformersParams, ctx: RunContext): Promise<RunOutput> {
  const ref = checkTaskRef(rawRef);
  if (ref.error !== undefined) throw new InputError(ref.error);
  const refFiles = ref.ref!;
  const genFiles = ref.gen!;
  const [first, last] = ref.rows!;
  const nRef = ref.nRef!;
  const refName = basename(refFiles.file);

  // The molecule's topology, symmetry mappings and generated conformers are the same for every
  // block of a split molecule: built once per agent and shared by its workers (ctx.inputs).
  const inputs = ctx.inputs ?? threadInputs;
  // Within a job a molecule key names one topology record and one set of generated records;
  // the files' stamps keep a job re-run on changed files from finding the old inputs.
  const molecule = `${ctx.job}|${ref.key}|${fileStamp(refFiles.file)}|${fileStamp(genFiles.file)}`;
  const topo = await inputs.get(`topo|${molecule}`, () => {
    const [topoMol] = readSdfMolecules(refFiles.file, [ref.topo!], refName);
    return toHeavy(topoMol!);
  });
  const topoAt: ConformerOrigin = { file: refName, record: ref.topo![3], line: ref.topo![2] };
  if (topo.n === 0) throw new InputError(`${refName} record '${topo.title}' #${topoAt.record} (line ${topoAt.line}): no heavy atoms`);
  checkAbort(ctx.signal, ctx.task);

  const refSet: ConformerSet = prepareConformers(loadRefs(refFiles.file, refFiles.ranges, topo, topoAt), topo.n);
  const { maps, pairings } = await inputs.get(`sym|${molecule}|${p.symmetry}|${p.maxMatches}`, () => {
    const found = selfMappings(topo, p.symmetry, p.maxMatches);
    return { maps: found, pairings: preparePairings(found) };
  });
  checkAbort(ctx.signal, ctx.task);
  // By graph, each distinct atom order is matched once per molecule, and shared with the blocks.
  const gen = p.match === 'graph'
    ? await inputs.get(`gen|${molecule}|graph|${p.symmetry}|${p.maxMatches}`, () => genByGraph(genFiles.file, genFiles.ranges, topo, topoAt, p.symmetry, p.maxMatches))
    : await inputs.get(`gen|${molecule}`, () => genByIndex(genFiles.file, genFiles.ranges, topo, topoAt));
  const genSet = gen.set;
  checkAbort(ctx.signal, ctx.task);

  const rows = last - first;
  const cols = genSet.count;
  const matrix = new Float64Array(rows * cols);
  // Per column only when some atom order has mappings of its own.
  const perColumn = gen.pairingOf === null || gen.groups.length === 0 ? pairings : { groups: [pairings, ...gen.groups], of: gen.pairingOf };
  // Row by row so that a cancelled task stops within one row's work.
  for (let i = 0; i < rows; i++) {
    checkAbort(ctx.signal, ctx.task);
    bestRmsdRows(refSet, genSet, perColumn, i, i + 1, matrix.subarray(i * cols, (i + 1) * cols));
  }
  const { rowMin, colMin } = blockMinima(matrix, rows, cols);

  const value: ConformersValue = {
    key: ref.key,
    n_ref: nRef,
    n_gen: cols,
    heavy_atoms: topo.n,
    symmetry: { mode: p.symmetry, match: p.match, mappings: maps.count, capped: maps.capped },
    row_min: Array.from(rowMin),
    col_min: Array.from(colMin),
  };
  if (p.match === 'graph') {
    value.symmetry = {
      ...value.symmetry,
      mappings: Math.max(gen.usesOwn ? maps.count : 0, gen.mappings),
      capped: (gen.usesOwn && maps.capped) || gen.capped,
      orders: gen.orders,
    };
    value.n_excluded = gen.excluded.length;
    // The first ones only: a row must stay far below the bus's message size.
    if (gen.excluded.length > 0) value.excluded = gen.excluded.slice(0, EXCLUDED_LISTED);
  }
  if (ref.block !== undefined) value.rows = [first, last];
  if (first === 0 && last === nRef) value.metrics = moleculeMetrics(rowMin, colMin, p.thresholds);
  if (p.matrix) {
    value.matrix = [];
    for (let i = 0; i < rows; i++) {
      value.matrix.push(Array.from(matrix.subarray(i * cols, (i + 1) * cols), (v) => Math.round(v * 1e6) / 1e6));
    }
  }
  return { value };
}
