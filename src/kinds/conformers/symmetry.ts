/**
 * Atom mappings for symmetry-corrected RMSD, with RDKit's `rdMolAlign.GetBestRMS` semantics on
 * the heavy-atom graph.
 *
 * RDKit finds every substructure match of the probe molecule (the query: the generated
 * conformer) onto the reference (the target) with `uniquify=false`, up to `maxMatches`, with
 * the matching rules of graph-search.ts. When the probe lists its atoms as the reference does,
 * the matches are the reference's automorphisms (`selfMappings`); in any other order, the same
 * set composed with one isomorphism (graph-match.ts).
 *
 * By default (`symmetrizeConjugatedTerminalGroups=true`) the query is first relaxed: every
 * terminal O or N that is singly bonded to an atom doubly bonded to another terminal O or N
 * (or the reverse) — the oxygens of a carboxylic acid, carboxylate, nitro, sulfonate, the
 * terminal nitrogens of an amidine or guanidine — loses its charge, and its bond may match a
 * single or a double bond. Then both oxygens of `C(=O)O` map onto each other. `strict` skips
 * this relaxation: automorphisms of the graph as written.
 */
import type { HeavyMolecule } from './heavy.js';
import { findMappings, matchTarget, SINGLE_OR_DOUBLE, type MatchGraph, type MatchTarget, type QueryRules } from './graph-search.js';

/** `none`: atoms matched by index; `default`: RDKit's GetBestRMS default; `strict`: automorphisms only. */
export type SymmetryMode = 'none' | 'default' | 'strict';

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

function isTerminalON(q: MatchGraph, a: number): boolean {
  return (q.mol.z[a] === 8 || q.mol.z[a] === 7) && q.g.nbr[a]!.length === 1;
}

/**
 * The query's rules under `mode`. For `default`, RDKit's terminal-group relaxation on heavy
 * atoms: the SMARTS `[O,N;D1;$([O,N;D1]-[*]=[O,N;D1]),$([O,N;D1]=[*]-[O,N;D1])]~[*]` with `-`
 * and `=` meaning non-aromatic single and double bonds.
 */
export function queryRules(q: MatchGraph, mode: SymmetryMode): QueryRules {
  const bond = q.bond.slice();
  const charge = q.mol.charges.slice();
  if (mode === 'default') {
    for (let a = 0; a < q.mol.n; a++) {
      if (!isTerminalON(q, a)) continue;
      const c = q.g.nbr[a]![0]!;
      const ac = q.g.nbrBond[a]![0]!;
      const type = q.bond[ac]!;
      if (type !== 1 && type !== 2) continue;
      const want = type === 1 ? 2 : 1;
      let partner = false;
      for (let k = 0; k < q.g.nbr[c]!.length; k++) {
        const b = q.g.nbr[c]![k]!;
        if (b !== a && q.bond[q.g.nbrBond[c]![k]!] === want && isTerminalON(q, b)) partner = true;
      }
      if (!partner) continue;
      charge[a] = 0;
      bond[ac] = SINGLE_OR_DOUBLE;
    }
  }
  return { bond, charge, exact: false };
}

/** Mappings from a search's rows: which atoms any of them moves. */
export function asMappings(n: number, count: number, capped: boolean, map: Uint8Array | Uint16Array): Mappings {
  const moves = new Uint8Array(n);
  for (let m = 0; m < count; m++) for (let q = 0; q < n; q++) if (map[m * n + q] !== q) moves[q] = 1;
  const moving: number[] = [];
  for (let q = 0; q < n; q++) if (moves[q]) moving.push(q);
  return { n, count, capped, map, moving: Int32Array.from(moving) };
}

/**
 * All mappings of the molecule onto itself under `mode`, at most `maxMatches` of them (RDKit's
 * `maxMatches`, default 1e6 in GetBestRMS). `mode` 'none' gives the identity.
 */
export function selfMappings(mol: HeavyMolecule, mode: SymmetryMode, maxMatches: number, graph?: MatchTarget): Mappings {
  if (mode === 'none' || mol.n === 0) return identityMappings(mol.n);
  const q = graph ?? matchTarget(mol);
  const found = findMappings(q, queryRules(q, mode), q, { max: maxMatches, probe: true });
  return asMappings(mol.n, found.count, found.capped, found.map);
}
