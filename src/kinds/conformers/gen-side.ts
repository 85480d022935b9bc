/**
 * A molecule's generated conformers as a task uses them: coordinates in the reference's atom
 * order, and which atom mappings each one is compared under.
 *
 * By index, every record must list the reference's heavy atoms in its order, or the task fails
 * naming the record. By graph, each distinct atom order is matched to the reference once
 * (graph-match.ts) and its conformers' atoms put in the reference's order; a record whose graph
 * is not the reference's is left out, with the reason, and the others are evaluated.
 */
import { basename } from 'node:path';
import { InputError } from '../../errors.js';
import { forEachSdfMolecule, type SdfRange } from '../../io/sdf.js';
import { checkSameAtoms, toHeavy, type ConformerOrigin, type HeavyMolecule } from './heavy.js';
import { matchTarget } from './graph-search.js';
import { hashKey, matchOrder, orderKey, sameKey, type OrderMatch } from './graph-match.js';
import { prepareConformers, preparePairings, type ConformerSet, type PreparedPairings } from './rmsd-qcp.js';
import type { SymmetryMode } from './symmetry.js';

/** A generated record left out of a molecule's figures. */
export interface ExcludedConformer {
  /** Its place among the molecule's generated records (from 0, in file order). */
  index: number;
  record: number;
  line: number;
  message: string;
}

/** Plain data (it is shared between worker threads). */
export interface GenSide {
  /** The evaluated conformers, in file order, atoms in the reference's order. */
  set: ConformerSet;
  /**
   * By graph: per evaluated conformer, 0 when the reference's own mappings apply, g ≥ 1 when
   * `groups[g - 1]` does (an order matched only under RDKit's looser rules). Null by index.
   */
  pairingOf: Int32Array | null;
  groups: PreparedPairings[];
  /** Largest mapping count among `groups`, whether the cap cut any, and whether column group 0 is used. */
  mappings: number;
  capped: boolean;
  usesOwn: boolean;
  /** Distinct atom orders (numbering and bond notation) among the evaluated conformers. */
  orders: number;
  excluded: ExcludedConformer[];
}

const REORDER_HINT = 'use --symmetry or --match graph';

/** One distinct atom order of a molecule's generated records and how it maps onto the reference. */
interface Order {
  key: Float64Array;
  match: OrderMatch;
  /** Its mappings: 0 for the reference's own, g ≥ 1 for `groups[g - 1]`. */
  group: number;
}

/** By index: every record checked against the topology; the first that differs fails the task. */
export function genByIndex(file: string, ranges: readonly SdfRange[], topo: HeavyMolecule, topoAt: ConformerOrigin): GenSide {
  const name = basename(file);
  const coords = new Float64Array(new SharedArrayBuffer(8 * ranges.length * 3 * topo.n));
  forEachSdfMolecule(file, ranges, name, (m, k) => {
    const heavy = toHeavy(m);
    const [, , line, record] = ranges[k]!;
    checkSameAtoms(heavy, { file: name, record, line }, topo, topoAt, REORDER_HINT);
    coords.set(heavy.coords, k * 3 * topo.n);
  });
  return { set: prepareConformers(coords, topo.n, true), pairingOf: null, groups: [], mappings: 0, capped: false, usesOwn: true, orders: 1, excluded: [] };
}

/** By graph, under `mode` (not 'none') and the mapping cap. Throws InputError when no record matches. */
export function genByGraph(file: string, ranges: readonly SdfRange[], topo: HeavyMolecule, topoAt: ConformerOrigin, mode: SymmetryMode, maxMatches: number): GenSide {
  const name = basename(file);
  const n = topo.n;
  const coords = new Float64Array(new SharedArrayBuffer(8 * ranges.length * 3 * n));
  const topoGraph = matchTarget(topo);
  const topoKey = orderKey(topo);
  /** The orders met so far, by their key's hash (equal keys checked, so a collision costs a match, never a mix-up). */
  const orders = new Map<number, Order[]>();
  const groups: PreparedPairings[] = [];
  const pairingOf: number[] = [];
  const excluded: ExcludedConformer[] = [];
  let mappings = 0;
  let capped = false;
  let distinct = 0;
  let usesOwn = false;
  forEachSdfMolecule(file, ranges, name, (m, k) => {
    const heavy = toHeavy(m);
    const key = orderKey(heavy);
    const hash = hashKey(key);
    let bucket = orders.get(hash);
    if (bucket === undefined) orders.set(hash, (bucket = []));
    let order = bucket.find((o) => sameKey(o.key, key));
    if (order === undefined) {
      const match: OrderMatch = sameKey(key, topoKey) ? { ok: true, toRef: null, maps: null } : matchOrder(heavy, topoGraph, mode, maxMatches);
      let group = 0;
      if (match.ok && match.maps !== null) {
        groups.push(preparePairings(match.maps));
        group = groups.length;
        mappings = Math.max(mappings, match.maps.count);
        capped ||= match.maps.capped;
      }
      if (match.ok) distinct++;
      usesOwn ||= match.ok && group === 0;
      bucket.push((order = { key, match, group }));
    }
    const [, , line, record] = ranges[k]!;
    const match = order.match;
    if (!match.ok) {
      const message = `${name} record '${heavy.title}' #${record} (line ${line}): not the reference's graph (${topoAt.file} record #${topoAt.record}): ${match.why}`;
      excluded.push({ index: k, record, line, message });
      return;
    }
    const base = pairingOf.length * 3 * n;
    if (match.toRef === null) {
      coords.set(heavy.coords, base);
    } else {
      for (let a = 0; a < n; a++) {
        const to = base + 3 * match.toRef[a]!;
        coords[to] = heavy.coords[3 * a]!;
        coords[to + 1] = heavy.coords[3 * a + 1]!;
        coords[to + 2] = heavy.coords[3 * a + 2]!;
      }
    }
    pairingOf.push(order.group);
  });
  if (pairingOf.length === 0) {
    throw new InputError(`none of the molecule's ${ranges.length} generated conformer(s) has the reference's graph; first: ${excluded[0]!.message}`);
  }
  const set = prepareConformers(coords.subarray(0, pairingOf.length * 3 * n), n, true);
  return { set, pairingOf: Int32Array.from(pairingOf), groups, mappings, capped, usesOwn, orders: distinct, excluded };
}
