/**
 * The per-frame analyses and their names. Coordinates are x, y, z per atom (Å).
 *
 *   rg       √(Σ|xᵢ − g|² / N), g the centre of geometry (unweighted)
 *   rg_mass  √(Σ mᵢ|xᵢ − c|² / M), c the centre of mass (MDAnalysis `radius_of_gyration()`)
 *   cog      g = Σ xᵢ / N
 *   com      c = Σ mᵢ xᵢ / M
 *   rmsd     superposed RMSD to the reference frame (superpose.ts)
 *   zeno     capacitance by walk-on-spheres (zeno.ts)
 */

/** Analysis names as `--analyses` takes them. */
export const ANALYSES = ['rg', 'rg_mass', 'cog', 'com', 'rmsd', 'zeno'] as const;
export type Analysis = (typeof ANALYSES)[number];

/** Analyses that need atom masses. */
export const NEEDS_MASSES: ReadonlySet<Analysis> = new Set<Analysis>(['rg_mass', 'com']);

export type Vec3 = [number, number, number];

/** Centre of geometry. */
export function centreOfGeometry(xyz: Float64Array, n: number): Vec3 {
  let x = 0, y = 0, z = 0;
  for (let i = 0; i < 3 * n; i += 3) {
    x += xyz[i]!; y += xyz[i + 1]!; z += xyz[i + 2]!;
  }
  return [x / n, y / n, z / n];
}

/** Centre of mass (`totalMass` = Σ masses, precomputed). */
export function centreOfMass(xyz: Float64Array, masses: Float64Array, totalMass: number): Vec3 {
  let x = 0, y = 0, z = 0;
  for (let a = 0, i = 0; a < masses.length; a++, i += 3) {
    const m = masses[a]!;
    x += m * xyz[i]!; y += m * xyz[i + 1]!; z += m * xyz[i + 2]!;
  }
  return [x / totalMass, y / totalMass, z / totalMass];
}

/** Unweighted radius of gyration about `centre` (the centre of geometry). */
export function radiusOfGyration(xyz: Float64Array, n: number, centre: Vec3): number {
  const [cx, cy, cz] = centre;
  let s = 0;
  for (let i = 0; i < 3 * n; i += 3) {
    const dx = xyz[i]! - cx, dy = xyz[i + 1]! - cy, dz = xyz[i + 2]! - cz;
    s += dx * dx + dy * dy + dz * dz;
  }
  return Math.sqrt(s / n);
}

/** Mass-weighted radius of gyration about `centre` (the centre of mass). */
export function radiusOfGyrationMass(xyz: Float64Array, masses: Float64Array, totalMass: number, centre: Vec3): number {
  const [cx, cy, cz] = centre;
  let s = 0;
  for (let a = 0, i = 0; a < masses.length; a++, i += 3) {
    const dx = xyz[i]! - cx, dy = xyz[i + 1]! - cy, dz = xyz[i + 2]! - cz;
    s += masses[a]! * (dx * dx + dy * dy + dz * dz);
  }
  return Math.sqrt(s / totalMass);
}
