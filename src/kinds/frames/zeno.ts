/**
 * Walk-on-spheres estimate of the electrostatic capacitance of a union of spheres (the ZENO
 * method: Mansfield, Douglas & Garboczi, Phys. Rev. E 64, 061401, 2001).
 *
 * Walkers start uniformly on a launch sphere of radius R that encloses the body. Inside it a
 * walker jumps to a uniform point on the largest sphere around it that does not touch the body
 * (radius = distance to the body surface); it hits when that distance is below ε. A walker
 * that leaves the launch sphere (distance r > R from its centre) comes back with probability
 * R/r, at a point drawn from the harmonic measure of the sphere seen from outside, else it
 * escapes. The hit probability p gives C = R·p, with standard error R·√(p(1−p)/walks).
 * Units: Å (the capacitance of a sphere is its radius).
 *
 * Walks come in fixed blocks, each with its own stream keyed by (seed, frame, block), so the
 * result does not depend on how blocks are spread over threads.
 */
import { buildSphereGrid, gridDistance, type SphereGrid } from './zeno-grid.js';
import { Xoshiro128, streamKey } from './rng.js';

/** Walks per block: the unit of work and of random streams. Changing it changes results. */
export const ZENO_BLOCK = 4096;

/** Bodies with at most this many spheres are searched directly instead of through a grid. */
export const DIRECT_SEARCH_MAX = 24;

/** Everything a thread needs to run blocks of walks (structured-clone friendly, shared memory). */
export interface ZenoProblem {
  n: number;
  centres: Float64Array;
  radii: Float64Array;
  /** Launch sphere. */
  cx: number; cy: number; cz: number; R: number;
  /** Hit tolerance (Å). */
  eps: number;
  grid: SphereGrid | null;
}

/** How to set up a problem. */
export interface ZenoSetup {
  /** ε as a fraction of the launch radius R. */
  tolerance: number;
  /** Launch radius as a multiple of the smallest enclosing radius around the box centre (≥ 1; default 1). */
  launchScale?: number;
  /** Force or forbid the grid (default: grid above DIRECT_SEARCH_MAX spheres). */
  search?: 'auto' | 'grid' | 'direct';
}

/** One estimate. */
export interface ZenoResult {
  capacitance: number;
  capacitance_err: number;
  walks: number;
}

/** A copy in shared memory, so helper threads read it without copying. */
function sharedCopy(src: ArrayLike<number>): Float64Array {
  const out = new Float64Array(new SharedArrayBuffer(src.length * 8));
  for (let i = 0; i < src.length; i++) out[i] = src[i]!;
  return out;
}

/** Builds the launch sphere and the distance search for spheres (centres x,y,z per sphere). */
export function prepareZeno(centres: ArrayLike<number>, radii: ArrayLike<number>, setup: ZenoSetup): ZenoProblem {
  const n = radii.length;
  if (n === 0 || centres.length !== 3 * n) throw new RangeError(`zeno: ${n} radii for ${centres.length / 3} centres`);
  const c = sharedCopy(centres);
  const r = sharedCopy(radii);
  let x0 = Infinity, y0 = Infinity, z0 = Infinity, x1 = -Infinity, y1 = -Infinity, z1 = -Infinity;
  for (let i = 0; i < n; i++) {
    if (!(r[i]! > 0)) throw new RangeError(`zeno: sphere ${i} has radius ${r[i]}`);
    x0 = Math.min(x0, c[3 * i]! - r[i]!); x1 = Math.max(x1, c[3 * i]! + r[i]!);
    y0 = Math.min(y0, c[3 * i + 1]! - r[i]!); y1 = Math.max(y1, c[3 * i + 1]! + r[i]!);
    z0 = Math.min(z0, c[3 * i + 2]! - r[i]!); z1 = Math.max(z1, c[3 * i + 2]! + r[i]!);
  }
  const cx = (x0 + x1) / 2, cy = (y0 + y1) / 2, cz = (z0 + z1) / 2;
  let R = 0;
  for (let i = 0; i < n; i++) {
    const dx = c[3 * i]! - cx, dy = c[3 * i + 1]! - cy, dz = c[3 * i + 2]! - cz;
    R = Math.max(R, Math.sqrt(dx * dx + dy * dy + dz * dz) + r[i]!);
  }
  R *= Math.max(1, setup.launchScale ?? 1);
  const search = setup.search ?? 'auto';
  const useGrid = search === 'grid' || (search === 'auto' && n > DIRECT_SEARCH_MAX);
  return { n, centres: c, radii: r, cx, cy, cz, R, eps: setup.tolerance * R, grid: useGrid ? buildSphereGrid(c, r) : null };
}

/** Number of blocks for `walks` walks. */
export function blockCount(walks: number): number {
  return Math.ceil(walks / ZENO_BLOCK);
}

/** Walks in block `block` (the last block may be short). */
export function walksInBlock(walks: number, block: number): number {
  return Math.min(ZENO_BLOCK, walks - block * ZENO_BLOCK);
}

/** Runs block `block` of the walks for (seed, frame); returns its hit count. */
export function runZenoBlock(p: ZenoProblem, seed: number, frame: number, block: number, walks: number, rng = new Xoshiro128()): number {
  rng.reseed(streamKey(seed, frame, block));
  return walkMany(p, rng, walksInBlock(walks, block));
}

/** C and its standard error from hit counts. */
export function zenoEstimate(R: number, hits: number, walks: number): ZenoResult {
  const p = hits / walks;
  return { capacitance: R * p, capacitance_err: R * Math.sqrt((p * (1 - p)) / walks), walks };
}

/** All blocks on the calling thread. */
export function zenoSerial(p: ZenoProblem, seed: number, frame: number, walks: number): ZenoResult {
  const rng = new Xoshiro128();
  let hits = 0;
  for (let b = 0, nb = blockCount(walks); b < nb; b++) hits += runZenoBlock(p, seed, frame, b, walks, rng);
  return zenoEstimate(p.R, hits, walks);
}

/** `count` walks from the launch sphere with stream `g`; returns the number that hit. */
export function walkMany(p: ZenoProblem, g: Xoshiro128, count: number): number {
  const { centres, radii, cx, cy, cz, R, eps, n, grid } = p;
  const R2 = R * R;
  // Points put on the launch sphere may land a rounding error outside it; treating those as
  // outside would send them back onto the sphere forever. Walk-on-spheres is valid anywhere
  // off the body, so only walkers clearly outside take the escape/return step.
  const outside2 = R2 * (1 + 1e-9);
  let hits = 0;
  let ux = 0, uy = 0, uz = 0;
  // A uniform direction (Marsaglia 1972): only +, ×, √, so every platform gets the same bits.
  const direction = (): void => {
    let a: number, b: number, s: number;
    do {
      a = 2 * g.nextDouble() - 1;
      b = 2 * g.nextDouble() - 1;
      s = a * a + b * b;
    } while (s >= 1 || s === 0);
    const f = 2 * Math.sqrt(1 - s);
    ux = a * f; uy = b * f; uz = 1 - 2 * s;
  };
  for (let w = 0; w < count; w++) {
    direction();
    let x = cx + R * ux, y = cy + R * uy, z = cz + R * uz;
    for (;;) {
      let dx = x - cx, dy = y - cy, dz = z - cz;
      const r2 = dx * dx + dy * dy + dz * dz;
      if (r2 > outside2) {
        const r = Math.sqrt(r2);
        if (g.nextDouble() * r >= R) break; // escaped, with probability 1 − R/r
        // Back onto the launch sphere: cos θ from the inverse of the exterior harmonic
        // measure's distribution, G(u) = (r²−R²)/(2R)·(1/√(r²+R²−2rRu) − 1/(r+R)).
        const q = (2 * R * g.nextDouble()) / (r2 - R2) + 1 / (r + R);
        let cosT = (r2 + R2 - 1 / (q * q)) / (2 * r * R);
        if (cosT > 1) cosT = 1;
        else if (cosT < -1) cosT = -1;
        const sinT = Math.sqrt(1 - cosT * cosT);
        dx /= r; dy /= r; dz /= r;
        // A uniform direction in the plane normal to (dx, dy, dz): project a random direction.
        let tx: number, ty: number, tz: number, tn: number;
        do {
          direction();
          const dot = ux * dx + uy * dy + uz * dz;
          tx = ux - dot * dx; ty = uy - dot * dy; tz = uz - dot * dz;
          tn = Math.sqrt(tx * tx + ty * ty + tz * tz);
        } while (tn < 1e-6);
        x = cx + R * (cosT * dx + (sinT * tx) / tn);
        y = cy + R * (cosT * dy + (sinT * ty) / tn);
        z = cz + R * (cosT * dz + (sinT * tz) / tn);
        continue;
      }
      // Distance to the body (a lower bound, exact when small).
      let d: number;
      if (grid === null) {
        d = Infinity;
        for (let i = 0; i < n; i++) {
          const ex = x - centres[3 * i]!, ey = y - centres[3 * i + 1]!, ez = z - centres[3 * i + 2]!;
          const di = Math.sqrt(ex * ex + ey * ey + ez * ez) - radii[i]!;
          if (di < d) d = di;
        }
      } else {
        d = gridDistance(grid, centres, radii, x, y, z);
      }
      if (d < eps) {
        hits++;
        break;
      }
      direction();
      x += d * ux; y += d * uy; z += d * uz;
    }
  }
  return hits;
}
