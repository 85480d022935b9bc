/**
 * Matching a generated conformer's atoms to the reference's by the molecular graph, for
 * generators that write atoms in their own order.
 *
 * GetBestRMS takes the minimum over every mapping of the probe (generated) atoms onto the
 * reference's. When some mapping ψ keeps every label (element, charge, isotope, radical, bond
 * type), the mappings are exactly the reference's own ones after ψ: so the conformer's atoms
 * are put in the reference's order by ψ and share the reference's mappings. Only when no such
 * ψ exists but RDKit's looser rules find mappings (a carboxylic acid generated for a
 * carboxylate: a neutral atom matches a charged one) are the mappings searched for that order.
 * Either way the work is done once per distinct atom order, not per conformer.
 */
import { AROMATIC, heavyFormula, type HeavyMolecule } from './heavy.js';
import { atomMatches, bondMatches, findMappings, matchGraph, plainRules, type MatchGraph, type MatchTarget, type QueryRules } from './graph-search.js';
import { asMappings, queryRules, type Mappings, type SymmetryMode } from './symmetry.js';

const symbolIds = new Map<string, number>();

/**
 * A record's atom order and labels as numbers: element, charge, isotope, radical and hydrogen
 * count per atom, then its bonds (both atoms and type, one exact number each) sorted. Records
 * with equal keys are the same graph with the same numbering, so one match serves them all.
 */
export function orderKey(mol: HeavyMolecule): Float64Array {
  const n = mol.n;
  const nb = mol.bondA.length;
  const key = new Float64Array(2 + 5 * n + nb);
  key[0] = n;
  key[1] = nb;
  for (let a = 0; a < n; a++) {
    // An element is its atomic number; a pseudo-atom (`*`, `R#`) its symbol, numbered past them.
    let id = mol.z[a]!;
    if (id === 0) {
      const s = mol.symbols[a]!;
      id = symbolIds.get(s) ?? symbolIds.set(s, 256 + symbolIds.size).get(s)!;
    }
    key[2 + a] = id;
    key[2 + n + a] = mol.charges[a]!;
    key[2 + 2 * n + a] = mol.isotopes[a]!;
    key[2 + 3 * n + a] = mol.radicals[a]!;
    key[2 + 4 * n + a] = mol.hydrogens[a]!;
  }
  const bonds = key.subarray(2 + 5 * n);
  for (let b = 0; b < nb; b++) {
    const x = mol.bondA[b]!;
    const y = mol.bondB[b]!;
    bonds[b] = (x < y ? x * n + y : y * n + x) * 16 + mol.bondType[b]!;
  }
  bonds.sort();
  return key;
}

/** A hash of an order key, for finding equal keys. */
export function hashKey(key: Float64Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ (key[i]! | 0) ^ ((key[i]! / 4294967296) | 0), 0x01000193);
  return h;
}

export function sameKey(a: Float64Array, b: Float64Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** How one atom order maps onto the reference. */
export type OrderMatch =
  | {
      ok: true;
      /** `toRef[q]`: the reference atom generated atom q takes the place of (null: the same order). */
      toRef: Int32Array | null;
      /** The order's own mappings in the reference's numbering (null: the reference's own apply). */
      maps: Mappings | null;
    }
  | { ok: false; why: string };

/**
 * Matches a generated record's graph to the reference's (`topo`, prepared with matchTarget);
 * `mode` is not 'none'. Says what differs when no mapping exists.
 */
export function matchOrder(gen: HeavyMolecule, topo: MatchTarget, mode: SymmetryMode, maxMatches: number): OrderMatch {
  const differs = countsDiffer(gen, topo.mol);
  if (differs !== null) return { ok: false, why: differs };
  const q = matchGraph(gen, topo.rounds);
  const exact = findMappings(q, plainRules(q, true), topo, { max: 1, probe: false });
  if (exact.count > 0) return { ok: true, toRef: Int32Array.from(exact.map), maps: null };
  const rules = queryRules(q, mode);
  const found = findMappings(q, rules, topo, { max: maxMatches, probe: true });
  if (found.count === 0) return { ok: false, why: whyNoMapping(q, rules, topo, found.deepest, found.stuck) };
  const n = gen.n;
  const toRef = Int32Array.from(found.map.subarray(0, n));
  // Generated atom q now sits at toRef[q]: in the new numbering, mapping m pairs atom r with
  // the reference atom mapping m gave to the generated atom that moved to r.
  const fromRef = new Int32Array(n);
  for (let a = 0; a < n; a++) fromRef[toRef[a]!] = a;
  const map = found.map.slice();
  for (let m = 0; m < found.count; m++) {
    for (let r = 0; r < n; r++) map[m * n + r] = found.map[m * n + fromRef[r]!]!;
  }
  return { ok: true, toRef, maps: asMappings(n, found.count, found.capped, map) };
}

/** What differs in atom or bond count, or null when they agree. */
function countsDiffer(gen: HeavyMolecule, ref: HeavyMolecule): string | null {
  if (gen.n !== ref.n) return `${gen.n} heavy atoms (${heavyFormula(gen)}), reference has ${ref.n} (${heavyFormula(ref)})`;
  if (gen.bondA.length !== ref.bondA.length) return `${gen.bondA.length} bonds between heavy atoms, reference has ${ref.bondA.length}`;
  return null;
}

const BOND_SYMBOL: Record<number, string> = { 1: '-', 2: '=', 3: '#', [AROMATIC]: ':' };

/** An atom and its bonds for a message: `C(=O)(-C)(:C)`. */
function describeAtom(q: MatchGraph, a: number): string {
  const parts = q.g.nbr[a]!.map((b, k) => `(${BOND_SYMBOL[q.bond[q.g.nbrBond[a]![k]!]!] ?? '~'}${q.mol.symbols[b]})`);
  const charge = q.mol.charges[a]!;
  const sign = charge === 0 ? '' : charge > 0 ? `+${charge === 1 ? '' : charge}` : `-${charge === -1 ? '' : -charge}`;
  return `${q.mol.symbols[a]}${sign === '' ? '' : `[${sign}]`}${parts.sort().join('')}`;
}

/**
 * Whether query atom a could be target atom b as far as their own neighbourhoods tell: the
 * atoms match, and their bonds pair up, each with a matching bond to a matching atom.
 */
function locallyMatches(q: MatchGraph, rules: QueryRules, a: number, t: MatchGraph, b: number): boolean {
  if (!atomMatches(q, rules, a, t, b)) return false;
  const qn = q.g.nbr[a]!;
  const tn = t.g.nbr[b]!;
  if (qn.length !== tn.length) return false;
  const taken = new Uint8Array(tn.length);
  const pair = (k: number): boolean => {
    if (k === qn.length) return true;
    const qb = rules.bond[q.g.nbrBond[a]![k]!]!;
    for (let j = 0; j < tn.length; j++) {
      if (taken[j] || !bondMatches(qb, t.bond[t.g.nbrBond[b]![j]!]!) || !atomMatches(q, rules, qn[k]!, t, tn[j]!)) continue;
      taken[j] = 1;
      if (pair(k + 1)) return true;
      taken[j] = 0;
    }
    return false;
  };
  return pair(0);
}

/**
 * Why no mapping exists: other elements; else the first generated atom (in file order) that has
 * no reference atom with the same element and bonds; when every atom has one, the atom the
 * search got stuck at.
 */
function whyNoMapping(q: MatchGraph, rules: QueryRules, t: MatchGraph, deepest: number, stuck: number): string {
  const [mine, theirs] = [heavyFormula(q.mol), heavyFormula(t.mol)];
  if (mine !== theirs) return `heavy-atom formula ${mine}, reference has ${theirs}`;
  for (let a = 0; a < q.mol.n; a++) {
    let some = false;
    for (let b = 0; b < t.mol.n && !some; b++) some = locallyMatches(q, rules, a, t, b);
    if (!some) return `heavy atom ${a + 1}, ${describeAtom(q, a)}, has no counterpart in the reference: the atoms and the number of bonds agree, the bonds do not (a bond changed, or a tautomer)`;
  }
  return `its heavy atoms are joined differently: at most ${deepest} of ${q.mol.n} map onto the reference, heavy atom ${stuck + 1}, ${describeAtom(q, stuck)}, the first that does not`;
}
