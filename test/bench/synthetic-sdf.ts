/**
 * Synthetic conformer ensembles for the benchmarks: molecules of `atoms` heavy atoms (a bonded
 * chain of C, N and O), each conformer its molecule's template plus random displacements,
 * written as V2000 SD files without hydrogens. Deterministic for a seed.
 */
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { mulberry32 } from '../../src/random.js';


const ELEMENTS = ['C', 'C', 'C', 'N', 'O'];

function coord(x: number): string {
  return x.toFixed(4).padStart(10);
}

/** One V2000 record. */
function record(title: string, elements: string[], xyz: Float64Array): string {
  const n = elements.length;
  let s = `${title}\n  shoal-bench\n\n${String(n).padStart(3)}${String(n - 1).padStart(3)}  0  0  0  0  0  0  0  0999 V2000\n`;
  for (let i = 0; i < n; i++) s += `${coord(xyz[3 * i]!)}${coord(xyz[3 * i + 1]!)}${coord(xyz[3 * i + 2]!)} ${elements[i]!.padEnd(3)} 0  0  0  0  0  0  0  0  0  0  0  0\n`;
  for (let i = 1; i < n; i++) s += `${String(i).padStart(3)}${String(i + 1).padStart(3)}  1  0\n`;
  return `${s}M  END\n$$$$\n`;
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
 * `genCount(k)` generated conformers of `atoms` heavy atoms.
 */
export async function writeSyntheticSet(refPath: string, genPath: string, refCounts: number[], genCount: (k: number, nRef: number) => number, atoms: number, seed = 7): Promise<SyntheticSet> {
  const rand = mulberry32(seed);
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
    const conformers = async (w: NodeJS.WritableStream, n: number): Promise<void> => {
      let chunk = '';
      for (let c = 0; c < n; c++) {
        for (let i = 0; i < xyz.length; i++) xyz[i] = template[i]! + (rand() - 0.5) * 1.2;
        chunk += record(title, elements, xyz);
        if (chunk.length > 1 << 16) {
          await write(w, chunk);
          chunk = '';
        }
      }
      if (chunk) await write(w, chunk);
    };
    const nRef = refCounts[k]!;
    const nGen = genCount(k, nRef);
    await conformers(ref, nRef);
    await conformers(gen, nGen);
    counts.push([nRef, nGen]);
  }
  ref.end();
  gen.end();
  await Promise.all([once(ref, 'finish'), once(gen, 'finish')]);
  return { refPath, genPath, counts, atoms };
}
