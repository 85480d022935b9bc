/**
 * Measurements for `npm run bench` (nothing here runs at import): a synthetic DCD + topology,
 * frames/s of the cheap analyses through the kind's own run(), the raw read speed of `cat`
 * on the same file, and zeno walks/s for a given thread count.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { DcdReader } from '../../io/dcd.js';
import { elementBySymbol } from '../../io/elements.js';
import { readPdbTopology } from '../../io/pdb.js';
import { Xoshiro128 } from './rng.js';
import { framesKind } from './index.js';
import { prepareZeno } from './zeno.js';
import { zenoThreaded } from './zeno-threads.js';

/** A synthetic trajectory on disk. */
export interface SyntheticTrajectory {
  dcd: string;
  top: string;
  atoms: number;
  frames: number;
  bytes: number;
}

const ELEMENTS = ['C', 'C', 'N', 'O', 'H', 'H', 'H', 'C', 'S', 'H'];

/**
 * Writes `top.pdb` and `traj.dcd` (CHARMM, little-endian, no unit cell) in `dir`: `atoms`
 * atoms in a ball, whose frames jitter and drift. Deterministic from `seed`.
 */
export function writeSyntheticTrajectory(dir: string, atoms: number, frames: number, seed = 1): SyntheticTrajectory {
  const rng = Xoshiro128.fromKey(BigInt(seed));
  // Atoms spread uniformly in a ball at a protein's density (about 0.1 atoms per Å³ with H).
  const radius = Math.cbrt((3 * atoms) / (4 * Math.PI * 0.1));
  const base = new Float64Array(3 * atoms);
  for (let i = 0; i < atoms; i++) {
    let x: number, y: number, z: number;
    do {
      x = 2 * rng.nextDouble() - 1; y = 2 * rng.nextDouble() - 1; z = 2 * rng.nextDouble() - 1;
    } while (x * x + y * y + z * z > 1);
    base[3 * i] = radius * x; base[3 * i + 1] = radius * y; base[3 * i + 2] = radius * z;
  }
  const topPath = join(dir, 'top.pdb');
  const lines: string[] = [];
  for (let i = 0; i < atoms; i++) {
    const el = ELEMENTS[i % ELEMENTS.length]!;
    const [x, y, z] = [base[3 * i]!, base[3 * i + 1]!, base[3 * i + 2]!].map((v) => v.toFixed(3).padStart(8));
    lines.push(`ATOM  ${String((i % 99999) + 1).padStart(5)} ${(el + String(i % 10)).padEnd(4)} SYN A${String((i >> 4) % 10000).padStart(4)}    ${x}${y}${z}  1.00  0.00          ${el.padStart(2)}`);
  }
  lines.push('END', '');
  const fdTop = openSync(topPath, 'w');
  writeSync(fdTop, lines.join('\n'));
  closeSync(fdTop);

  const dcdPath = join(dir, 'traj.dcd');
  const fd = openSync(dcdPath, 'w');
  const rec = (payload: Buffer): void => {
    const m = Buffer.alloc(4);
    m.writeInt32LE(payload.length);
    writeSync(fd, m);
    writeSync(fd, payload);
    writeSync(fd, m);
  };
  const head = Buffer.alloc(84);
  head.write('CORD', 0, 'latin1');
  head.writeInt32LE(frames, 4);
  head.writeInt32LE(1, 12);
  head.writeFloatLE(0.02, 40);
  head.writeInt32LE(24, 80);
  rec(head);
  const title = Buffer.alloc(84, 32);
  title.writeInt32LE(1, 0);
  title.write('shoal synthetic benchmark trajectory', 4, 'latin1');
  rec(title);
  const n = Buffer.alloc(4);
  n.writeInt32LE(atoms);
  rec(n);
  const axis = Buffer.alloc(4 * atoms);
  for (let f = 0; f < frames; f++) {
    for (let k = 0; k < 3; k++) {
      for (let i = 0; i < atoms; i++) axis.writeFloatLE(base[3 * i + k]! + 0.01 * f + (rng.nextDouble() - 0.5) * 0.4, 4 * i);
      rec(axis);
    }
  }
  closeSync(fd);
  return { dcd: dcdPath, top: topPath, atoms, frames, bytes: statSync(dcdPath).size };
}

/** Throughput of the kind's run() over every frame on one thread. */
export interface FramesBench {
  frames: number;
  seconds: number;
  framesPerSecond: number;
  megabytesPerSecond: number;
}

/** Runs `analyses` (default rg,cog,rmsd) over every frame of a DCD, task by task, on this thread. */
export async function benchFrames(traj: SyntheticTrajectory, analyses = 'rg,cog,rmsd', chunk = 250): Promise<FramesBench> {
  const params = framesKind.params({ traj: traj.dcd, top: traj.top, analyses, chunk: String(chunk) });
  const tasks = await framesKind.expand(params, { slots: 1, job: 'bench', info: () => {} });
  const signal = new AbortController().signal;
  const t0 = performance.now();
  let frames = 0;
  for (const t of tasks) {
    const out = await framesKind.run(t.ref, params, { signal, threads: 1, attempt: 1, job: 'bench', task: t.id });
    if ('records' in out) frames += out.records.length;
  }
  const seconds = (performance.now() - t0) / 1000;
  return { frames, seconds, framesPerSecond: frames / seconds, megabytesPerSecond: traj.bytes / 1e6 / seconds };
}

/** `cat FILE > /dev/null`: MB/s of plain sequential reading of the same file. */
export function benchCat(path: string): Promise<{ seconds: number; megabytesPerSecond: number }> {
  const bytes = statSync(path).size;
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn('cat', [path], { stdio: ['ignore', 'ignore', 'inherit'] });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`cat exited with ${code}`));
      const seconds = (performance.now() - t0) / 1000;
      resolve({ seconds, megabytesPerSecond: bytes / 1e6 / seconds });
    });
  });
}

/** zeno throughput on one frame. */
export interface ZenoBench {
  atoms: number;
  walks: number;
  threads: number;
  seconds: number;
  walksPerSecond: number;
  walksPerSecondPerThread: number;
  capacitance: number;
}

/**
 * zeno walks/s on one frame of `traj` (radii by element) with `threads` threads. The first
 * call with more threads includes starting the helpers; call once to warm up.
 */
export async function benchZeno(traj: SyntheticTrajectory | { centres: Float64Array; radii: Float64Array }, walks: number, threads: number): Promise<ZenoBench> {
  let centres: Float64Array;
  let radii: Float64Array;
  if ('dcd' in traj) {
    const r = DcdReader.open(traj.dcd);
    centres = new Float64Array(3 * r.nAtoms);
    r.readFrame(0, centres);
    r.close();
    radii = Float64Array.from(readPdbTopology(traj.top).atoms, (a) => elementBySymbol(a.element!)!.radius!);
  } else {
    ({ centres, radii } = traj);
  }
  const problem = prepareZeno(centres, radii, { tolerance: 1e-4 });
  const t0 = performance.now();
  const r = await zenoThreaded(problem, 1, 0, walks, threads);
  const seconds = (performance.now() - t0) / 1000;
  return {
    atoms: radii.length, walks, threads, seconds,
    walksPerSecond: walks / seconds,
    walksPerSecondPerThread: walks / seconds / threads,
    capacitance: r.capacitance,
  };
}
