/**
 * How long the CLI takes from start to exit for the commands people type most: `shoal --help`,
 * an embedded `shoal run spin --tasks 1` (coordinator, sink and agent in one process, no
 * NATS server) and `shoal status` against a running coordinator. Each is started N times, one
 * after the other, from the shipped bundle and from tsc's one file per module, taking turns;
 * the row gives the median, the note the spread and, for scale on a busy machine, the median
 * of a bare `node -e 0`.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { startNatsServer } from '../../src/nats-server.js';
import { cliModulesPath, cliPath } from '../helpers/paths.js';
import { until } from '../helpers/wait.js';
import type { BenchRow } from './main.js';

/** Runs `node args` to its end; its wall time in seconds, or an error with its output. */
function timed(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ seconds: number; code: number | null; output: string }> {
  const t0 = performance.now();
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
  child.stderr.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => resolve({ seconds: (performance.now() - t0) / 1000, code, output }));
  });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * `n` runs of one command line (`args(cli, i)` for the i-th) with each build of the CLI, the
 * builds taking turns so that a busy machine slows both alike; every run must exit 0.
 */
async function sample(what: string, n: number, args: (cli: string, i: number) => string[], env?: NodeJS.ProcessEnv, builds = BUILDS): Promise<Map<string, number[]>> {
  const out = new Map<string, number[]>(builds.map(([name]) => [name, []]));
  for (let i = 0; i < n; i++) {
    for (const [name, cli] of builds) {
      const r = await timed(args(cli, i), env);
      if (r.code !== 0) throw new Error(`startup: ${what} (${name}) exited ${r.code}: ${r.output}`);
      out.get(name)!.push(r.seconds);
    }
  }
  return out;
}

/** The shipped bundle, and tsc's one file per module (what the CLI was before the bundle). */
const BUILDS: [string, string][] = [
  ['bundle', cliPath],
  ['modules', cliModulesPath],
];

function row(mode: string, times: number[], baseline: number): BenchRow {
  const m = median(times);
  const ms = (s: number): string => `${Math.round(s * 1000)} ms`;
  return {
    workload: 'startup',
    mode,
    tasks: times.length,
    seconds: +m.toFixed(3),
    tasksPerSecond: Math.round(1 / m),
    note: `median of ${times.length} runs (min ${ms(Math.min(...times))}, max ${ms(Math.max(...times))}); node -e 0: ${ms(baseline)}`,
  };
}

/** One row per build for a sample. */
function rows(mode: string, times: Map<string, number[]>, baseline: number): BenchRow[] {
  return [...times].map(([build, t]) => row(`${mode}, ${build}`, t, baseline));
}

export async function benchStartup(dir: string, n = 10): Promise<BenchRow[]> {
  let baseline = 0;
  {
    const t: number[] = [];
    for (let i = 0; i < n; i++) t.push((await timed(['-e', '0'])).seconds);
    baseline = median(t);
  }
  const out = rows('shoal --help', await sample('shoal --help', n, (cli) => [cli, '--help']), baseline);
  out.push(...rows('shoal run spin --tasks 1 (embedded)', await sample('shoal run spin', n, (cli, i) => [cli, 'run', 'spin', '--tasks', '1', '--out', join(dir, `startup-${i}-${cli === cliPath ? 'b' : 'm'}.jsonl`)]), baseline));
  // NODE_EXTRA_CA_CERTS makes Node read that CA bundle at every start (some 45 ms on the test
  // machine, whose environment sets it): the same run without it, for a machine that does not.
  if (process.env.NODE_EXTRA_CA_CERTS) {
    const env = { ...process.env };
    delete env.NODE_EXTRA_CA_CERTS;
    const t: number[] = [];
    for (let i = 0; i < n; i++) t.push((await timed(['-e', '0'], env)).seconds);
    const bare = await sample('shoal run spin, no NODE_EXTRA_CA_CERTS', n, (cli, i) => [cli, 'run', 'spin', '--tasks', '1', '--out', join(dir, `startup-bare-${i}.jsonl`)], env, [BUILDS[0]!]);
    out.push(...rows('shoal run spin --tasks 1 (embedded), without NODE_EXTRA_CA_CERTS', bare, median(t)));
  }

  const server = await startNatsServer();
  const conn = ['--nats', server.url, '--ns', 'startup'];
  const coordinator = spawn(process.execPath, [cliPath, 'coordinator', ...conn, '--out-dir', dir, '--log-level', 'warn'], { stdio: 'ignore' });
  try {
    await until('the coordinator to answer status', async () => (await timed([cliPath, 'status', ...conn])).code === 0);
    out.push(...rows('shoal status (coordinator over NATS)', await sample('shoal status', n, (cli) => [cli, 'status', ...conn]), baseline));
  } finally {
    if (coordinator.exitCode === null && coordinator.signalCode === null) {
      const exited = new Promise((r) => coordinator.once('exit', r));
      coordinator.kill('SIGTERM');
      await exited;
    }
    await server.stop();
  }
  return out;
}
