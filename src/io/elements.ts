/**
 * Element table: symbol, atomic number, standard atomic weight and a default van der Waals
 * radius, plus the rules that guess an element from a PDB atom name.
 *
 * Masses are IUPAC standard atomic weights (conventional values where IUPAC gives an interval,
 * e.g. H 1.008, C 12.011, N 14.007, O 15.999, S 32.06). For H, C, N, O, S and P they are the
 * values MDAnalysis 2.4 uses, so mass-weighted figures agree with it; for some metals MDAnalysis
 * still carries older values (Fe 55.847, Zn 65.37, K 39.102), where this table follows IUPAC.
 *
 * Radii are Bondi's (J. Phys. Chem. 68, 441, 1964), completed for main-group elements missing
 * there by Mantina et al. (J. Phys. Chem. A 113, 5806, 2009). Transition metals without a
 * tabulated van der Waals radius have `radius: null`: a body with one needs `--radii`.
 */

/** One element. */
export interface ElementInfo {
  /** Conventional capitalisation: `C`, `Cl`, `Fe`. */
  readonly symbol: string;
  readonly z: number;
  /** Standard atomic weight (u). */
  readonly mass: number;
  /** Default van der Waals radius (Å), or null when there is no standard value. */
  readonly radius: number | null;
}

// symbol, Z, mass, radius
const TABLE: ReadonlyArray<readonly [string, number, number, number | null]> = [
  ['H', 1, 1.008, 1.2], ['He', 2, 4.0026, 1.4],
  ['Li', 3, 6.94, 1.82], ['Be', 4, 9.0122, 1.53], ['B', 5, 10.81, 1.92], ['C', 6, 12.011, 1.7],
  ['N', 7, 14.007, 1.55], ['O', 8, 15.999, 1.52], ['F', 9, 18.998, 1.47], ['Ne', 10, 20.18, 1.54],
  ['Na', 11, 22.99, 2.27], ['Mg', 12, 24.305, 1.73], ['Al', 13, 26.982, 1.84], ['Si', 14, 28.085, 2.1],
  ['P', 15, 30.974, 1.8], ['S', 16, 32.06, 1.8], ['Cl', 17, 35.45, 1.75], ['Ar', 18, 39.95, 1.88],
  ['K', 19, 39.098, 2.75], ['Ca', 20, 40.078, 2.31], ['Sc', 21, 44.956, null], ['Ti', 22, 47.867, null],
  ['V', 23, 50.942, null], ['Cr', 24, 51.996, null], ['Mn', 25, 54.938, null], ['Fe', 26, 55.845, null],
  ['Co', 27, 58.933, null], ['Ni', 28, 58.693, 1.63], ['Cu', 29, 63.546, 1.4], ['Zn', 30, 65.38, 1.39],
  ['Ga', 31, 69.723, 1.87], ['Ge', 32, 72.63, 2.11], ['As', 33, 74.922, 1.85], ['Se', 34, 78.971, 1.9],
  ['Br', 35, 79.904, 1.85], ['Kr', 36, 83.798, 2.02], ['Rb', 37, 85.468, 3.03], ['Sr', 38, 87.62, 2.49],
  ['Y', 39, 88.906, null], ['Zr', 40, 91.224, null], ['Nb', 41, 92.906, null], ['Mo', 42, 95.95, null],
  ['Ru', 44, 101.07, null], ['Rh', 45, 102.91, null], ['Pd', 46, 106.42, 1.63], ['Ag', 47, 107.87, 1.72],
  ['Cd', 48, 112.41, 1.58], ['In', 49, 114.82, 1.93], ['Sn', 50, 118.71, 2.17], ['Sb', 51, 121.76, 2.06],
  ['Te', 52, 127.6, 2.06], ['I', 53, 126.9, 1.98], ['Xe', 54, 131.29, 2.16], ['Cs', 55, 132.91, 3.43],
  ['Ba', 56, 137.33, 2.68], ['La', 57, 138.91, null], ['Gd', 64, 157.25, null], ['W', 74, 183.84, null],
  ['Os', 76, 190.23, null], ['Ir', 77, 192.22, null], ['Pt', 78, 195.08, 1.72], ['Au', 79, 196.97, 1.66],
  ['Hg', 80, 200.59, 1.55], ['Tl', 81, 204.38, 1.96], ['Pb', 82, 207.2, 2.02], ['Bi', 83, 208.98, 2.07],
  ['U', 92, 238.03, 1.86],
];

const BY_SYMBOL = new Map<string, ElementInfo>();
const BY_Z = new Map<number, ElementInfo>();
for (const [symbol, z, mass, radius] of TABLE) {
  const info: ElementInfo = Object.freeze({ symbol, z, mass, radius });
  BY_SYMBOL.set(symbol.toUpperCase(), info);
  BY_Z.set(z, info);
}

/** The element with this symbol, any capitalisation (`CL`, `cl`, `Cl`); undefined if unknown. */
export function elementBySymbol(symbol: string): ElementInfo | undefined {
  return BY_SYMBOL.get(symbol.trim().toUpperCase());
}

/** The element with this atomic number; undefined if not in the table. */
export function elementByNumber(z: number): ElementInfo | undefined {
  return BY_Z.get(z);
}

/**
 * An element token as XYZ files write it: a symbol (any case) or an atomic number.
 * Returns the canonical symbol, or undefined when it names no element.
 */
export function elementFromToken(token: string): string | undefined {
  if (/^\d+$/.test(token)) return elementByNumber(Number(token))?.symbol;
  return elementBySymbol(token)?.symbol;
}

// Residues whose atoms are only ever one-letter elements (H, C, N, O, S, P): proteins,
// nucleic acids, water. In them `CA` is an alpha carbon and `HG1` a hydrogen, whatever
// column the name starts in (some writers left-justify every name).
const STANDARD_RESIDUES = new Set([
  'ALA', 'ARG', 'ASN', 'ASP', 'ASH', 'CYS', 'CYX', 'CYM', 'GLN', 'GLU', 'GLH', 'GLY', 'HIS', 'HID', 'HIE',
  'HIP', 'HSD', 'HSE', 'HSP', 'ILE', 'LEU', 'LYS', 'LYN', 'MET', 'PHE', 'PRO', 'SER', 'THR', 'TRP', 'TYR',
  'VAL', 'ACE', 'NME', 'NMA', 'A', 'C', 'G', 'U', 'T', 'DA', 'DC', 'DG', 'DT', 'RA', 'RC', 'RG', 'RU',
  'HOH', 'WAT', 'SOL', 'TIP3', 'TIP', 'TP3',
]);

/**
 * Guesses the element of a PDB atom from its name (columns 13-16, untrimmed) and residue name.
 *
 * The PDB convention right-justifies the element symbol in columns 13-14: ` CA ` is carbon,
 * `CA  ` calcium, `FE  ` iron, `1HG1` hydrogen. So: a name whose column 13 is blank or a digit
 * is the one-letter element in column 14; a name starting with two letters is that
 * two-letter element when it exists, except that a leading `H` is hydrogen (`HG11`, `HD21`)
 * unless the residue is named after the element (`HG` in residue `HG`). Atoms of standard
 * residues (protein, nucleic acid, water) are always one-letter elements.
 */
export function guessElementFromAtomName(name: string, resName = ''): string | undefined {
  const raw = name.length >= 4 ? name.slice(0, 4).toUpperCase() : name.trim().toUpperCase().padEnd(4, ' ');
  const letters = raw.replace(/[^A-Z]/g, '');
  if (letters === '') return undefined;
  const res = resName.trim().toUpperCase();
  const one = elementBySymbol(letters[0]!)?.symbol;
  if (STANDARD_RESIDUES.has(res)) return one;
  if (/^[A-Z][A-Z]/.test(raw)) {
    const two = raw.slice(0, 2);
    if (res === two || res === letters) return elementBySymbol(two)?.symbol ?? one;
    if (raw[0] === 'H') return one;
    return elementBySymbol(two)?.symbol ?? one;
  }
  return one;
}
