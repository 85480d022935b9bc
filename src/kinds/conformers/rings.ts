/**
 * Molecular graph and ring perception.
 *
 * Rings are the relevant cycles of the graph (the cycles that are not a sum of strictly
 * shorter ones, Vismara 1997): the union of all smallest sets of smallest rings. Unlike one
 * SSSR they do not depend on atom order, so symmetric atoms always see the same rings — the
 * property RDKit's "symmetrized SSSR" is after. Candidates come from Horton's construction
 * (a shortest path from a root to each end of an edge), independence is tested by Gaussian
 * elimination over GF(2) on edge bit vectors.
 */

/** Adjacency of a molecule's heavy atoms. */
export interface Graph {
  n: number;
  /** Neighbours of each atom. */
  nbr: number[][];
  /** Bond index of each neighbour entry (parallel to `nbr`). */
  nbrBond: number[][];
  bondA: Int32Array;
  bondB: Int32Array;
}

/** One ring: its atoms (in ring order) and its bonds. */
export interface Ring {
  atoms: number[];
  bonds: number[];
}

export function buildGraph(n: number, bondA: Int32Array, bondB: Int32Array): Graph {
  // Plain loops: this runs once per generated record matched by graph.
  const nbr: number[][] = new Array<number[]>(n);
  const nbrBond: number[][] = new Array<number[]>(n);
  for (let a = 0; a < n; a++) {
    nbr[a] = [];
    nbrBond[a] = [];
  }
  for (let b = 0; b < bondA.length; b++) {
    const a1 = bondA[b]!;
    const a2 = bondB[b]!;
    nbr[a1]!.push(a2);
    nbrBond[a1]!.push(b);
    nbr[a2]!.push(a1);
    nbrBond[a2]!.push(b);
  }
  return { n, nbr, nbrBond, bondA, bondB };
}

/** Marks the bonds that lie on some cycle (those that are not bridges). */
export function ringBonds(g: Graph): Uint8Array {
  const nb = g.bondA.length;
  const inRing = new Uint8Array(nb).fill(1);
  const disc = new Int32Array(g.n).fill(-1);
  const low = new Int32Array(g.n);
  let time = 0;
  // Iterative DFS (no recursion limit on long chains): frames of [atom, parent bond, next neighbour].
  for (let root = 0; root < g.n; root++) {
    if (disc[root] !== -1) continue;
    const stack: [number, number, number][] = [[root, -1, 0]];
    disc[root] = low[root] = time++;
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const [v, parentBond] = top;
      if (top[2] < g.nbr[v]!.length) {
        const k = top[2]++;
        const w = g.nbr[v]![k]!;
        const b = g.nbrBond[v]![k]!;
        if (b === parentBond) continue;
        if (disc[w] === -1) {
          disc[w] = low[w] = time++;
          stack.push([w, b, 0]);
        } else {
          low[v] = Math.min(low[v]!, disc[w]!);
        }
      } else {
        stack.pop();
        if (stack.length > 0) {
          const u = stack[stack.length - 1]![0];
          low[u] = Math.min(low[u]!, low[v]!);
          if (low[v]! > disc[u]!) inRing[parentBond] = 0;
        }
      }
    }
  }
  return inRing;
}

/** A GF(2) vector over the bonds. */
type BitVec = Uint32Array;

function reduceInto(v: BitVec, basis: Map<number, BitVec>): boolean {
  // Returns true when v is independent of the basis; v is reduced in place.
  for (let w = v.length - 1; w >= 0; w--) {
    while (v[w] !== 0) {
      const bit = 31 - Math.clz32(v[w]!);
      const pivot = w * 32 + bit;
      const row = basis.get(pivot);
      if (row === undefined) return true;
      for (let i = 0; i <= w; i++) v[i]! ^= row[i]!;
    }
  }
  return false;
}

function pivotOf(v: BitVec): number {
  for (let w = v.length - 1; w >= 0; w--) if (v[w] !== 0) return w * 32 + (31 - Math.clz32(v[w]!));
  return -1;
}

/** The relevant cycles of the graph, shortest first, in a deterministic order. */
export function findRings(g: Graph): Ring[] {
  const nb = g.bondA.length;
  const inRing = ringBonds(g);
  const words = Math.max(1, Math.ceil(nb / 32));
  const candidates = new Map<string, Ring & { vec: BitVec }>();
  const dist = new Int32Array(g.n);
  const parent = new Int32Array(g.n);
  const parentBond = new Int32Array(g.n);
  const onPath = new Uint8Array(g.n);

  for (let root = 0; root < g.n; root++) {
    if (!g.nbrBond[root]!.some((b) => inRing[b])) continue;
    // BFS over ring bonds; the lowest-index parent is kept so the construction is deterministic.
    dist.fill(-1);
    dist[root] = 0;
    parent[root] = -1;
    const queue = [root];
    for (let q = 0; q < queue.length; q++) {
      const v = queue[q]!;
      for (let k = 0; k < g.nbr[v]!.length; k++) {
        const b = g.nbrBond[v]![k]!;
        const w = g.nbr[v]![k]!;
        if (!inRing[b] || dist[w] !== -1) continue;
        dist[w] = dist[v]! + 1;
        parent[w] = v;
        parentBond[w] = b;
        queue.push(w);
      }
    }
    for (let b = 0; b < nb; b++) {
      if (!inRing[b]) continue;
      const x = g.bondA[b]!;
      const y = g.bondB[b]!;
      if (dist[x] === -1 || dist[y] === -1) continue;
      if (parentBond[x] === b && x !== root) continue;
      if (parentBond[y] === b && y !== root) continue;
      // Paths root→x and root→y must meet only at the root.
      const px: number[] = [];
      for (let v = x; v !== -1; v = parent[v]!) px.push(v);
      for (const v of px) onPath[v] = 1;
      const py: number[] = [];
      let simple = true;
      for (let v = y; v !== -1; v = parent[v]!) {
        if (onPath[v] && v !== root) {
          simple = false;
          break;
        }
        py.push(v);
      }
      for (const v of px) onPath[v] = 0;
      if (!simple) continue;
      // px = [x ... root], py = [y ... root]; the ring runs root → x, then y → (next to root).
      const bonds: number[] = [b];
      for (let i = 0; i < px.length - 1; i++) bonds.push(parentBond[px[i]!]!);
      for (let i = 0; i < py.length - 1; i++) bonds.push(parentBond[py[i]!]!);
      const atoms = [...px].reverse().concat(py.slice(0, -1));
      const key = [...bonds].sort((p, q) => p - q).join(',');
      if (candidates.has(key)) continue;
      const vec = new Uint32Array(words);
      for (const bi of bonds) vec[bi >>> 5]! |= 1 << (bi & 31);
      candidates.set(key, { atoms, bonds, vec });
    }
  }

  const sorted = [...candidates.entries()].sort((p, q) => p[1].bonds.length - q[1].bonds.length || (p[0] < q[0] ? -1 : p[0] > q[0] ? 1 : 0));
  const basis = new Map<number, BitVec>();
  const rings: Ring[] = [];
  for (let i = 0; i < sorted.length; ) {
    // One size class at a time: a cycle is relevant when it is independent of all shorter ones.
    const size = sorted[i]![1].bonds.length;
    let j = i;
    while (j < sorted.length && sorted[j]![1].bonds.length === size) j++;
    const reduced: BitVec[] = [];
    for (let k = i; k < j; k++) {
      const c = sorted[k]![1];
      const v = c.vec.slice();
      if (reduceInto(v, basis)) {
        rings.push({ atoms: c.atoms, bonds: c.bonds });
        reduced.push(v);
      }
    }
    for (const v of reduced) {
      if (reduceInto(v, basis)) basis.set(pivotOf(v), v);
    }
    i = j;
  }
  return rings;
}
