/**
 * RMSD after optimal rigid superposition (rotation + translation, no reflection) by Theobald's
 * quaternion characteristic polynomial (QCP) method:
 *
 *   D. L. Theobald, "Rapid calculation of RMSDs using a quaternion-based characteristic
 *   polynomial", Acta Cryst. A61 (2005) 478-480.
 *
 * With both conformers centred, let S = Σ_k a_k b_kᵀ (3×3) and G_a = Σ|a_k|², G_b = Σ|b_k|².
 * The best rotation corresponds to the largest eigenvalue λ of Horn's traceless symmetric 4×4
 * key matrix K(S), and RMSD² = (G_a + G_b − 2λ) / n. K's characteristic polynomial is
 * λ⁴ + c₂λ² + c₁λ + c₀ with c₂ = −2‖S‖²_F, c₁ = −8 det S, c₀ = det K; its largest root is found
 * by Newton's method from the upper bound (G_a + G_b)/2. Quaternions only encode proper
 * rotations, so a mirror image is never superposed onto its enantiomer.
 *
 * Everything here works on flat Float64Arrays (x, y, z per atom, conformer after conformer),
 * with each conformer centred and its G computed once, and allocates nothing per pair.
 */

/** A set of conformers of one molecule, centred, ready for pairwise superposition. */
export interface ConformerSet {
  /** Atoms per conformer. */
  n: number;
  count: number;
  /** Centred coordinates: conformer c, atom k at `3 * (c * n + k)`. */
  xyz: Float64Array;
  /** Σ|x|² per conformer (centred). */
  g: Float64Array;
}

/**
 * Centres each conformer of `coords` (count × n × 3) at its centroid and computes G. With
 * `inPlace`, `coords` itself is centred and becomes the set's `xyz` (no second copy).
 */
export function prepareConformers(coords: Float64Array, n: number, inPlace = false): ConformerSet {
  const count = n === 0 ? 0 : coords.length / (3 * n);
  if (!Number.isInteger(count)) throw new RangeError(`coordinate array of length ${coords.length} is not a whole number of ${n}-atom conformers`);
  const xyz = inPlace ? coords : new Float64Array(coords.length);
  const g = new Float64Array(count);
  for (let c = 0; c < count; c++) {
    const base = 3 * n * c;
    let cx = 0;
    let cy = 0;
    let cz = 0;
    for (let k = 0; k < n; k++) {
      cx += coords[base + 3 * k]!;
      cy += coords[base + 3 * k + 1]!;
      cz += coords[base + 3 * k + 2]!;
    }
    cx /= n;
    cy /= n;
    cz /= n;
    let sum = 0;
    for (let k = 0; k < n; k++) {
      const x = coords[base + 3 * k]! - cx;
      const y = coords[base + 3 * k + 1]! - cy;
      const z = coords[base + 3 * k + 2]! - cz;
      xyz[base + 3 * k] = x;
      xyz[base + 3 * k + 1] = y;
      xyz[base + 3 * k + 2] = z;
      sum += x * x + y * y + z * z;
    }
    g[c] = sum;
  }
  return { n, count, xyz, g };
}

/**
 * Largest eigenvalue of the key matrix built from S (row-major sxx..szz), Newton from `e0`
 * (which must bound it from above, e.g. (G_a + G_b)/2).
 */
export function qcpLambda(
  e0: number,
  sxx: number, sxy: number, sxz: number,
  syx: number, syy: number, syz: number,
  szx: number, szy: number, szz: number,
): number {
  // Key matrix K (symmetric, traceless).
  const k00 = sxx + syy + szz;
  const k01 = syz - szy;
  const k02 = szx - sxz;
  const k03 = sxy - syx;
  const k11 = sxx - syy - szz;
  const k12 = sxy + syx;
  const k13 = szx + sxz;
  const k22 = -sxx + syy - szz;
  const k23 = syz + szy;
  const k33 = -sxx - syy + szz;
  // det K by Laplace expansion over the 2×2 minors of rows (0,1) and rows (2,3).
  const a01 = k00 * k11 - k01 * k01;
  const a02 = k00 * k12 - k02 * k01;
  const a03 = k00 * k13 - k03 * k01;
  const a12 = k01 * k12 - k02 * k11;
  const a13 = k01 * k13 - k03 * k11;
  const a23 = k02 * k13 - k03 * k12;
  const b01 = k02 * k13 - k12 * k03;
  const b02 = k02 * k23 - k22 * k03;
  const b03 = k02 * k33 - k23 * k03;
  const b12 = k12 * k23 - k22 * k13;
  const b13 = k12 * k33 - k23 * k13;
  const b23 = k22 * k33 - k23 * k23;
  const c0 = a01 * b23 - a02 * b13 + a03 * b12 + a12 * b03 - a13 * b02 + a23 * b01;
  const c1 = -8 * (sxx * (syy * szz - syz * szy) - sxy * (syx * szz - syz * szx) + sxz * (syx * szy - syy * szx));
  const c2 = -2 * (sxx * sxx + sxy * sxy + sxz * sxz + syx * syx + syy * syy + syz * syz + szx * szx + szy * szy + szz * szz);

  let lambda = e0;
  for (let it = 0; it < 60; it++) {
    const l2 = lambda * lambda;
    const p = (l2 + c2) * l2 + c1 * lambda + c0;
    const dp = (4 * l2 + 2 * c2) * lambda + c1;
    if (dp === 0) break;
    const step = p / dp;
    lambda -= step;
    if (Math.abs(step) <= 1e-13 * Math.abs(lambda)) break;
  }
  return lambda;
}

/** RMSD from G_a + G_b, λ and n, guarded against tiny negative round-off. */
function rmsdFrom(gsum: number, lambda: number, n: number): number {
  const msd = (gsum - 2 * lambda) / n;
  return msd > 0 ? Math.sqrt(msd) : 0;
}

/**
 * RMSD between conformer `i` of `a` and conformer `j` of `b`, atoms paired by index.
 * Both sets must have the same atom count.
 */
export function pairRmsd(a: ConformerSet, i: number, b: ConformerSet, j: number): number {
  const n = a.n;
  const pa = 3 * n * i;
  const pb = 3 * n * j;
  const A = a.xyz;
  const B = b.xyz;
  let sxx = 0, sxy = 0, sxz = 0, syx = 0, syy = 0, syz = 0, szx = 0, szy = 0, szz = 0;
  for (let k = 0; k < 3 * n; k += 3) {
    const ax = A[pa + k]!, ay = A[pa + k + 1]!, az = A[pa + k + 2]!;
    const bx = B[pb + k]!, by = B[pb + k + 1]!, bz = B[pb + k + 2]!;
    sxx += ax * bx; sxy += ax * by; sxz += ax * bz;
    syx += ay * bx; syy += ay * by; syz += ay * bz;
    szx += az * bx; szy += az * by; szz += az * bz;
  }
  const gsum = a.g[i]! + b.g[j]!;
  return rmsdFrom(gsum, qcpLambda(gsum / 2, sxx, sxy, sxz, syx, syy, syz, szx, szy, szz), n);
}

/**
 * RMSD of every (reference row, generated column) pair, atoms paired by index:
 * `out[(i - rowFrom) * gen.count + j]` for rows `rowFrom ≤ i < rowTo`.
 */
export function rmsdRows(ref: ConformerSet, gen: ConformerSet, rowFrom: number, rowTo: number, out: Float64Array): void {
  const cols = gen.count;
  for (let i = rowFrom; i < rowTo; i++) {
    const o = (i - rowFrom) * cols;
    for (let j = 0; j < cols; j++) out[o + j] = pairRmsd(ref, i, gen, j);
  }
}

/**
 * The whole RMSD matrix of raw (uncentred) coordinates: `refCoords` holds nRef conformers and
 * `genCoords` nGen conformers of `n` atoms each (x, y, z per atom); `out` (nRef × nGen,
 * row-major) receives the RMSDs. The entry point for benchmarks.
 */
export function rmsdMatrix(refCoords: Float64Array, genCoords: Float64Array, n: number, out: Float64Array): void {
  const ref = prepareConformers(refCoords, n);
  const gen = prepareConformers(genCoords, n);
  if (out.length < ref.count * gen.count) throw new RangeError(`out holds ${out.length} values, need ${ref.count * gen.count}`);
  rmsdRows(ref, gen, 0, ref.count, out);
}

/** Atom mappings as {@link bestRmsdRows} takes them: see `Mappings` in symmetry.ts. */
export interface PairingSet {
  n: number;
  count: number;
  /** `map[m * n + q]`: the reference atom paired with generated atom q in mapping m. */
  map: ArrayLike<number>;
  /** Atoms that some mapping moves; all others pair with themselves. */
  moving: Int32Array;
}

/** Index tables derived once per molecule from its mappings. */
export interface PreparedPairings {
  count: number;
  /** Atoms no mapping moves, times 3 (coordinate offsets). */
  fixed: Int32Array;
  /** Offsets of the moving generated atoms. */
  moving: Int32Array;
  /** Per mapping and moving atom: offset of the reference atom it pairs with. */
  gather: Int32Array;
}

/** Builds the index tables of {@link bestRmsdRows}. */
export function preparePairings(maps: PairingSet): PreparedPairings {
  const n = maps.n;
  const nm = maps.moving.length;
  const isMoving = new Uint8Array(n);
  for (let k = 0; k < nm; k++) isMoving[maps.moving[k]!] = 1;
  const fixed: number[] = [];
  for (let k = 0; k < n; k++) if (!isMoving[k]) fixed.push(3 * k);
  const gather = new Int32Array(maps.count * nm);
  for (let m = 0; m < maps.count; m++) {
    for (let k = 0; k < nm; k++) gather[m * nm + k] = 3 * maps.map[m * n + maps.moving[k]!]!;
  }
  return { count: maps.count, fixed: Int32Array.from(fixed), moving: maps.moving.map((a) => 3 * a), gather };
}

/** Mappings that differ between generated conformers: column j uses `groups[of[j]]`. */
export interface ColumnPairings {
  groups: readonly PreparedPairings[];
  of: ArrayLike<number>;
}

/**
 * The smallest RMSD between reference conformer i and generated conformer j over the given
 * atom mappings. The cross-covariance of the atoms no mapping moves is summed once; each
 * mapping then only adds its moving atoms.
 */
function bestPairRmsd(ref: ConformerSet, i: number, gen: ConformerSet, j: number, pairings: PreparedPairings): number {
  const nm = pairings.moving.length;
  if (pairings.count <= 1 || nm === 0) return pairRmsd(ref, i, gen, j);
  const n = ref.n;
  const { fixed, moving, gather, count } = pairings;
  const A = ref.xyz;
  const B = gen.xyz;
  const pa = 3 * n * i;
  const pb = 3 * n * j;
  let fxx = 0, fxy = 0, fxz = 0, fyx = 0, fyy = 0, fyz = 0, fzx = 0, fzy = 0, fzz = 0;
  for (let f = 0; f < fixed.length; f++) {
    const o = fixed[f]!;
    const ax = A[pa + o]!, ay = A[pa + o + 1]!, az = A[pa + o + 2]!;
    const bx = B[pb + o]!, by = B[pb + o + 1]!, bz = B[pb + o + 2]!;
    fxx += ax * bx; fxy += ax * by; fxz += ax * bz;
    fyx += ay * bx; fyy += ay * by; fyz += ay * bz;
    fzx += az * bx; fzy += az * by; fzz += az * bz;
  }
  const gsum = ref.g[i]! + gen.g[j]!;
  let best = -Infinity;
  for (let m = 0; m < count; m++) {
    let sxx = fxx, sxy = fxy, sxz = fxz, syx = fyx, syy = fyy, syz = fyz, szx = fzx, szy = fzy, szz = fzz;
    const gm = m * nm;
    for (let k = 0; k < nm; k++) {
      const oa = pa + gather[gm + k]!;
      const ob = pb + moving[k]!;
      const ax = A[oa]!, ay = A[oa + 1]!, az = A[oa + 2]!;
      const bx = B[ob]!, by = B[ob + 1]!, bz = B[ob + 2]!;
      sxx += ax * bx; sxy += ax * by; sxz += ax * bz;
      syx += ay * bx; syy += ay * by; syz += ay * bz;
      szx += az * bx; szy += az * by; szz += az * bz;
    }
    const lambda = qcpLambda(gsum / 2, sxx, sxy, sxz, syx, syy, syz, szx, szy, szz);
    if (lambda > best) best = lambda;
  }
  return rmsdFrom(gsum, best, n);
}

/**
 * Like {@link rmsdRows}, but each entry is the minimum RMSD over the given atom mappings
 * (symmetry-corrected RMSD): the same for every generated conformer, or per conformer
 * ({@link ColumnPairings}: generated conformers whose atoms were put in the reference's order by
 * different mappings).
 */
export function bestRmsdRows(ref: ConformerSet, gen: ConformerSet, pairings: PreparedPairings | ColumnPairings, rowFrom: number, rowTo: number, out: Float64Array): void {
  const cols = gen.count;
  if ('groups' in pairings) {
    const { groups, of } = pairings;
    for (let i = rowFrom; i < rowTo; i++) {
      const o = (i - rowFrom) * cols;
      for (let j = 0; j < cols; j++) out[o + j] = bestPairRmsd(ref, i, gen, j, groups[of[j]!]!);
    }
    return;
  }
  if (pairings.count <= 1 || pairings.moving.length === 0) {
    rmsdRows(ref, gen, rowFrom, rowTo, out);
    return;
  }
  for (let i = rowFrom; i < rowTo; i++) {
    const o = (i - rowFrom) * cols;
    for (let j = 0; j < cols; j++) out[o + j] = bestPairRmsd(ref, i, gen, j, pairings);
  }
}
