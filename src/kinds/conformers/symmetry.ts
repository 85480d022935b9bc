/**
 * Atom mappings of a molecule onto itself, for symmetry-corrected RMSD, with RDKit's
 * `rdMolAlign.GetBestRMS` semantics on the heavy-atom graph.
 *
 * RDKit finds every substructure match of the probe molecule (the query) onto the reference
 * (the target) with `uniquify=false`, up to `maxMatches`. Here both are the same graph, so the
 * matches are the graph automorphisms, with RDKit's matching rules: same element; a charged,
 * isotope-labelled or radical query atom needs the same value on the target; bonds of the same
 * type, aromatic bonds perceived as such. Hydrogen counts are not compared.
 *
 * By default (`symmetrizeConjugatedTerminalGroups=true`) the query is first relaxed: every
 * terminal O or N that is singly bonded to an atom doubly bonded to another terminal O or N
 * (or the reverse) — the oxygens of a carboxylic acid, carboxylate, nitro, sulfonate, the
 * terminal nitrogens of an amidine or guanidine — loses its charge, and its bond may match a
 * single or a double bond. Then both oxygens of `C(=O)O` map onto each other. `strict` skips
 * this relaxation: automorphisms of the graph as written.
 */
import type { HeavyMolecule } from './heavy.js';
import { perceiveAromaticBonds } from './aromaticity.js';
import { buildGraph, findRings, type Graph } from './rings.js';

/** `none`: atoms matched by index; `default`: RDKit's GetBestRMS default; `strict`: automorphisms only. */
export type SymmetryMode = 'none' | 'default' | 'strict';

/** Bond query label for a relaxed terminal bond: matches a single or a double bond. */
const SINGLE_OR_DOUBLE = 255;

/** The mappings found, stored row by row. */
export interface Mappings {
  /** Atoms per mapping. */
  n: number;
  /** Number of mappings (≥ 1: the identity is always one). */
  count: number;
  /** True when the search stopped at the cap with more mappings left. */
  capped: boolean;
  /**
   * `map[m * n + q]` is the reference atom that probe (generated) atom q is paired with in
   * mapping m.
   */
  map: Uint8Array | Uint16Array;
  /** Atoms that some mapping moves (the others pair with themselves in every mapping). */
  moving: Int32Array;
}

/** The identity mapping alone (`--symmetry` off). */
export function identityMappings(n: number): Mappings {
  const map = n < 256 ? new Uint8Array(n) : new Uint16Array(n);
  for (let i = 0; i < n; i++) map[i] = i;
  return { n, count: 1, capped: false, map, moving: new Int32Array(0) };
}

/** Atom labels for the search: query side (possibly relaxed) and target side. */
interface Labels {
  g: Graph;
  /** Bond labels of the target. */
  targetBond: Uint8Array;
  /** Bond labels of the query (relaxed bonds get SINGLE_OR_DOUBLE). */
  queryBond: Uint8Array;
  /** Query charges (relaxed atoms get 0, i.e. "any"). */
  queryCharge: Int8Array;
  /** Colour classes from refinement on element and degree: a cheap necessary condition. */
  colour: Int32Array;
  /** bondBetween[a * n + b] = bond index + 1, or 0. */
  bondBetween: Int32Array;
}

function isTerminalON(mol: HeavyMolecule, g: Graph, a: number): boolean {
  return (mol.z[a] === 8 || mol.z[a] === 7) && g.nbr[a]!.length === 1;
}

/**
 * RDKit's terminal-group relaxation, on heavy atoms: the SMARTS
 * `[O,N;D1;$([O,N;D1]-[*]=[O,N;D1]),$([O,N;D1]=[*]-[O,N;D1])]~[*]` with `-` and `=` meaning
 * non-aromatic single and double bonds.
 */
function relaxTerminalGroups(mol: HeavyMolecule, g: Graph, bondLabel: Uint8Array, queryBond: Uint8Array, queryCharge: Int8Array): void {
  for (let a = 0; a < mol.n; a++) {
    if (!isTerminalON(mol, g, a)) continue;
    const c = g.nbr[a]![0]!;
    const ac = g.nbrBond[a]![0]!;
    const t = bondLabel[ac]!;
    if (t !== 1 && t !== 2) continue;
    const want = t === 1 ? 2 : 1;
    let partner = false;
    for (let k = 0; k < g.nbr[c]!.length; k++) {
      const b = g.nbr[c]![k]!;
      if (b !== a && bondLabel[g.nbrBond[c]![k]!] === want && isTerminalON(mol, g, b)) partner = true;
    }
    if (!partner) continue;
    queryCharge[a] = 0;
    queryBond[ac] = SINGLE_OR_DOUBLE;
  }
}

/** Colour refinement (1-dimensional Weisfeiler-Lehman) on element and degree. */
function refineColours(mol: HeavyMolecule, g: Graph): Int32Array {
  let colour = new Int32Array(mol.n);
  const first = new Map<string, number>();
  for (let a = 0; a < mol.n; a++) {
    const key = `${mol.symbols[a]}/${g.nbr[a]!.length}`;
    if (!first.has(key)) first.set(key, first.size);
    colour[a] = first.get(key)!;
  }
  for (let round = 0; round < mol.n; round++) {
    const next = new Int32Array(mol.n);
    const ids = new Map<string, number>();
    for (let a = 0; a < mol.n; a++) {
      const around = g.nbr[a]!.map((b) => colour[b]!).sort((p, q) => p - q);
      const key = `${colour[a]}|${around.join(',')}`;
      if (!ids.has(key)) ids.set(key, ids.size);
      next[a] = ids.get(key)!;
    }
    const before = new Set(colour).size;
    colour = next;
    if (ids.size === before) break;
  }
  return colour;
}

function labels(mol: HeavyMolecule, mode: SymmetryMode): Labels {
  const g = buildGraph(mol.n, mol.bondA, mol.bondB);
  const rings = findRings(g);
  const targetBond = perceiveAromaticBonds(mol, g, rings);
  const queryBond = targetBond.slice();
  const queryCharge = mol.charges.slice();
  if (mode === 'default') relaxTerminalGroups(mol, g, targetBond, queryBond, queryCharge);
  const bondBetween = new Int32Array(mol.n * mol.n);
  for (let b = 0; b < mol.bondA.length; b++) {
    bondBetween[mol.bondA[b]! * mol.n + mol.bondB[b]!] = b + 1;
    bondBetween[mol.bondB[b]! * mol.n + mol.bondA[b]!] = b + 1;
  }
  return { g, targetBond, queryBond, queryCharge, colour: refineColours(mol, g), bondBetween };
}

/** Query atoms in search order: breadth first from the most constrained atom of each component. */
function searchOrder(mol: HeavyMolecule, L: Labels): Int32Array {
  const classSize = new Map<number, number>();
  for (let a = 0; a < mol.n; a++) classSize.set(L.colour[a]!, (classSize.get(L.colour[a]!) ?? 0) + 1);
  const order: number[] = [];
  const placed = new Uint8Array(mol.n);
  while (order.length < mol.n) {
    let root = -1;
    for (let a = 0; a < mol.n; a++) {
      if (placed[a]) continue;
      if (root < 0 || classSize.get(L.colour[a]!)! < classSize.get(L.colour[root]!)!) root = a;
    }
    placed[root] = 1;
    const queue = [root];
    for (let q = 0; q < queue.length; q++) {
      const v = queue[q]!;
      order.push(v);
      for (const w of L.g.nbr[v]!) {
        if (!placed[w]) {
          placed[w] = 1;
          queue.push(w);
        }
      }
    }
  }
  return Int32Array.from(order);
}

function bondMatches(query: number, target: number): boolean {
  return query === SINGLE_OR_DOUBLE ? target === 1 || target === 2 : query === target;
}

/**
 * All mappings of the molecule onto itself under `mode`, at most `maxMatches` of them (RDKit's
 * `maxMatches`, default 1e6 in GetBestRMS). `mode` 'none' gives the identity.
 */
export function selfMappings(mol: HeavyMolecule, mode: SymmetryMode, maxMatches: number): Mappings {
  const n = mol.n;
  if (mode === 'none' || n === 0) return identityMappings(n);
  const L = labels(mol, mode);
  const order = searchOrder(mol, L);
  // For each position in the order, the earlier query atoms bonded to it.
  const back: number[][] = [];
  const pos = new Int32Array(n);
  for (let i = 0; i < n; i++) pos[order[i]!] = i;
  for (let i = 0; i < n; i++) back.push(L.g.nbr[order[i]!]!.filter((w) => pos[w]! < i));

  const wide = n >= 256;
  let cap = 64;
  let store: Uint8Array | Uint16Array = wide ? new Uint16Array(cap * n) : new Uint8Array(cap * n);
  let count = 0;
  let capped = false;
  const image = new Int32Array(n).fill(-1); // query atom -> target atom
  const used = new Uint8Array(n); // target atoms taken

  const atomOk = (q: number, t: number): boolean => {
    if (used[t] || L.colour[q] !== L.colour[t] || mol.symbols[q] !== mol.symbols[t]) return false;
    const qc = L.queryCharge[q]!;
    if (qc !== 0 && qc !== mol.charges[t]) return false;
    if (mol.isotopes[q] !== 0 && mol.isotopes[q] !== mol.isotopes[t]) return false;
    if (mol.radicals[q] !== 0 && mol.radicals[q] !== mol.radicals[t]) return false;
    return true;
  };

  const edgesOk = (i: number, q: number, t: number): boolean => {
    // Every mapped query neighbour must be a target neighbour through a matching bond; the
    // target may not have more mapped neighbours than the query (the match is a bijection).
    let mapped = 0;
    for (const w of back[i]!) {
      const tb = L.bondBetween[t * n + image[w]!]!;
      if (tb === 0) return false;
      if (!bondMatches(L.queryBond[L.bondBetween[q * n + w]! - 1]!, L.targetBond[tb - 1]!)) return false;
      mapped++;
    }
    let targetMapped = 0;
    for (const u of L.g.nbr[t]!) if (used[u]) targetMapped++;
    return targetMapped === mapped;
  };

  const record = (): void => {
    if (count === cap) {
      cap *= 2;
      const bigger: Uint8Array | Uint16Array = wide ? new Uint16Array(cap * n) : new Uint8Array(cap * n);
      bigger.set(store);
      store = bigger;
    }
    for (let q = 0; q < n; q++) store[count * n + q] = image[q]!;
    count++;
  };

  // Depth-first search; returns false to abort (cap reached and one more mapping exists).
  const extend = (i: number): boolean => {
    if (i === n) {
      if (count >= maxMatches) {
        capped = true;
        return false;
      }
      record();
      return true;
    }
    const q = order[i]!;
    const anchor = back[i]!.length > 0 ? image[back[i]![0]!]! : -1;
    const candidates = anchor >= 0 ? L.g.nbr[anchor]! : null;
    const m = candidates ? candidates.length : n;
    for (let k = 0; k < m; k++) {
      const t = candidates ? candidates[k]! : k;
      if (!atomOk(q, t) || !edgesOk(i, q, t)) continue;
      image[q] = t;
      used[t] = 1;
      const go = extend(i + 1);
      used[t] = 0;
      image[q] = -1;
      if (!go) return false;
    }
    return true;
  };
  extend(0);

  const map = store.slice(0, count * n);
  const moves = new Uint8Array(n);
  for (let m = 0; m < count; m++) for (let q = 0; q < n; q++) if (map[m * n + q] !== q) moves[q] = 1;
  const moving: number[] = [];
  for (let q = 0; q < n; q++) if (moves[q]) moving.push(q);
  return { n, count, capped, map, moving: Int32Array.from(moving) };
}
