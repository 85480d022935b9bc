/**
 * Heavy-atom view of a parsed molfile: hydrogens dropped (wherever they sit in the atom
 * block), heavy atoms kept in file order, bonds between heavy atoms renumbered, and each heavy
 * atom's hydrogen count (explicit neighbours plus implicit ones) kept for aromaticity.
 */
import { InputError } from '../../errors.js';
import { elementBySymbol } from '../../io/elements.js';
import type { SdfMolecule } from '../../io/sdf.js';
import { implicitHydrogens, radicalElectrons } from './valence.js';

/** Bond labels used for matching: molfile codes 1-3 and 5-10, and this one for aromatic. */
export const AROMATIC = 4;

/** A molecule's heavy atoms, with one conformer's coordinates. */
export interface HeavyMolecule {
  title: string;
  /** Heavy atom count. */
  n: number;
  /** Element symbol per heavy atom as written (`Cl`), the identity that must agree across conformers. */
  symbols: string[];
  /** Atomic number per heavy atom (0 for pseudo-atoms such as `*` or `R#`). */
  z: Uint8Array;
  charges: Int8Array;
  isotopes: Int16Array;
  radicals: Int8Array;
  /** Hydrogens per heavy atom (explicit H neighbours + implicit). */
  hydrogens: Uint8Array;
  /** Heavy-heavy bonds: atoms (heavy indices) and molfile type code. */
  bondA: Int32Array;
  bondB: Int32Array;
  bondType: Uint8Array;
  /** x, y, z per heavy atom. */
  coords: Float64Array;
}

function isHydrogen(symbol: string): boolean {
  return symbol === 'H' || symbol === 'D' || symbol === 'T';
}

function atomicNumber(symbol: string): number {
  if (isHydrogen(symbol)) return 1;
  return elementBySymbol(symbol)?.z ?? 0;
}

/** Contribution of a bond to an atom's explicit valence (aromatic counts 1.5, dative and hydrogen bonds 0). */
function bondOrder(type: number): number {
  if (type === 1 || type === 2 || type === 3) return type;
  if (type === 4) return 1.5;
  if (type === 9 || type === 10) return 0;
  return 1;
}

/** Drops the hydrogens of a parsed record. */
export function toHeavy(mol: SdfMolecule): HeavyMolecule {
  const total = mol.symbols.length;
  const heavyIndex = new Int32Array(total).fill(-1);
  let n = 0;
  for (let a = 0; a < total; a++) if (!isHydrogen(mol.symbols[a]!)) heavyIndex[a] = n++;

  const symbols: string[] = new Array<string>(n);
  const z = new Uint8Array(n);
  const charges = new Int8Array(n);
  const isotopes = new Int16Array(n);
  const radicals = new Int8Array(n);
  const coords = new Float64Array(3 * n);
  for (let a = 0; a < total; a++) {
    const h = heavyIndex[a]!;
    if (h < 0) continue;
    symbols[h] = elementBySymbol(mol.symbols[a]!)?.symbol ?? mol.symbols[a]!;
    z[h] = atomicNumber(mol.symbols[a]!);
    charges[h] = mol.charges[a]!;
    isotopes[h] = mol.isotopes[a]!;
    radicals[h] = mol.radicals[a]!;
    coords[3 * h] = mol.coords[3 * a]!;
    coords[3 * h + 1] = mol.coords[3 * a + 1]!;
    coords[3 * h + 2] = mol.coords[3 * a + 2]!;
  }

  const valence = new Float64Array(n);
  const explicitH = new Uint8Array(n);
  const ba: number[] = [];
  const bb: number[] = [];
  const bt: number[] = [];
  for (let b = 0; b < mol.bondA.length; b++) {
    const ha = heavyIndex[mol.bondA[b]!]!;
    const hb = heavyIndex[mol.bondB[b]!]!;
    const order = bondOrder(mol.bondType[b]!);
    if (ha >= 0 && hb >= 0) {
      ba.push(ha);
      bb.push(hb);
      bt.push(mol.bondType[b]!);
      valence[ha] += order;
      valence[hb] += order;
    } else if (ha >= 0) {
      explicitH[ha]++;
      valence[ha] += order;
    } else if (hb >= 0) {
      explicitH[hb]++;
      valence[hb] += order;
    }
  }
  const hydrogens = new Uint8Array(n);
  for (let h = 0; h < n; h++) {
    const ev = Math.round(valence[h]!) + radicalElectrons(radicals[h]!);
    hydrogens[h] = explicitH[h]! + implicitHydrogens(z[h]!, charges[h]!, ev);
  }
  return {
    title: mol.title, n, symbols, z, charges, isotopes, radicals, hydrogens,
    bondA: Int32Array.from(ba), bondB: Int32Array.from(bb), bondType: Uint8Array.from(bt), coords,
  };
}

/** Where a conformer came from, for messages. */
export interface ConformerOrigin {
  file: string;
  record: number;
  line: number;
}

/** The heavy-atom formula, `C12NO2`: carbon first, then the other elements alphabetically. */
export function heavyFormula(mol: HeavyMolecule): string {
  const counts = new Map<string, number>();
  for (const s of mol.symbols) counts.set(s, (counts.get(s) ?? 0) + 1);
  const names = [...counts.keys()].sort((a, b) => (a === 'C' ? -1 : b === 'C' ? 1 : a < b ? -1 : a > b ? 1 : 0));
  return names.map((s) => `${s}${counts.get(s) === 1 ? '' : counts.get(s)}`).join('');
}

/**
 * Checks that a conformer has the topology record's heavy atoms (same count, same elements in
 * the same order); throws InputError naming both records otherwise. `reorder` is what to say
 * when the elements are all there in another order (how to have atoms matched otherwise; none
 * for reference records, which always follow the molecule's first one).
 */
export function checkSameAtoms(mol: HeavyMolecule, at: ConformerOrigin, topo: HeavyMolecule, topoAt: ConformerOrigin, reorder?: string): void {
  const here = `${at.file} record '${mol.title}' #${at.record} (line ${at.line})`;
  const there = `${topoAt.file} record #${topoAt.record}`;
  if (mol.n !== topo.n) {
    throw new InputError(`${here}: ${mol.n} heavy atoms, reference has ${topo.n} (${there})`);
  }
  for (let i = 0; i < mol.n; i++) {
    if (mol.symbols[i] !== topo.symbols[i]) {
      const [mine, theirs] = [heavyFormula(mol), heavyFormula(topo)];
      const why = mine !== theirs ? `heavy-atom formula ${mine}, reference has ${theirs}` : `atom order differs from the reference${reorder === undefined ? '' : `: ${reorder}`}`;
      throw new InputError(`${here}: heavy atom ${i + 1} is ${mol.symbols[i]}, reference has ${topo.symbols[i]} (${there}); ${why}`);
    }
  }
}
