/**
 * RMSD after optimal rigid superposition, by the quaternion characteristic polynomial (QCP)
 * method (Theobald, Acta Cryst. A61, 478, 2005; Liu, Agrafiotis & Theobald, J. Comput. Chem.
 * 31, 1561, 2010).
 *
 * For centred coordinates A (reference) and B, with S = Σ a bᵀ, the best rotation's
 * quaternion is the eigenvector of the largest eigenvalue λ of the symmetric, traceless 4×4
 * matrix K(S), and RMSD = √(2(E₀ − λ)/N) with E₀ = (Σ|a|² + Σ|b|²)/2. Only proper rotations
 * are quaternions, so reflections are never used. λ is the largest root of
 * det(K − λI) = λ⁴ + c₂λ² + c₁λ + c₀, found by Newton's method from E₀ (an upper bound).
 * Unweighted, like MDAnalysis `rms.rmsd(a, b, center=True, superposition=True)`.
 */

/** A reference structure prepared once: selected atoms, centred, with Σ|a|². */
export interface SuperposeReference {
  /** Atom indexes used (all atoms when the selection is everything). */
  atoms: Int32Array;
  /** Centred coordinates of the selected atoms (x, y, z per atom). */
  centred: Float64Array;
  /** Σ|a|² of the centred coordinates. */
  g: number;
}

/** Centres the selected atoms of `xyz` into `out`; returns Σ|x|² of the result. */
function centreSelection(xyz: Float64Array, atoms: Int32Array, out: Float64Array): number {
  const m = atoms.length;
  let sx = 0, sy = 0, sz = 0;
  for (let k = 0; k < m; k++) {
    const i = 3 * atoms[k]!;
    sx += xyz[i]!; sy += xyz[i + 1]!; sz += xyz[i + 2]!;
  }
  sx /= m; sy /= m; sz /= m;
  let g = 0;
  for (let k = 0; k < m; k++) {
    const i = 3 * atoms[k]!;
    const x = xyz[i]! - sx, y = xyz[i + 1]! - sy, z = xyz[i + 2]! - sz;
    out[3 * k] = x; out[3 * k + 1] = y; out[3 * k + 2] = z;
    g += x * x + y * y + z * z;
  }
  return g;
}

/** Prepares a reference from a frame and the atom indexes to superpose on. */
export function prepareReference(xyz: Float64Array, atoms: Int32Array): SuperposeReference {
  if (atoms.length === 0) throw new RangeError('superposition needs at least one atom');
  const centred = new Float64Array(3 * atoms.length);
  const g = centreSelection(xyz, atoms, centred);
  return { atoms, centred, g };
}

function det3(a: number, b: number, c: number, d: number, e: number, f: number, g: number, h: number, i: number): number {
  return a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g);
}

/**
 * RMSD between the reference and frame `xyz` (same atom order) after centring both and
 * rotating the frame optimally. Two passes over the frame, no allocation.
 */
export function superposedRmsd(ref: SuperposeReference, xyz: Float64Array): number {
  const atoms = ref.atoms;
  const m = atoms.length;
  let bx0 = 0, by0 = 0, bz0 = 0;
  for (let k = 0; k < m; k++) {
    const i = 3 * atoms[k]!;
    bx0 += xyz[i]!; by0 += xyz[i + 1]!; bz0 += xyz[i + 2]!;
  }
  bx0 /= m; by0 /= m; bz0 /= m;
  const a = ref.centred;
  let gb = 0;
  let sxx = 0, sxy = 0, sxz = 0, syx = 0, syy = 0, syz = 0, szx = 0, szy = 0, szz = 0;
  for (let k = 0; k < m; k++) {
    const i = 3 * atoms[k]!;
    const bx = xyz[i]! - bx0, by = xyz[i + 1]! - by0, bz = xyz[i + 2]! - bz0;
    const ax = a[3 * k]!, ay = a[3 * k + 1]!, az = a[3 * k + 2]!;
    gb += bx * bx + by * by + bz * bz;
    sxx += ax * bx; sxy += ax * by; sxz += ax * bz;
    syx += ay * bx; syy += ay * by; syz += ay * bz;
    szx += az * bx; szy += az * by; szz += az * bz;
  }
  // K(S), symmetric with zero trace.
  const k00 = sxx + syy + szz, k01 = syz - szy, k02 = szx - sxz, k03 = sxy - syx;
  const k11 = sxx - syy - szz, k12 = sxy + syx, k13 = szx + sxz;
  const k22 = -sxx + syy - szz, k23 = syz + szy;
  const k33 = -sxx - syy + szz;
  // Coefficients of det(K − λI): c₂ = −½ tr(K²), c₁ = −(sum of the principal 3×3 minors), c₀ = det K.
  const c2 = -0.5 * (k00 * k00 + k11 * k11 + k22 * k22 + k33 * k33 + 2 * (k01 * k01 + k02 * k02 + k03 * k03 + k12 * k12 + k13 * k13 + k23 * k23));
  const m0 = det3(k11, k12, k13, k12, k22, k23, k13, k23, k33); // without row/column 0
  const m1 = det3(k00, k02, k03, k02, k22, k23, k03, k23, k33); // without 1
  const m2 = det3(k00, k01, k03, k01, k11, k13, k03, k13, k33); // without 2
  const m3 = det3(k00, k01, k02, k01, k11, k12, k02, k12, k22); // without 3
  const c1 = -(m0 + m1 + m2 + m3);
  const c0 =
    k00 * m0 -
    k01 * det3(k01, k12, k13, k02, k22, k23, k03, k23, k33) +
    k02 * det3(k01, k11, k13, k02, k12, k23, k03, k13, k33) -
    k03 * det3(k01, k11, k12, k02, k12, k22, k03, k13, k23);

  const e0 = (ref.g + gb) / 2;
  let lambda = e0;
  for (let it = 0; it < 60; it++) {
    const l2 = lambda * lambda;
    const p = l2 * l2 + c2 * l2 + c1 * lambda + c0;
    const dp = 4 * l2 * lambda + 2 * c2 * lambda + c1;
    if (dp === 0) break;
    const step = p / dp;
    lambda -= step;
    if (Math.abs(step) <= 1e-15 * Math.abs(lambda)) break;
  }
  return Math.sqrt(Math.max(0, (2 * (e0 - lambda)) / m));
}
