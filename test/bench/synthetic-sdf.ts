/**
 * Synthetic conformer ensembles for the benchmarks: molecules of `atoms` heavy atoms (a bonded
 * chain of C, N and O), each conformer its molecule's template plus random displacements,
 * written as V2000 SD files without hydrogens. Deterministic for a seed. The generated file may
 * list its atoms in another order than the reference (per molecule or per conformer), with the
 * same coordinates as the unpermuted set, for graph matching.
 */
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { mulberry32 } from '../../src/random.js';


const ELEMENTS = ['C', 'C', 'C', 'N', 'O'];

function coord(x: number): string {
  return x.toFixed(4).padStart(10);
}

/**
 * One V2000 record. With `order`, atom line i holds atom `order[i]` of the chain, and the
 * bonds are renumbered to match.
 */
function record(title: string, elements: string[], xyz: Float64Array, order?: Int32Array): string {
  const n = elements.length;
  const at = (i: number): number => (order === undefined ? i : order[i]!);
  const line = new Int32Array(n);
  for (let i = 0; i < n; i++) line[at(i)] = i + 1;
  let s = `${title}\n  shoal-bench\n\n${String(n).padStart(3)}${String(n - 1).padStart(3)}  0  0  0  0  0  0  0  0999 V2000\n`;
  for (let i = 0; i < n; i++) {
    const a = at(i);
    s += `${coord(xyz[3 * a]!)}${coord(xyz[3 * a + 1]!)}${coord(xyz[3 * a + 2]!)} ${elements[a]!.padEnd(3)} 0  0  0  0  0  0  0  0  0  0  0  0\n`;
  }
  for (let i = 1; i < n; i++) s += `${String(line[i - 1]!).padStart(3)}${String(line[i]!).padStart(3)}  1  0\n`;
  return `${s}M  END\n$$$$\n`;
}

/** How the generated file orders each record's atoms. */
export type GenOrder = 'reference' | 'per-molecule' | 'per-conformer';

/** A random order of n atoms (Fisher-Yates). */
function shuffled(n: number, rand: () => number): Int32Array {
  const order = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}

export interface SyntheticSet {
  refPath: string;
  genPath: string;
  /** Per molecule: reference conformers, generated conformers. */
  counts: Array<[number, number]>;
  atoms: number;
}

/**
 * Writes a reference and a generated file: molecule k has `refCounts[k]` reference and
 * `genCount(k)` generated conformers of `atoms` heavy atoms. `genOrder` permutes the generated
 * records' atoms, drawn from a stream of their own: the coordinates are those of the set in
 * reference order.
 */
export async function writeSyntheticSet(refPath: string, genPath: string, refCounts: number[], genCount: (k: number, nRef: number) => number, atoms: number, seed = 7, genOrder: GenOrder = 'reference'): Promise<SyntheticSet> {
  const rand = mulberry32(seed);
  const orderRand = mulberry32(seed + 1);
  const ref = createWriteStream(refPath);
  const gen = createWriteStream(genPath);
  const counts: Array<[number, number]> = [];
  const write = async (w: NodeJS.WritableStream, s: string): Promise<void> => {
    if (!w.write(s)) await once(w, 'drain');
  };
  const xyz = new Float64Array(atoms * 3);
  for (let k = 0; k < refCounts.length; k++) {
    const title = `mol_${String(k).padStart(4, '0')}`;
    const elements = Array.from({ length: atoms }, () => ELEMENTS[Math.floor(rand() * ELEMENTS.length)]!);
    const template = new Float64Array(atoms * 3);
    for (let i = 1; i < atoms; i++) {
      for (let d = 0; d < 3; d++) template[3 * i + d] = template[3 * (i - 1) + d]! + (rand() - 0.5) * 2.2;
    }
    const molOrder = genOrder === 'per-molecule' ? shuffled(atoms, orderRand) : undefined;
    const conformers = async (w: NodeJS.WritableStream, n: number, gen: boolean): Promise<void> => {
      let chunk = '';
      for (let c = 0; c < n; c++) {
        for (let i = 0; i < xyz.length; i++) xyz[i] = template[i]! + (rand() - 0.5) * 1.2;
        const order = !gen ? undefined : genOrder === 'per-conformer' ? shuffled(atoms, orderRand) : molOrder;
        chunk += record(title, elements, xyz, order);
        if (chunk.length > 1 << 16) {
          await write(w, chunk);
          chunk = '';
        }
      }
      if (chunk) await write(w, chunk);
    };
    const nRef = refCounts[k]!;
    const nGen = genCount(k, nRef);
    await conformers(ref, nRef, false);
    await conformers(gen, nGen, true);
    counts.push([nRef, nGen]);
  }
  ref.end();
  gen.end();
  await Promise.all([once(ref, 'finish'), once(gen, 'finish')]);
  return { refPath, genPath, counts, atoms };
}
