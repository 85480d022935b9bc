/**
 * W0's peer from the users' own world: the same no-op tasks through Python's
 * ProcessPoolExecutor, one future per task, rows written as JSON lines (python-pool.py). Timed
 * from spawning the interpreter to its exit, as shoal's embedded run is timed with its process.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '../helpers/paths.js';
import type { BenchRow } from './main.js';

export async function pythonPool(tasks: number, dir: string, workers = 2): Promise<BenchRow | null> {
  const out = join(dir, 'w0-python.jsonl');
  const t0 = performance.now();
  const code = await new Promise<number | null>((resolve) => {
    const child = spawn('python3', [join(repoRoot, 'test', 'bench', 'python-pool.py'), String(tasks), out, String(workers)], { stdio: ['ignore', 'ignore', 'inherit'] });
    child.on('error', () => resolve(null));
    child.on('exit', (c) => resolve(c));
  });
  if (code !== 0) {
    process.stderr.write(`w0: python3 ${code === null ? 'is not installed' : `exited ${code}`}: no ProcessPoolExecutor row\n`);
    return null;
  }
  const seconds = (performance.now() - t0) / 1000;
  return { workload: 'w0', mode: `python ProcessPoolExecutor × ${workers}, a future per task`, tasks, seconds: +seconds.toFixed(3), tasksPerSecond: Math.round(tasks / seconds), note: 'process start to exit' };
}
