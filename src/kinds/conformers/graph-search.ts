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

/** A molecule ready for matching: its graph, bond labels with aromaticity perceived, atom colours. */
export interface MatchGraph {
  mol: HeavyMolecule;
  g: Graph;
  /** Bond labels (molfile codes, AROMATIC for perceived aromatic bonds). */
  bond: Uint8Array;
  /** Colour refinement classes (see {@link refineColours}): equal for atoms a mapping may pair. */
  colour: Int32Array;
  /** Refinement rounds the colours took. */
  rounds: number;
}

/** A molecule as the target of searches: also its bond table and colour classes. */
export interface MatchTarget extends MatchGraph {
  /** `bondBetween[a * n + b]` = bond index + 1, or 0. */
  bondBetween: Int32Array;
  /** The atom of each colour when every colour is one atom's (then a match is read off, not searched), else null. */
  atomOfColour: Map<number, number> | null;
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

/** murmur3's 32-bit finalizer: spreads the bits of a colour. */
function mix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) | 0;
}

function symbolCode(symbol: string): number {
  let h = 0;
  for (let i = 0; i < symbol.length; i++) h = Math.imul(h, 31) + symbol.charCodeAt(i);
  return h;
}

/**
 * Colour refinement (1-dimensional Weisfeiler-Lehman) on element and degree, with colours as
 * hashes: an atom's next colour mixes its colour with the sum of its neighbours' (a multiset,
 * so no sorting). The colours depend only on the labelled graph, not on the numbering, so two
 * molecules refined alike can be compared without refining them together: atoms a mapping
 * pairs always have equal colours (a collision can only make the test weaker, never wrong).
 * With `rounds` undefined, refines until the number of classes stops growing.
 */
export function refineColours(mol: HeavyMolecule, g: Graph, rounds?: number): { colour: Int32Array; rounds: number } {
  const n = mol.n;
  let colour = new Int32Array(n);
  for (let a = 0; a < n; a++) colour[a] = mix(symbolCode(mol.symbols[a]!) * 8 + g.nbr[a]!.length);
  let classes = rounds === undefined ? new Set(colour).size : 0;
  let done = 0;
  for (const limit = rounds ?? n; done < limit; ) {
    const next = new Int32Array(n);
    for (let a = 0; a < n; a++) {
      let around = 0;
      for (const b of g.nbr[a]!) around = (around + mix(colour[b]! + 0x9e3779b9)) | 0;
      next[a] = mix(Math.imul(colour[a]!, 0x01000193) ^ around);
    }
    colour = next;
    done++;
    if (rounds === undefined) {
      const now = new Set(colour).size;
      if (now === classes) break;
      classes = now;
    }
  }
  return { colour, rounds: done };
}

/** A query molecule (a generated record): colours refined as many rounds as the target's took. */
export function matchGraph(mol: HeavyMolecule, rounds?: number): MatchGraph {
  const g = buildGraph(mol.n, mol.bondA, mol.bondB);
  const bond = perceiveAromaticBonds(mol, g, findRings(g));
  return { mol, g, bond, ...refineColours(mol, g, rounds) };
}

/** A target molecule (the reference's topology), prepared once per molecule. */
export function matchTarget(mol: HeavyMolecule): MatchTarget {
  const graph = matchGraph(mol);
  const n = mol.n;
  const bondBetween = new Int32Array(n * n);
  for (let b = 0; b < mol.bondA.length; b++) {
    bondBetween[mol.bondA[b]! * n + mol.bondB[b]!] = b + 1;
    bondBetween[mol.bondB[b]! * n + mol.bondA[b]!] = b + 1;
  }
  let atomOfColour: Map<number, number> | null = new Map();
  for (let a = 0; a < n && atomOfColour; a++) {
    if (atomOfColour.has(graph.colour[a]!)) atomOfColour = null;
    else atomOfColour.set(graph.colour[a]!, a);
  }
  return { ...graph, bondBetween, atomOfColour };
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
 * The one candidate mapping when every target colour is one atom's: each query atom to the
 * target atom of its colour, checked atom by atom and bond by bond. Null when it does not
 * hold; the caller then searches, which finds nothing unless two colours collided.
 */
function readOff(q: MatchGraph, rules: QueryRules, t: MatchTarget): Int32Array | null {
  const n = q.mol.n;
  const image = new Int32Array(n);
  const used = new Uint8Array(n);
  for (let a = 0; a < n; a++) {
    const b = t.atomOfColour!.get(q.colour[a]!);
    if (b === undefined || used[b] || !atomMatches(q, rules, a, t, b)) return null;
    image[a] = b;
    used[b] = 1;
  }
  const bonds = q.mol.bondA;
  for (let k = 0; k < bonds.length; k++) {
    const tb = t.bondBetween[image[q.mol.bondA[k]!]! * n + image[q.mol.bondB[k]!]!]!;
    if (tb === 0 || !bondMatches(rules.bond[k]!, t.bond[tb - 1]!)) return null;
  }
  return image;
}

/** Query atoms in search order: breadth first from the most constrained atom of each component. */
function searchOrder(q: MatchGraph): Int32Array {
  const n = q.mol.n;
  const colour = q.colour;
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

/**
 * The mappings of `q` (under `rules`) onto `t`, at most `limits.max` of them. `q` must have been
 * refined for `t.rounds` rounds (or be `t` itself).
 */
export function findMappings(q: MatchGraph, rules: QueryRules, t: MatchTarget, limits: SearchLimits): SearchResult {
  const n = q.mol.n;
  const wide = n >= 256;
  if (limits.max === 1 && !limits.probe && t.atomOfColour !== null && n > 0) {
    const image = readOff(q, rules, t);
    if (image !== null) {
      const map = wide ? new Uint16Array(n) : new Uint8Array(n);
      map.set(image);
      return { count: 1, capped: false, map, deepest: n, stuck: -1 };
    }
  }
  const order = searchOrder(q);
  // For each position in the order, the earlier query atoms bonded to it and through which bond.
  const back: number[][] = [];
  const backBond: number[][] = [];
  const pos = new Int32Array(n);
  for (let i = 0; i < n; i++) pos[order[i]!] = i;
  for (let i = 0; i < n; i++) {
    const a = order[i]!;
    const [ws, bs]: [number[], number[]] = [[], []];
    q.g.nbr[a]!.forEach((w, k) => {
      if (pos[w]! < i) {
        ws.push(w);
        bs.push(q.g.nbrBond[a]![k]!);
      }
    });
    back.push(ws);
    backBond.push(bs);
  }

  let cap = 64;
  let store: Uint8Array | Uint16Array = wide ? new Uint16Array(cap * n) : new Uint8Array(cap * n);
  let count = 0;
  let capped = false;
  let deepest = 0;
  const image = new Int32Array(n).fill(-1); // query atom -> target atom
  const used = new Uint8Array(n); // target atoms taken
  const qColour = q.colour;
  const tColour = t.colour;

  const edgesOk = (i: number, b: number): boolean => {
    // Every placed query neighbour must be a target neighbour through a matching bond, and the
    // target atom may not have more placed neighbours than the query atom.
    const ws = back[i]!;
    for (let k = 0; k < ws.length; k++) {
      const tb = t.bondBetween[b * n + image[ws[k]!]!]!;
      if (tb === 0 || !bondMatches(rules.bond[backBond[i]![k]!]!, t.bond[tb - 1]!)) return false;
    }
    let targetPlaced = 0;
    for (const u of t.g.nbr[b]!) if (used[u]) targetPlaced++;
    return targetPlaced === ws.length;
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
      if (used[b] || qColour[a] !== tColour[b] || !atomMatches(q, rules, a, t, b) || !edgesOk(i, b)) continue;
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
