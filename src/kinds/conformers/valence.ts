/**
 * The little valence chemistry the symmetry code needs: allowed valences and outer-shell
 * electron counts of main-group elements, implicit hydrogen counts for molfiles written without
 * hydrogens, and an electronegativity order. The conventions follow RDKit's valence model so
 * that aromaticity (and therefore which atom mappings count as symmetries) agrees with it.
 */

/** Allowed valences, lowest first (the first is the default valence). */
const VALENCES: Record<number, readonly number[]> = {
  1: [1], 2: [0], 3: [1], 4: [2], 5: [3], 6: [4], 7: [3], 8: [2], 9: [1], 10: [0],
  11: [1], 12: [2], 13: [3, 6], 14: [4, 6], 15: [3, 5, 7], 16: [2, 4, 6], 17: [1], 18: [0],
  19: [1], 20: [2], 31: [3], 32: [4], 33: [3, 5, 7], 34: [2, 4, 6], 35: [1], 36: [0],
  37: [1], 38: [2], 49: [3], 50: [2, 4], 51: [3, 5, 7], 52: [2, 4, 6], 53: [1, 3, 5], 54: [0, 2, 4, 6],
};

/** Outer-shell (valence) electrons of main-group elements. */
const OUTER: Record<number, number> = {
  1: 1, 2: 2, 3: 1, 4: 2, 5: 3, 6: 4, 7: 5, 8: 6, 9: 7, 10: 8,
  11: 1, 12: 2, 13: 3, 14: 4, 15: 5, 16: 6, 17: 7, 18: 8,
  19: 1, 20: 2, 31: 3, 32: 4, 33: 5, 34: 6, 35: 7, 36: 8,
  37: 1, 38: 2, 49: 3, 50: 4, 51: 5, 52: 6, 53: 7, 54: 8,
};

/** The default valence of element `z`, or -1 when it has none (metals, unknown elements). */
export function defaultValence(z: number): number {
  return VALENCES[z]?.[0] ?? -1;
}

/** Outer-shell electrons of element `z` (0 when unknown). */
export function outerElectrons(z: number): number {
  return OUTER[z] ?? 0;
}

/**
 * Whether element `a` counts as more electronegative than `b`. Like RDKit, more outer electrons
 * wins, and within a group the lighter element wins (a proxy, not a Pauling scale).
 */
export function moreElectronegative(a: number, b: number): boolean {
  const ea = outerElectrons(a);
  const eb = outerElectrons(b);
  return ea > eb || (ea === eb && a < b);
}

/** Electrons in the radical code of a molfile (`M  RAD`: 1 singlet, 2 doublet, 3 triplet). */
export function radicalElectrons(code: number): number {
  return code === 2 ? 1 : code === 1 || code === 3 ? 2 : 0;
}

/**
 * Hydrogens an atom carries implicitly: the gap between its explicit valence (bond orders,
 * explicit hydrogens and radical electrons) and the lowest allowed valence that holds it.
 * A charge shifts the allowed valences: up for N, O, P, S and the halogens (ammonium has 4,
 * alkoxide 1), down for B and C (a carbocation or carbanion has 3).
 */
export function implicitHydrogens(z: number, charge: number, explicitValence: number): number {
  const list = VALENCES[z];
  if (list === undefined || z === 1) return 0;
  const outer = outerElectrons(z);
  for (const v of list) {
    let total: number;
    if (outer >= 5) total = v + charge;
    else if (z === 5) total = v - charge;
    else total = v - Math.abs(charge);
    if (total >= explicitValence) return total - explicitValence;
  }
  return 0;
}
