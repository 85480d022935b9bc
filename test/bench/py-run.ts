/**
 * How the `py` bench (py.ts) starts each side and times it from process start to exit: shoal
 * embedded (`shoal run python`), shoal over NATS (a nats-server, a coordinator and agents
 * started and joined first, then `shoal submit --wait` timed), and py_pool.py. Each process
 * runs under py_cpu.py, which times it and counts the CPU of all it starts. Every run writes a
 * JSONL file and must hold one line per task.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startNatsServer } from '../../src/nats-server.js';
import { cliPath, repoRoot } from '../helpers/paths.js';
import { until } from '../helpers/wait.js';
import { spawned } from './spawned.js';

/** One process run to its end: wall seconds from its start to its exit, its stdout, the end of its stderr. */
export interface Ran {
  seconds: number;
  stdout: string;
  stderr: string;
  /**
   * CPU seconds (user + system) of the process and everything it started, every thread,
   * interpreters and a pool's workers included (py_cpu.py): unlike wall time, hardly moved by
   * what else runs on the machine.
   */
  cpuS: number;
}

interface Started {
  /** The py_cpu.py wrapper's pid (the command is its child). */
  pid: number;
  done: Promise<Ran & { code: number | null }>;
  kill(): void;
}

/** With PY_PROFILE=DIR every shoal process writes V8 CPU profiles (main thread and workers) there (node refuses --cpu-prof in NODE_OPTIONS). */
function profileArgs(): string[] {
  const dir = process.env.PY_PROFILE;
  return dir ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : [];
}

/** A process's parent, and its own CPU and that of the children it waited for (seconds), from /proc/PID/stat; null once it has gone. */
function procStat(pid: string): { ppid: string; own: number; children: number } | null {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    // Fields 4 (ppid) and 14-17 (utime, stime, cutime, cstime, in ticks of 10 ms) are 1 and 11-14 after the command name.
    return { ppid: f[1]!, own: (Number(f[11]) + Number(f[12])) / 100, children: (Number(f[13]) + Number(f[14])) / 100 };
  } catch {
    return null;
  }
}

/** CPU seconds so far of everything below the `roots` (py_cpu.py wrappers): what they waited for, and each live descendant. */
function treeCpuS(roots: number[]): number {
  const stats = new Map<string, NonNullable<ReturnType<typeof procStat>>>();
  for (const e of readdirSync('/proc')) {
    const st = /^\d+$/.test(e) ? procStat(e) : null;
    if (st) stats.set(e, st);
  }
  const rootIds = new Set(roots.map(String));
  const under = (pid: string): boolean => {
    for (let p = stats.get(pid)?.ppid; p !== undefined && p !== '0'; p = stats.get(p)?.ppid) if (rootIds.has(p)) return true;
    return false;
  };
  let cpu = 0;
  for (const [pid, st] of stats) {
    if (rootIds.has(pid)) cpu += st.children;
    else if (under(pid)) cpu += st.own + st.children;
  }
  return cpu;
}

let runs = 0;

/** Starts `cmd` under py_cpu.py, which times it and counts the CPU of all it starts. */
function start(cmd: string, args: string[]): Started {
  const report = join(tmpdir(), `shoal-py-cpu-${process.pid}-${runs++}.json`);
  const p = spawned(spawn('python3', [join(repoRoot, 'test', 'bench', 'py_cpu.py'), report, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'] }));
  return {
    pid: p.pid,
    done: p.done.then(({ code, stdout, stderr }) => {
      if (code === null) return { code, seconds: 0, stdout, stderr, cpuS: 0 };
      try {
        const m = JSON.parse(readFileSync(report, 'utf8')) as { seconds: number; cpu: number };
        rmSync(report);
        return { code, seconds: m.seconds, stdout, stderr, cpuS: m.cpu };
      } catch (err) {
        return { code: code === 0 ? null : code, seconds: 0, stdout, stderr: `${stderr}\npy_cpu.py wrote no report: ${(err as Error).message}`, cpuS: 0 };
      }
    }),
    kill: p.kill,
  };
}

const shoal = (args: string[]): Started => start(process.execPath, [...profileArgs(), cliPath, ...args]);

async function ok(what: string, s: Started): Promise<Ran> {
  const r = await s.done;
  if (r.code !== 0) throw new Error(`py: ${what} exited ${r.code}: ${r.stderr.slice(-4000)}`);
  return r;
}

/** Fails unless `path` holds `tasks` lines. */
export function checkLines(what: string, path: string, tasks: number): void {
  const text = readFileSync(path, 'utf8');
  let lines = 0;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) lines++;
  if (lines !== tasks) throw new Error(`py: ${what} wrote ${lines} lines to ${path}, expected ${tasks}`);
}

/** The kind's arguments for one function of py_fns.py over `inputs`. */
export function pythonArgs(python: string, fn: string, inputs: string, params: object): string[] {
  return ['python', '--fn', `${join(repoRoot, 'test', 'bench', 'py_fns.py')}:${fn}`, '--inputs', inputs, '--python', python, '--params', JSON.stringify(params)];
}

/** `shoal run python ...` with one agent of `workers` worker threads. */
export async function shoalEmbedded(kindArgs: string[], out: string, tasks: number, workers = 2): Promise<Ran> {
  const r = await ok('shoal run', shoal(['run', ...kindArgs, '--workers', String(workers), '--oversubscribe', '--out', out, '--json']));
  checkLines('shoal run', out, tasks);
  return r;
}

/** A coordinator and `agents` agents of 2 / agents workers over a fresh nats-server; only `submit --wait` is timed (its CPU: the submit's, and the coordinator's and agents' from the submit to their exit). */
export async function shoalOverNats(kindArgs: string[], dir: string, job: string, tasks: number, agents: number): Promise<Ran> {
  const server = await startNatsServer();
  const conn = ['--nats', server.url, '--ns', `py${Date.now().toString(36)}`];
  const coordinator = shoal(['coordinator', ...conn, '--out-dir', dir, '--log-level', 'warn']);
  const workers = String(Math.max(1, 2 / agents));
  const ags = Array.from({ length: agents }, () => shoal(['agent', ...conn, '--workers', workers, '--allow-command', '--log-level', 'warn']));
  let stopped: Promise<unknown> | null = null;
  const stop = (): Promise<unknown> => {
    if (!stopped) {
      for (const a of ags) a.kill();
      coordinator.kill();
      stopped = Promise.all([coordinator.done, ...ags.map((a) => a.done)]);
    }
    return stopped;
  };
  try {
    await until('the coordinator to answer with every agent joined', async () => {
      const st = await shoal(['status', ...conn, '--json']).done;
      return st.code === 0 && (JSON.parse(st.stdout) as { agents: unknown[] }).agents.length === agents;
    });
    const before = treeCpuS([coordinator.pid, ...ags.map((a) => a.pid)]);
    const r = await ok('shoal submit', shoal(['submit', ...kindArgs, ...conn, '--job', job, '--wait', '--json']));
    checkLines('shoal submit', join(dir, `${job}.jsonl`), tasks);
    const ran = (await stop()) as Ran[];
    return { ...r, cpuS: r.cpuS + ran.reduce((a, x) => a + x.cpuS, 0) - before };
  } finally {
    await stop();
    await server.stop();
  }
}

/** py_pool.py: `mode` is `submit` (a future per record) or `map:N` (pool.map, chunksize N). */
export async function processPool(python: string, fn: string, inputs: string, params: object, mode: string, out: string, tasks: number, workers = 2): Promise<Ran> {
  const script = join(repoRoot, 'test', 'bench', 'py_pool.py');
  const r = await ok(`py_pool.py ${fn} ${mode}`, start(python, [script, fn, inputs, JSON.stringify(params), String(workers), mode, out]));
  checkLines(`py_pool.py ${fn} ${mode}`, out, tasks);
  return r;
}

/** Runs a Python snippet with `python` and returns its stdout. */
export async function pythonOut(python: string, args: string[]): Promise<string> {
  return (await ok(`${python} ${args[0] ?? ''}`, start(python, args))).stdout;
}
