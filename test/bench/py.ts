/**
 * `npm run bench -- py`: users' Python functions through shoal's python kind, side by side with
 * the same functions (py_fns.py) through a ProcessPoolExecutor (py_pool.py), every run timed from
 * process start to exit and writing one JSONL line per record. Three workloads, 2 slots each:
 *
 *   no-op  106,778 records of a .txt file, `return None`: shoal embedded, over NATS with 1 agent
 *          × 2 workers and 2 agents × 1; the pool with a future per record and with map() at a
 *          few chunk sizes.
 *   w2     20,000 records of ~1 ms of pure-Python work (a loop calibrated here): shoal embedded
 *          and both pool modes, as a share of the ideal (records × the calibrated time / cores).
 *   rdkit  drug-like SMILES (py_smiles.py), one ETKDG conformer each, MMFF-optimised: shoal
 *          embedded against the pool's map() at hand-picked chunk sizes.
 *
 * Each row's note gives the 1-minute load average just before the run (the machine is shared).
 * Sizes and choices, by environment (defaults in brackets):
 *   PY_PYTHON         the interpreter for both sides [/usr/bin/python3 when it has RDKit, else python3]
 *   PY_NOOP_TASKS     [106778]       PY_NOOP_CHUNKS   map() chunk sizes to try [100,1000,10000]
 *   PY_W2_TASKS       [20000]        PY_W2_CHUNKS     [20]
 *   PY_RDKIT_TASKS    [1000]         PY_RDKIT_CHUNKS  [1,10]  (the goal's size is 5,000: ~95 s a run on 2 cores)
 *   PY_PARTS          which of noop,w2,rdkit to run [all]
 *   PY_PROFILE=DIR    V8 CPU profiles of every shoal process and thread, written to DIR
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../helpers/paths.js';
import type { BenchRow } from './main.js';
import { processPool, pythonArgs, pythonOut, shoalEmbedded, shoalOverNats, type Ran } from './py-run.js';

const num = (name: string, dflt: number): number => Number(process.env[name] ?? dflt);
const list = (name: string, dflt: string): number[] => (process.env[name] ?? dflt).split(',').map(Number);
const load = (): string => `load ${readFileSync('/proc/loadavg', 'utf8').split(' ')[0]}`;

function row(workload: string, mode: string, tasks: number, r: Ran, loadBefore: string, note = ''): BenchRow {
  const us = (r.cpuS * 1e6) / tasks;
  const cpu = `CPU ${us.toFixed(us < 100 ? 1 : 0)} µs/record`;
  return { workload, mode, tasks, seconds: +r.seconds.toFixed(3), tasksPerSecond: Math.round(tasks / r.seconds), note: [note, cpu, loadBefore].filter(Boolean).join('; ') };
}

/** Runs `fn` with the load average read just before it. */
async function measured(fn: () => Promise<Ran>): Promise<{ r: Ran; load: string }> {
  const l = load();
  return { r: await fn(), load: l };
}

async function hasRdkit(python: string): Promise<boolean> {
  try {
    await pythonOut(python, ['-c', 'import rdkit']);
    return true;
  } catch {
    return false;
  }
}

async function noop(python: string, dir: string): Promise<BenchRow[]> {
  const n = num('PY_NOOP_TASKS', 106_778);
  const inputs = join(dir, 'py-noop.txt');
  writeFileSync(inputs, Array.from({ length: n }, (_, i) => `${i}\n`).join(''));
  const kind = pythonArgs(python, 'noop', inputs, {});
  const rows: BenchRow[] = [];
  const e = await measured(() => shoalEmbedded(kind, join(dir, 'py-noop-embedded.jsonl'), n));
  const n1 = await measured(() => shoalOverNats(kind, dir, 'py-noop-nats1', n, 1));
  const n2 = await measured(() => shoalOverNats(kind, dir, 'py-noop-nats2', n, 2));
  const sub = await measured(() => processPool(python, 'noop', inputs, {}, 'submit', join(dir, 'py-noop-submit.jsonl'), n));
  const maps: Array<{ chunk: number; r: Ran; load: string }> = [];
  for (const chunk of list('PY_NOOP_CHUNKS', '100,1000,10000')) {
    maps.push({ chunk, ...(await measured(() => processPool(python, 'noop', inputs, {}, `map:${chunk}`, join(dir, `py-noop-map${chunk}.jsonl`), n))) });
  }
  const best = maps.reduce((a, b) => (b.r.seconds < a.r.seconds ? b : a));
  const vs = (r: Ran): string => `${(sub.r.seconds / r.seconds).toFixed(1)}× the pool's future per record, ${(best.r.seconds / r.seconds).toFixed(2)}× its best map()`;
  rows.push(row('py-noop', 'shoal run (embedded), 1 agent × 2 workers', n, e.r, e.load, vs(e.r)));
  rows.push(row('py-noop', 'shoal submit --wait, NATS, 1 agent × 2 workers', n, n1.r, n1.load, vs(n1.r)));
  rows.push(row('py-noop', 'shoal submit --wait, NATS, 2 agents × 1 worker', n, n2.r, n2.load, vs(n2.r)));
  rows.push(row('py-noop', 'ProcessPoolExecutor × 2, a future per record', n, sub.r, sub.load));
  for (const m of maps) rows.push(row('py-noop', `ProcessPoolExecutor × 2, map(chunksize=${m.chunk})`, n, m.r, m.load, m === best ? 'best map()' : ''));
  return rows;
}

/**
 * Loops of py_fns.busy for ~1 ms of CPU, and the CPU time of one call at that count (the least
 * of several): CPU time, not wall, so that a busy machine does not move the ideal.
 */
async function calibrate(python: string): Promise<{ loops: number; ms: number }> {
  const code = [
    'import sys, time',
    `sys.path.insert(0, ${JSON.stringify(join(repoRoot, 'test', 'bench'))})`,
    'import py_fns',
    'def t(loops):',
    '    best = 1e9',
    '    for _ in range(15):',
    '        t0 = time.process_time()',
    '        for _ in range(20): py_fns.busy(0, {"loops": loops})',
    '        best = min(best, (time.process_time() - t0) / 20)',
    '    return best',
    'loops = round(20000 * 1e-3 / t(20000))',
    'print(loops, t(loops) * 1000)',
  ].join('\n');
  const [loops, ms] = (await pythonOut(python, ['-c', code])).trim().split(' ').map(Number);
  return { loops: loops!, ms: ms! };
}

async function w2(python: string, dir: string): Promise<BenchRow[]> {
  const n = num('PY_W2_TASKS', 20_000);
  const cores = cpus().length >= 2 ? 2 : 1;
  const inputs = join(dir, 'py-w2.txt');
  writeFileSync(inputs, Array.from({ length: n }, (_, i) => `${i}\n`).join(''));
  const cal = await calibrate(python);
  const params = { loops: cal.loops };
  const ideal = (n * cal.ms) / 1000 / cores;
  // The work's share of all the CPU a run used says the same as % of ideal, whatever the load.
  const share = (r: Ran): string => `${((ideal / r.seconds) * 100).toFixed(1)}% of ideal (${ideal.toFixed(2)} s: ${n} × ${cal.ms.toFixed(3)} ms CPU / ${cores} cores), the work ${(((n * cal.ms) / 1000 / r.cpuS) * 100).toFixed(1)}% of the CPU used`;
  const rows: BenchRow[] = [];
  const e = await measured(() => shoalEmbedded(pythonArgs(python, 'busy', inputs, params), join(dir, 'py-w2-embedded.jsonl'), n));
  rows.push(row('py-w2', 'shoal run (embedded), 1 agent × 2 workers', n, e.r, e.load, share(e.r)));
  const sub = await measured(() => processPool(python, 'busy', inputs, params, 'submit', join(dir, 'py-w2-submit.jsonl'), n));
  rows.push(row('py-w2', 'ProcessPoolExecutor × 2, a future per record', n, sub.r, sub.load, share(sub.r)));
  for (const chunk of list('PY_W2_CHUNKS', '20')) {
    const m = await measured(() => processPool(python, 'busy', inputs, params, `map:${chunk}`, join(dir, `py-w2-map${chunk}.jsonl`), n));
    rows.push(row('py-w2', `ProcessPoolExecutor × 2, map(chunksize=${chunk})`, n, m.r, m.load, share(m.r)));
  }
  return rows;
}

/** A ratio as a signed percentage: 1.034 → "+3.4%". */
const pct = (x: number): string => `${x >= 1 ? '+' : ''}${((x - 1) * 100).toFixed(1)}%`;

async function rdkit(python: string, dir: string): Promise<BenchRow[]> {
  if (!(await hasRdkit(python))) {
    process.stderr.write(`py: ${python} has no RDKit (set PY_PYTHON to one that has): no rdkit rows\n`);
    return [];
  }
  const n = num('PY_RDKIT_TASKS', 1000);
  const smi = join(dir, 'py-rdkit.smi');
  await pythonOut(python, [join(repoRoot, 'test', 'bench', 'py_smiles.py'), String(n), smi]);
  const params = { seed: 42 };
  const e = await measured(() => shoalEmbedded(pythonArgs(python, 'mmff', smi, params), join(dir, 'py-rdkit-embedded.jsonl'), n));
  const maps: Array<{ chunk: number; r: Ran; load: string }> = [];
  for (const chunk of list('PY_RDKIT_CHUNKS', '1,10')) {
    maps.push({ chunk, ...(await measured(() => processPool(python, 'mmff', smi, params, `map:${chunk}`, join(dir, `py-rdkit-map${chunk}.jsonl`), n))) });
  }
  const best = maps.reduce((a, b) => (b.r.seconds < a.r.seconds ? b : a));
  const rows = [row('py-rdkit', 'shoal run (embedded), 1 agent × 2 workers', n, e.r, e.load, `${pct(e.r.seconds / best.r.seconds)} time, ${pct(e.r.cpuS / best.r.cpuS)} CPU against the best map() (chunksize ${best.chunk})`)];
  for (const m of maps) rows.push(row('py-rdkit', `ProcessPoolExecutor × 2, map(chunksize=${m.chunk})`, n, m.r, m.load, m === best ? 'best map()' : ''));
  return rows;
}

const PARTS: Record<string, (python: string, dir: string) => Promise<BenchRow[]>> = { noop, w2, rdkit };

export async function benchPy(dir: string): Promise<BenchRow[]> {
  const python = process.env.PY_PYTHON ?? (existsSync('/usr/bin/python3') && (await hasRdkit('/usr/bin/python3')) ? '/usr/bin/python3' : 'python3');
  const parts = (process.env.PY_PARTS ?? Object.keys(PARTS).join(',')).split(',');
  const rows: BenchRow[] = [];
  for (const p of parts) {
    const part = PARTS[p];
    if (!part) throw new Error(`PY_PARTS: '${p}' is not one of ${Object.keys(PARTS).join(', ')}`);
    process.stderr.write(`py: ${p}...\n`);
    rows.push(...(await part(python, dir)));
  }
  return rows;
}
