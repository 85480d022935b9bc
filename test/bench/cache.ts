/**
 * The result cache (`--cache DIR`): W1 (1,000 heavy-tailed spin tasks, 20,000 ms of work) run
 * without a cache, with an empty one (every task a miss, every ok row stored), and again fully
 * cached. Rows/s of the cached run are its rows over the lookup-and-write time the coordinator
 * logs ('cache looked up', `ms`: keys, reads and the hits' rows durable in the JSONL); the
 * overhead is the uncached run's wall time with an empty cache against without one, and the
 * cache's own work on the coordinator's thread (the lookups' `ms`, the stores' `storeMs` in the
 * log) against the CPU of all threads of the run without it (thread-cpu.ts). A floor
 * under the cached rows/s is measured beside them (cache-floor.ts: only a key, a lookup and a row
 * per task in a fresh process).
 * CACHE_CONF=1 adds the 1,000-molecule conformers set (minutes per uncached run).
 */
import { spawn } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../helpers/paths.js';
import { writeSyntheticSet } from './synthetic-sdf.js';
import type { ThreadCpu } from './thread-cpu.js';
import { spawned } from './spawned.js';

export interface CacheBenchRow {
  workload: string;
  mode: string;
  tasks: number;
  seconds: number;
  tasksPerSecond: number;
  note: string;
}

/** One `shoal run`: its wall time, its log, and the CPU of all its threads while its workers ran (thread-cpu.ts; 0 where not measured). */
async function runWall(args: string[]): Promise<{ seconds: number; stderr: string; cpuMs: number }> {
  const cpuFile = join(tmpdir(), `shoal-cache-bench-${process.pid}-${runs++}.cpu.json`);
  const env = { ...process.env, THREAD_CPU_OUT: cpuFile, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import ${new URL('./thread-cpu.js', import.meta.url).href}`.trim() };
  const t0 = performance.now();
  // The whole log, not a tail: its lines with the cache's figures come first and last.
  let stderr = '';
  const p = spawn(process.execPath, [join(repoRoot, 'dist', 'bundle', 'main.js'), 'run', ...args, '--workers', '2', '--oversubscribe', '--log-level', 'info'], { stdio: ['ignore', 'ignore', 'pipe'], env });
  p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((r) => p.on('exit', r));
  if (code !== 0) throw new Error(`shoal run ${args.join(' ')} failed (${code}): ${stderr}`);
  let cpuMs = 0;
  try {
    const c = JSON.parse(readFileSync(cpuFile, 'utf8')) as ThreadCpu;
    cpuMs = c.mainMs + c.workersMs + c.otherMs;
    rmSync(cpuFile, { force: true });
    rmSync(`${cpuFile}.tids`, { force: true });
  } catch {
    // Not Linux: the overhead is said by wall time only.
  }
  return { seconds: (performance.now() - t0) / 1000, stderr, cpuMs };
}
let runs = 0;

/** A field of the first log line with this message. */
function logged(stderr: string, msg: string, field: string): number | undefined {
  for (const l of stderr.split('\n')) {
    if (!l.includes(`"msg":"${msg}"`)) continue;
    const v = (JSON.parse(l) as Record<string, unknown>)[field];
    return typeof v === 'number' ? v : undefined;
  }
  return undefined;
}

/** The floor under a cached re-run of `output`'s rows (cache-floor.ts), in a fresh process. */
async function floorMs(output: string, dest: string): Promise<{ rows: number; ms: number; loopMs: number; writeMs: number }> {
  const r = await spawned(spawn(process.execPath, [join(repoRoot, 'dist', 'test', 'bench', 'cache-floor.js'), output, dest], { stdio: ['ignore', 'pipe', 'pipe'] })).done;
  if (r.code !== 0) throw new Error(`cache-floor failed (${r.code}): ${r.stderr}`);
  return JSON.parse(r.stdout) as { rows: number; ms: number; loopMs: number; writeMs: number };
}

async function threeRuns(name: string, args: string[], dir: string, rows: number): Promise<CacheBenchRow[]> {
  const cache = join(dir, `${name}-cache`);
  const plain = await runWall([...args, '--out', join(dir, `${name}-plain.jsonl`)]);
  const cold = await runWall([...args, '--out', join(dir, `${name}-cold.jsonl`), '--cache', cache]);
  const warm = await runWall([...args, '--out', join(dir, `${name}-warm.jsonl`), '--cache', cache]);
  const w = { ms: logged(warm.stderr, 'cache looked up', 'ms'), hits: logged(warm.stderr, 'cache looked up', 'hits') };
  if (w.ms === undefined) throw new Error(`no 'cache looked up' line: ${warm.stderr}`);
  const floor = await floorMs(join(dir, `${name}-cold.jsonl`), join(dir, `${name}-floor.jsonl`));
  const overhead = ((cold.seconds / plain.seconds - 1) * 100).toFixed(1);
  // The cache's own work on the coordinator's thread (its lookups and its stores) against the
  // CPU of the run without it: what wall times this close cannot resolve on a busy machine.
  const own = (logged(cold.stderr, 'cache looked up', 'ms') ?? 0) + (logged(cold.stderr, 'cache use', 'storeMs') ?? 0);
  const byCpu = plain.cpuMs > 0 ? `; its own work ${own.toFixed(0)} ms on the coordinator's thread, ${((own / plain.cpuMs) * 100).toFixed(1)}% of the ${(plain.cpuMs / 1000).toFixed(1)} s of CPU of the run without it` : '';
  return [
    { workload: `cache-${name}`, mode: 'no --cache, process start to exit', tasks: rows, seconds: +plain.seconds.toFixed(3), tasksPerSecond: Math.round(rows / plain.seconds), note: '' },
    { workload: `cache-${name}`, mode: 'empty cache: all miss, rows stored', tasks: rows, seconds: +cold.seconds.toFixed(3), tasksPerSecond: Math.round(rows / cold.seconds), note: `overhead ${overhead}% of the run without --cache (goal <= 2%)${byCpu}` },
    { workload: `cache-${name}`, mode: 'fully cached re-run, lookups + rows durable', tasks: rows, seconds: +(w.ms / 1000).toFixed(4), tasksPerSecond: Math.round(rows / (w.ms / 1000)), note: `${w.hits} hits; process start to exit ${warm.seconds.toFixed(2)} s (goal >= 200,000 rows/s)` },
    { workload: `cache-${name}`, mode: 'floor: a fresh process that only keys, finds and writes the rows', tasks: floor.rows, seconds: +(floor.ms / 1000).toFixed(4), tasksPerSecond: Math.round(floor.rows / (floor.ms / 1000)), note: `a sha256, a Map lookup and a row per task (${floor.loopMs} ms), one write and fdatasync (${floor.writeMs} ms; cache-floor.ts)` },
  ];
}

export async function benchCache(dir: string): Promise<CacheBenchRow[]> {
  const all = (JSON.parse(readFileSync(join(repoRoot, 'test', 'bench', 'sizes.json'), 'utf8')) as { sizes: number[] }).sizes;
  const scale = 20_000 / all.reduce((a, b) => a + b, 0);
  const file = join(dir, 'cache-w1-sizes.json');
  writeFileSync(file, JSON.stringify(all.map((n) => +(n * scale).toFixed(4))));
  const out = await threeRuns('w1', ['spin', '--sizes', file, '--ms', '1'], dir, all.length);
  if (process.env.CACHE_CONF === '1') {
    const set = await writeSyntheticSet(join(dir, 'cache-ref.sdf'), join(dir, 'cache-gen.sdf'), all, (_k, n) => n, 16);
    out.push(...(await threeRuns('conf', ['conformers', '--ref', set.refPath, '--gen', set.genPath], dir, all.length)));
  }
  return out;
}
