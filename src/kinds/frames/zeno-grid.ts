/**
 * A uniform cell grid that answers "how far is this point from the union of spheres?" without
 * visiting every sphere.
 *
 * Walk-on-spheres only needs a lower bound on that distance for its steps, and the exact value
 * only when it is small (to decide a hit). Each cell of side h lists the spheres whose surface
 * comes within L of some point of the cell: sphere i is listed when |p − c_i| − r_i ≤ δ + L,
 * p the cell centre, δ = h√3/2 its half-diagonal. For a point x in the cell every unlisted
 * sphere is then more than L away, so min(listed distances, L) is a lower bound that is exact
 * whenever it is below L. A cell with no sphere listed that is k cells (Chebyshev) from the
 * nearest listed cell is at least max(L, (k − 1)h) from the body; outside the grid the distance
 * to the spheres' bounding box is the bound.
 *
 * All arrays live in SharedArrayBuffers so that helper threads read the same grid.
 */

/** The grid, in plain typed arrays and numbers (structured-clone friendly, shared memory). */
export interface SphereGrid {
  /** Corner of cell (0,0,0). */
  ox: number; oy: number; oz: number;
  /** Cell side. */
  h: number;
  nx: number; ny: number; nz: number;
  /** Listing cutoff L: distances up to L are exact. */
  cutoff: number;
  /** CSR lists: cell c lists atoms cellAtoms[cellStart[c] .. cellStart[c+1]). */
  cellStart: Int32Array;
  cellAtoms: Int32Array;
  /** For cells with an empty list: Chebyshev distance in cells to the nearest listed cell. */
  emptyRing: Uint16Array;
  /** Bounding box of the spheres. */
  bx0: number; by0: number; bz0: number; bx1: number; by1: number; bz1: number;
}

/** Largest number of cells a grid may have (the cell side grows to stay under it). */
export const MAX_CELLS = 1 << 22;

function shared<T extends Int32Array | Uint16Array | Float64Array>(ctor: { new (b: SharedArrayBuffer): T; BYTES_PER_ELEMENT: number }, n: number): T {
  return new ctor(new SharedArrayBuffer(Math.max(1, n) * ctor.BYTES_PER_ELEMENT));
}

/** Builds the grid for spheres (centres x,y,z per sphere; radii). */
export function buildSphereGrid(centres: Float64Array, radii: Float64Array): SphereGrid {
  const n = radii.length;
  let bx0 = Infinity, by0 = Infinity, bz0 = Infinity, bx1 = -Infinity, by1 = -Infinity, bz1 = -Infinity;
  let rsum = 0;
  for (let i = 0; i < n; i++) {
    const r = radii[i]!;
    const x = centres[3 * i]!, y = centres[3 * i + 1]!, z = centres[3 * i + 2]!;
    bx0 = Math.min(bx0, x - r); by0 = Math.min(by0, y - r); bz0 = Math.min(bz0, z - r);
    bx1 = Math.max(bx1, x + r); by1 = Math.max(by1, y + r); bz1 = Math.max(bz1, z + r);
    rsum += r;
  }
  // Cells of about half a typical radius keep lists short (tens of atoms for a protein).
  let h = 0.6 * (rsum / n);
  const span = (margin: number): [number, number, number] => [bx1 - bx0 + 2 * margin, by1 - by0 + 2 * margin, bz1 - bz0 + 2 * margin];
  for (;;) {
    const [sx, sy, sz] = span(2 * h);
    if (Math.ceil(sx / h) * Math.ceil(sy / h) * Math.ceil(sz / h) <= MAX_CELLS) break;
    h *= 1.25;
  }
  const margin = 2 * h;
  const [sx, sy, sz] = span(margin);
  const nx = Math.ceil(sx / h), ny = Math.ceil(sy / h), nz = Math.ceil(sz / h);
  const ox = bx0 - margin, oy = by0 - margin, oz = bz0 - margin;
  const cutoff = h;
  const reach = 0.5 * Math.sqrt(3) * h + cutoff;
  const ncells = nx * ny * nz;

  // Two passes over each sphere's neighbourhood: count, then fill.
  const counts = new Int32Array(ncells + 1);
  const visit = (i: number, emit: (cell: number) => void): void => {
    const x = centres[3 * i]!, y = centres[3 * i + 1]!, z = centres[3 * i + 2]!;
    const lim = radii[i]! + reach;
    const lim2 = lim * lim;
    const ix0 = Math.max(0, Math.floor((x - lim - ox) / h)), ix1 = Math.min(nx - 1, Math.floor((x + lim - ox) / h));
    const iy0 = Math.max(0, Math.floor((y - lim - oy) / h)), iy1 = Math.min(ny - 1, Math.floor((y + lim - oy) / h));
    const iz0 = Math.max(0, Math.floor((z - lim - oz) / h)), iz1 = Math.min(nz - 1, Math.floor((z + lim - oz) / h));
    for (let iz = iz0; iz <= iz1; iz++) {
      const dz = oz + (iz + 0.5) * h - z;
      for (let iy = iy0; iy <= iy1; iy++) {
        const dy = oy + (iy + 0.5) * h - y;
        const row = (iz * ny + iy) * nx;
        for (let ix = ix0; ix <= ix1; ix++) {
          const dx = ox + (ix + 0.5) * h - x;
          if (dx * dx + dy * dy + dz * dz <= lim2) emit(row + ix);
        }
      }
    }
  };
  for (let i = 0; i < n; i++) visit(i, (c) => counts[c + 1]!++);
  const cellStart = shared(Int32Array, ncells + 1);
  for (let c = 0; c < ncells; c++) cellStart[c + 1] = cellStart[c]! + counts[c + 1]!;
  const cellAtoms = shared(Int32Array, cellStart[ncells]!);
  const fill = counts; // reuse as write cursors
  for (let c = 0; c < ncells; c++) fill[c] = cellStart[c]!;
  for (let i = 0; i < n; i++) visit(i, (c) => { cellAtoms[fill[c]!++] = i; });

  const emptyRing = shared(Uint16Array, ncells);
  chebyshevRings(cellStart, emptyRing, nx, ny, nz);
  return { ox, oy, oz, h, nx, ny, nz, cutoff, cellStart, cellAtoms, emptyRing, bx0, by0, bz0, bx1, by1, bz1 };
}

/**
 * Chebyshev distance (in cells) from every cell to the nearest cell with a non-empty list, by
 * two raster passes over the 26-neighbourhood (exact for the chessboard metric).
 */
function chebyshevRings(cellStart: Int32Array, ring: Uint16Array, nx: number, ny: number, nz: number): void {
  const FAR = 0xffff;
  const ncells = nx * ny * nz;
  for (let c = 0; c < ncells; c++) ring[c] = cellStart[c + 1]! > cellStart[c]! ? 0 : FAR;
  const pass = (dir: 1 | -1): void => {
    const zs = dir > 0 ? 0 : nz - 1, ys = dir > 0 ? 0 : ny - 1, xs = dir > 0 ? 0 : nx - 1;
    for (let iz = zs; iz >= 0 && iz < nz; iz += dir) {
      for (let iy = ys; iy >= 0 && iy < ny; iy += dir) {
        for (let ix = xs; ix >= 0 && ix < nx; ix += dir) {
          const c = (iz * ny + iy) * nx + ix;
          let best = ring[c]!;
          if (best === 0) continue;
          // The 13 neighbours already visited in this raster order.
          for (let dz = -1; dz <= 0; dz++) {
            const jz = iz + dir * dz;
            if (jz < 0 || jz >= nz) continue;
            for (let dy = -1; dy <= 1; dy++) {
              if (dz === 0 && dy > 0) break;
              const jy = iy + dir * dy;
              if (jy < 0 || jy >= ny) continue;
              for (let dx = -1; dx <= 1; dx++) {
                if (dz === 0 && dy === 0 && dx >= 0) break;
                const jx = ix + dir * dx;
                if (jx < 0 || jx >= nx) continue;
                const v = ring[(jz * ny + jy) * nx + jx]! + 1;
                if (v < best) best = v;
              }
            }
          }
          ring[c] = best;
        }
      }
    }
  };
  pass(1);
  pass(-1);
}

/**
 * A lower bound on the distance from (x, y, z) to the union of spheres, exact when it is below
 * the grid's cutoff. This is the walk's inner loop: keep it small enough for V8 to inline.
 */
export function gridDistance(g: SphereGrid, centres: Float64Array, radii: Float64Array, x: number, y: number, z: number): number {
  const ix = Math.floor((x - g.ox) / g.h), iy = Math.floor((y - g.oy) / g.h), iz = Math.floor((z - g.oz) / g.h);
  if (ix < 0 || iy < 0 || iz < 0 || ix >= g.nx || iy >= g.ny || iz >= g.nz) {
    const dx = Math.max(g.bx0 - x, 0, x - g.bx1), dy = Math.max(g.by0 - y, 0, y - g.by1), dz = Math.max(g.bz0 - z, 0, z - g.bz1);
    return Math.sqrt(dx * dx + dy * dy + dz * dz);
  }
  const c = (iz * g.ny + iy) * g.nx + ix;
  const s = g.cellStart[c]!, e = g.cellStart[c + 1]!;
  if (s === e) return Math.max(g.cutoff, (g.emptyRing[c]! - 1) * g.h);
  let best = g.cutoff;
  for (let k = s; k < e; k++) {
    const a = g.cellAtoms[k]!;
    const dx = x - centres[3 * a]!, dy = y - centres[3 * a + 1]!, dz = z - centres[3 * a + 2]!;
    const d = Math.sqrt(dx * dx + dy * dy + dz * dz) - radii[a]!;
    if (d < best) best = d;
  }
  return best;
}
