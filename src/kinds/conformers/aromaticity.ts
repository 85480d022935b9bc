/**
 * Aromaticity perception on the heavy-atom graph, after RDKit's default model, so that a
 * para-substituted ring written as one Kekulé structure still has its flip symmetry.
 *
 * The model (RDKit Book, "The RDKit Aromaticity Model"): a ring, or a fused system of up to six
 * rings sharing bonds, is aromatic when its atoms can contribute 4N+2 π electrons. Each ring
 * atom is a donor of 0, 1 or 2 electrons depending on its valence state: an atom in a ring
 * double bond gives 1, a pyrrole-like N, furan-like O or thiophene-like S gives 2, and an
 * exocyclic double bond to a more electronegative atom (C=O) takes the electron away (0).
 * Bonds of an aromatic ring become aromatic, except bonds shared by two rings of a fused
 * system that is only aromatic as a whole.
 */
import { AROMATIC, type HeavyMolecule } from './heavy.js';
import type { Graph, Ring } from './rings.js';
import { defaultValence, moreElectronegative, outerElectrons, radicalElectrons } from './valence.js';

/** π electrons an atom can give: none, exactly 0 (empty p orbital), 1, 2, 1 or 2, or anything (dummy). */
type Donor = 'none' | 'vacant' | 'one' | 'two' | 'oneOrTwo' | 'any';

/** Rings bigger than this do not take part in fused systems (RDKit: a bit more than porphyrin's outer ring). */
const MAX_FUSED_RING_SIZE = 24;
/** Largest number of rings combined when testing a fused system. */
const MAX_FUSED_RINGS = 6;

function bondValence(type: number): number {
  if (type === 1 || type === 2 || type === 3) return type;
  if (type === AROMATIC) return 1.5;
  if (type === 9 || type === 10) return 0;
  return 1;
}

interface AtomFacts {
  /** Sum of bond orders to heavy atoms (explicit valence without hydrogens). */
  heavyValence: Float64Array;
  degree: Uint8Array;
}

function atomFacts(mol: HeavyMolecule, g: Graph): AtomFacts {
  const heavyValence = new Float64Array(mol.n);
  const degree = new Uint8Array(mol.n);
  for (let b = 0; b < mol.bondType.length; b++) {
    const v = bondValence(mol.bondType[b]!);
    heavyValence[mol.bondA[b]!] += v;
    heavyValence[mol.bondB[b]!] += v;
  }
  for (let a = 0; a < mol.n; a++) degree[a] = g.nbr[a]!.length;
  return { heavyValence, degree };
}

/** Electrons an atom can donate to a π system, or -1 when it cannot be conjugated. */
function countElectrons(mol: HeavyMolecule, facts: AtomFacts, a: number): number {
  const z = mol.z[a]!;
  const dv = defaultValence(z);
  if (dv <= 1) return -1;
  const degree = facts.degree[a]! + mol.hydrogens[a]!;
  if (degree > 3) return -1;
  const lonePairElectrons = Math.max(outerElectrons(z) - dv - mol.charges[a]!, 0);
  let res = dv - degree + lonePairElectrons - radicalElectrons(mol.radicals[a]!);
  if (res > 1 && Math.round(facts.heavyValence[a]!) - facts.degree[a]! > 1) res = 1; // triple bond
  return res;
}

function donorType(mol: HeavyMolecule, g: Graph, facts: AtomFacts, inRing: Uint8Array, a: number): Donor {
  if (mol.z[a] === 0) return 'any';
  let nelec = countElectrons(mol, facts, a);
  // An exocyclic multiple bond and the atom at its other end.
  let exoPartner = -1;
  let cyclicMultiple = false;
  for (let k = 0; k < g.nbr[a]!.length; k++) {
    const b = g.nbrBond[a]![k]!;
    const t = mol.bondType[b]!;
    if (t !== 2 && t !== 3) continue;
    if (inRing[b]) cyclicMultiple = true;
    else if (exoPartner < 0) exoPartner = g.nbr[a]![k]!;
  }
  const stolen = exoPartner >= 0 && moreElectronegative(mol.z[exoPartner]!, mol.z[a]!);
  if (nelec < 0) return 'none';
  if (nelec === 0) {
    if (exoPartner >= 0) return 'vacant';
    return cyclicMultiple ? 'one' : 'none';
  }
  if (nelec === 1) {
    if (exoPartner >= 0) return stolen ? 'vacant' : 'one';
    if (Math.round(facts.heavyValence[a]!) !== facts.degree[a]!) return 'one';
    return mol.charges[a] === 1 ? 'vacant' : 'none';
  }
  if (stolen) nelec--;
  return nelec % 2 === 1 ? 'one' : 'two';
}

function isCandidate(mol: HeavyMolecule, facts: AtomFacts, a: number, donor: Donor): boolean {
  const z = mol.z[a]!;
  if (z > 18 && z !== 34 && z !== 52) return false;
  if (donor === 'none') return false;
  const dv = defaultValence(z);
  const totalValence = Math.round(facts.heavyValence[a]!) + mol.hydrogens[a]!;
  if (dv > 0 && totalValence > defaultValence(z - mol.charges[a]!)) return false;
  if (mol.radicals[a] !== 0 && z !== 6) return false;
  return true;
}

function multipleBondCount(mol: HeavyMolecule, g: Graph, a: number): number {
  let n = 0;
  for (const b of g.nbrBond[a]!) if (mol.bondType[b] === 2 || mol.bondType[b] === 3) n++;
  return n;
}

function electronRange(d: Donor): [number, number] {
  switch (d) {
    case 'any': return [0, 2];
    case 'oneOrTwo': return [1, 2];
    case 'one': return [1, 1];
    case 'two': return [2, 2];
    default: return [0, 0];
  }
}

/** Hückel's rule on a set of atoms: some electron count in range equals 4N+2 (or exactly two electrons in total). */
function huckel(atoms: Iterable<number>, donors: Donor[]): boolean {
  let lo = 0;
  let hi = 0;
  for (const a of atoms) {
    const [l, h] = electronRange(donors[a]!);
    lo += l;
    hi += h;
  }
  if (hi >= 6) {
    for (let e = lo; e <= hi; e++) if ((e - 2) % 4 === 0) return true;
    return false;
  }
  return hi === 2;
}

/** Lexicographic k-combinations of 0..n-1. */
function* combinations(n: number, k: number): Generator<number[]> {
  const c = Array.from({ length: k }, (_, i) => i);
  for (;;) {
    yield c.slice();
    let i = k - 1;
    while (i >= 0 && c[i] === n - k + i) i--;
    if (i < 0) return;
    c[i]!++;
    for (let j = i + 1; j < k; j++) c[j] = c[j - 1]! + 1;
  }
}

/** Whether the chosen rings form one connected fused system (rings sharing bonds). */
function connected(chosen: number[], neighbours: number[][]): boolean {
  const inSet = new Set(chosen);
  const seen = new Set([chosen[0]!]);
  const stack = [chosen[0]!];
  while (stack.length > 0) {
    const r = stack.pop()!;
    for (const s of neighbours[r]!) {
      if (inSet.has(s) && !seen.has(s)) {
        seen.add(s);
        stack.push(s);
      }
    }
  }
  return seen.size === chosen.length;
}

/**
 * Returns the molecule's bond labels for matching: molfile type codes, with the bonds of
 * aromatic rings relabelled {@link AROMATIC}. Bonds already written as aromatic (type 4) stay so.
 */
export function perceiveAromaticBonds(mol: HeavyMolecule, g: Graph, rings: Ring[]): Uint8Array {
  const labels = Uint8Array.from(mol.bondType);
  if (rings.length === 0) return labels;
  const facts = atomFacts(mol, g);
  const inRing = new Uint8Array(mol.bondType.length);
  for (const r of rings) for (const b of r.bonds) inRing[b] = 1;

  const donors: Donor[] = new Array<Donor>(mol.n).fill('none');
  const candidate = new Uint8Array(mol.n);
  const seen = new Uint8Array(mol.n);
  const candRings: Ring[] = [];
  for (const ring of rings) {
    let all = true;
    let allDummy = true;
    for (const a of ring.atoms) {
      if (mol.z[a] !== 0) allDummy = false;
      if (!seen[a]) {
        seen[a] = 1;
        donors[a] = donorType(mol, g, facts, inRing, a);
        candidate[a] = isCandidate(mol, facts, a, donors[a]!) && multipleBondCount(mol, g, a) <= 1 ? 1 : 0;
      }
      if (!candidate[a]) all = false;
    }
    if (all && !allDummy) candRings.push(ring);
  }
  if (candRings.length === 0) return labels;

  // Rings are neighbours when they share a bond (spiro rings, sharing one atom, are not fused).
  const neighbours: number[][] = candRings.map(() => []);
  const bondSets = candRings.map((r) => new Set(r.bonds));
  for (let i = 0; i < candRings.length; i++) {
    if (candRings[i]!.atoms.length > MAX_FUSED_RING_SIZE) continue;
    for (let j = i + 1; j < candRings.length; j++) {
      if (candRings[j]!.atoms.length > MAX_FUSED_RING_SIZE) continue;
      if (candRings[j]!.bonds.some((b) => bondSets[i]!.has(b))) {
        neighbours[i]!.push(j);
        neighbours[j]!.push(i);
      }
    }
  }
  const allCandAtoms = new Set<number>();
  for (const r of candRings) for (const a of r.atoms) allCandAtoms.add(a);

  const systemDone = new Uint8Array(candRings.length);
  for (let start = 0; start < candRings.length; start++) {
    if (systemDone[start]) continue;
    // Collect the fused system by depth-first search, in RDKit's order.
    const system: number[] = [];
    const visit = (r: number): void => {
      systemDone[r] = 1;
      system.push(r);
      for (const s of neighbours[r]!) if (!systemDone[s]) visit(s);
    };
    visit(start);

    const aromaticAtoms = new Set<number>();
    const limit = Math.min(system.length, MAX_FUSED_RINGS);
    for (let size = 1; size <= limit; size++) {
      // RDKit stops once every candidate ring atom of the molecule is aromatic.
      if (aromaticAtoms.size === allCandAtoms.size) break;
      for (const combo of combinations(system.length, size)) {
        const chosen = combo.map((i) => system[i]!);
        if (size > 1 && !connected(chosen, neighbours)) continue;
        const atoms = new Set<number>();
        for (const r of chosen) for (const a of candRings[r]!.atoms) atoms.add(a);
        if (!huckel(atoms, donors)) continue;
        for (const a of atoms) aromaticAtoms.add(a);
        // Only bonds that occur once among the chosen rings become aromatic.
        const uses = new Map<number, number>();
        for (const r of chosen) for (const b of candRings[r]!.bonds) uses.set(b, (uses.get(b) ?? 0) + 1);
        for (const [b, count] of uses) {
          if (count === 1 && (labels[b] === 1 || labels[b] === 2)) labels[b] = AROMATIC;
        }
      }
    }
  }
  return labels;
}
