/**
 * Substructure search between two heavy-atom graphs of the same size, with RDKit's matching
 * rules: the atom mappings of a query molecule (the generated conformer, GetBestRMS's probe)
 * onto a target (the reference). A query atom matches a target atom of the same element; a
 * charge, isotope or radical on the query atom must be the target's too (a query atom without
 * one matches any); bonds match by type, aromatic bonds as perceived on each molecule. Hydrogen
 * counts are not compared. With `exact` the atoms' charges, isotopes and radicals must be equal
 * both ways: a label-preserving isomorphism, used to carry one molecule's mappings to another.
 *
 * Both molecules have as many atoms and bonds (the caller checks), so every complete mapping is
 * a bijection on atoms and on bonds.
 */
import { perceiveAromaticBonds } from './aromaticity.js';
import type { HeavyMolecule } from './heavy.js';
import { buildGraph, findRings, type Graph } from './rings.js';

/** Bond query label for a relaxed terminal bond: matches a single or a double bond. */
export const SINGLE_OR_DOUBLE = 255;

/** A molecule ready for matching: its graph and its bond labels with aromaticity perceived. */
export interface MatchGraph {
  mol: HeavyMolecule;
  g: Graph;
  /** Bond labels (molfile codes, AROMATIC for perceived aromatic bonds). */
  bond: Uint8Array;
  /** `bondBetween[a * n + b]` = bond index + 1, or 0. */
  bondBetween: Int32Array;
}

/** What a query atom and bond ask of the target. */
export interface QueryRules {
  /** Per query bond: the label it needs (SINGLE_OR_DOUBLE for either). */
  bond: Uint8Array;
  /** Per query atom: the charge it needs (0: any, unless `exact`). */
  charge: Int8Array;
  /** Charges, isotopes and radicals equal both ways. */
  exact: boolean;
}

export function matchGraph(mol: HeavyMolecule): MatchGraph {
  const g = buildGraph(mol.n, mol.bondA, mol.bondB);
  const bond = perceiveAromaticBonds(mol, g, findRings(g));
  const bondBetween = new Int32Array(mol.n * mol.n);
  for (let b = 0; b < mol.bondA.length; b++) {
    bondBetween[mol.bondA[b]! * mol.n + mol.bondB[b]!] = b + 1;
    bondBetween[mol.bondB[b]! * mol.n + mol.bondA[b]!] = b + 1;
  }
  return { mol, g, bond, bondBetween };
}

/** The rules of a molecule matched as itself: its own labels, exact or not. */
export function plainRules(q: MatchGraph, exact: boolean): QueryRules {
  return { bond: q.bond, charge: q.mol.charges, exact };
}

export function bondMatches(query: number, target: number): boolean {
  return query === SINGLE_OR_DOUBLE ? target === 1 || target === 2 : query === target;
}

/** Whether query atom `a` may be paired with target atom `b`, by their own labels. */
export function atomMatches(q: MatchGraph, rules: QueryRules, a: number, t: MatchGraph, b: number): boolean {
  const qm = q.mol;
  const tm = t.mol;
  if (qm.symbols[a] !== tm.symbols[b]) return false;
  const qc = rules.charge[a]!;
  if (rules.exact) return qc === tm.charges[b] && qm.isotopes[a] === tm.isotopes[b] && qm.radicals[a] === tm.radicals[b];
  if (qc !== 0 && qc !== tm.charges[b]) return false;
  if (qm.isotopes[a] !== 0 && qm.isotopes[a] !== tm.isotopes[b]) return false;
  if (qm.radicals[a] !== 0 && qm.radicals[a] !== tm.radicals[b]) return false;
  return true;
}

/**
 * Colour refinement (1-dimensional Weisfeiler-Lehman) on element and degree over both graphs at
 * once, so that equal colours mean the same class in either: a cheap necessary condition for a
 * pair. One array when the two are the same graph.
 */
function jointColours(q: MatchGraph, t: MatchGraph): [Int32Array, Int32Array] {
  const sides = q === t ? [q] : [q, t];
  let colours = sides.map((s) => new Int32Array(s.mol.n));
  const first = new Map<string, number>();
  for (const [k, s] of sides.entries()) {
    for (let a = 0; a < s.mol.n; a++) {
      const key = `${s.mol.symbols[a]}/${s.g.nbr[a]!.length}`;
      if (!first.has(key)) first.set(key, first.size);
      colours[k]![a] = first.get(key)!;
    }
  }
  let classes = first.size;
  for (let round = 0; round < q.mol.n; round++) {
    const ids = new Map<string, number>();
    const next = sides.map((s, k) => {
      const out = new Int32Array(s.mol.n);
      for (let a = 0; a < s.mol.n; a++) {
        const around = s.g.nbr[a]!.map((b) => colours[k]![b]!).sort((x, y) => x - y);
        const key = `${colours[k]![a]}|${around.join(',')}`;
        if (!ids.has(key)) ids.set(key, ids.size);
        out[a] = ids.get(key)!;
      }
      return out;
    });
    colours = next;
    if (ids.size === classes) break;
    classes = ids.size;
  }
  return [colours[0]!, colours[colours.length - 1]!];
}

/** Query atoms in search order: breadth first from the most constrained atom of each component. */
function searchOrder(q: MatchGraph, colour: Int32Array): Int32Array {
  const n = q.mol.n;
  const classSize = new Map<number, number>();
  for (let a = 0; a < n; a++) classSize.set(colour[a]!, (classSize.get(colour[a]!) ?? 0) + 1);
  const order: number[] = [];
  const placed = new Uint8Array(n);
  while (order.length < n) {
    let root = -1;
    for (let a = 0; a < n; a++) {
      if (placed[a]) continue;
      if (root < 0 || classSize.get(colour[a]!)! < classSize.get(colour[root]!)!) root = a;
    }
    placed[root] = 1;
    const queue = [root];
    for (let i = 0; i < queue.length; i++) {
      const v = queue[i]!;
      order.push(v);
      for (const w of q.g.nbr[v]!) {
        if (!placed[w]) {
          placed[w] = 1;
          queue.push(w);
        }
      }
    }
  }
  return Int32Array.from(order);
}

/** The mappings a search found, row by row, and how far it got when it found none. */
export interface SearchResult {
  count: number;
  /** True when the search stopped at `max` with more mappings left (only looked for with `probe`). */
  capped: boolean;
  /** `map[m * n + a]`: the target atom paired with query atom a in mapping m. */
  map: Uint8Array | Uint16Array;
  /** The most query atoms placed at once. */
  deepest: number;
  /** The query atom the deepest partial mapping could not place (-1 when some mapping was found). */
  stuck: number;
}

export interface SearchLimits {
  /** Most mappings kept. */
  max: number;
  /** Look for one more past `max`, to say whether the cap cut the search. */
  probe: boolean;
}

/** The mappings of `q` (under `rules`) onto `t`: a depth-first search, at most `limits.max` of them. */
export function findMappings(q: MatchGraph, rules: QueryRules, t: MatchGraph, limits: SearchLimits): SearchResult {
  const n = q.mol.n;
  const wide = n >= 256;
  const [qColour, tColour] = jointColours(q, t);
  const order = searchOrder(q, qColour);
  // For each position in the order, the earlier query atoms bonded to it.
  const back: number[][] = [];
  const pos = new Int32Array(n);
  for (let i = 0; i < n; i++) pos[order[i]!] = i;
  for (let i = 0; i < n; i++) back.push(q.g.nbr[order[i]!]!.filter((w) => pos[w]! < i));

  let cap = 64;
  let store: Uint8Array | Uint16Array = wide ? new Uint16Array(cap * n) : new Uint8Array(cap * n);
  let count = 0;
  let capped = false;
  let deepest = 0;
  const image = new Int32Array(n).fill(-1); // query atom -> target atom
  const used = new Uint8Array(n); // target atoms taken

  const edgesOk = (i: number, a: number, b: number): boolean => {
    // Every placed query neighbour must be a target neighbour through a matching bond, and the
    // target atom may not have more placed neighbours than the query atom.
    for (const w of back[i]!) {
      const tb = t.bondBetween[b * n + image[w]!]!;
      if (tb === 0) return false;
      if (!bondMatches(rules.bond[q.bondBetween[a * n + w]! - 1]!, t.bond[tb - 1]!)) return false;
    }
    let targetPlaced = 0;
    for (const u of t.g.nbr[b]!) if (used[u]) targetPlaced++;
    return targetPlaced === back[i]!.length;
  };

  const record = (): void => {
    if (count === cap) {
      cap *= 2;
      const bigger: Uint8Array | Uint16Array = wide ? new Uint16Array(cap * n) : new Uint8Array(cap * n);
      bigger.set(store);
      store = bigger;
    }
    for (let a = 0; a < n; a++) store[count * n + a] = image[a]!;
    count++;
  };

  // Depth-first; returns false to stop (enough mappings).
  const extend = (i: number): boolean => {
    if (i > deepest) deepest = i;
    if (i === n) {
      if (count >= limits.max) {
        capped = true;
        return false;
      }
      record();
      return limits.probe || count < limits.max;
    }
    const a = order[i]!;
    const anchor = back[i]!.length > 0 ? image[back[i]![0]!]! : -1;
    const candidates = anchor >= 0 ? t.g.nbr[anchor]! : null;
    const m = candidates ? candidates.length : n;
    for (let k = 0; k < m; k++) {
      const b = candidates ? candidates[k]! : k;
      if (used[b] || qColour[a] !== tColour[b] || !atomMatches(q, rules, a, t, b) || !edgesOk(i, a, b)) continue;
      image[a] = b;
      used[b] = 1;
      const go = extend(i + 1);
      used[b] = 0;
      image[a] = -1;
      if (!go) return false;
    }
    return true;
  };
  if (n > 0) extend(0);
  return { count, capped, map: store.slice(0, count * n), deepest, stuck: count > 0 || deepest >= n ? -1 : order[deepest]! };
}
