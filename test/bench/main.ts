/**
 * `npm run bench`: end-to-end throughput and other figures, printed as a table and written
 * to bench-results/<date>.json. Never part of the tests: speed is measured here, not asserted.
 *
 *   npm run bench                 every workload
 *   npm run bench -- w0           only the named ones
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { cliPath, repoRoot } from '../helpers/paths.js';
import { startNatsServer } from '../../src/nats-server.js';

export interface BenchRow {
  workload: string;
  mode: string;
  tasks: number;
  seconds: number;
  tasksPerSecond: number;
  note?: string;
}

function shoal(args: string[], env: NodeJS.ProcessEnv = {}): { done: Promise<{ code: number | null; stdout: string; stderr: string }>; kill(): void } {
  const child = spawn(process.execPath, [cliPath, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-20000)));
  return {
    done: new Promise((r) => child.on('exit', (code) => r({ code, stdout, stderr }))),
    kill: () => child.kill('SIGTERM'),
  };
}

interface FinalStatus {
  total: number;
  done: number;
  failed: number;
  startedAt: number;
  endedAt: number;
}

function fromFinal(workload: string, mode: string, st: FinalStatus, note?: string): BenchRow {
  const seconds = (st.endedAt - st.startedAt) / 1000;
  return { workload, mode, tasks: st.done, seconds: +seconds.toFixed(3), tasksPerSecond: Math.round(st.done / seconds), ...(note ? { note } : {}) };
}

async function embedded(workload: string, kindArgs: string[], dir: string): Promise<BenchRow> {
  const r = await shoal(['run', ...kindArgs, '--workers', '2', '--out', join(dir, `${workload}-embedded.jsonl`), '--json']).done;
  if (r.code !== 0) throw new Error(`${workload} embedded failed (${r.code}): ${r.stderr}`);
  return fromFinal(workload, 'embedded, 1 agent × 2 workers', JSON.parse(r.stdout.trim().split('\n').pop()!));
}

async function overNats(workload: string, kindArgs: string[], dir: string, agents: number): Promise<BenchRow> {
  const server = await startNatsServer();
  const ns = `bench${Date.now().toString(36)}`;
  const common = ['--nats', server.url, '--ns', ns];
  const coord = shoal(['coordinator', ...common, '--out-dir', dir, '--log-level', 'warn']);
  const workers = String(Math.max(1, 2 / agents));
  const ags = Array.from({ length: agents }, () => shoal(['agent', ...common, '--workers', workers, '--log-level', 'warn']));
  try {
    const r = await shoal(['submit', ...kindArgs, ...common, '--job', `${workload}-nats${agents}`, '--wait', '--json']).done;
    if (r.code !== 0) throw new Error(`${workload} over NATS failed (${r.code}): ${r.stderr}`);
    return fromFinal(workload, `NATS, ${agents} agent${agents > 1 ? 's' : ''} × ${workers} workers`, JSON.parse(r.stdout.trim().split('\n').pop()!));
  } finally {
    for (const a of ags) a.kill();
    coord.kill();
    await Promise.all([coord.done, ...ags.map((a) => a.done)]);
    await server.stop();
  }
}

const WORKLOADS: Record<string, (dir: string) => Promise<BenchRow[]>> = {
  /** W0: 106,778 no-op tasks end to end into the JSONL. */
  w0: async (dir) => {
    const args = ['spin', '--tasks', '106778', '--ms', '0'];
    return [await embedded('w0', args, dir), await overNats('w0', args, dir, 1), await overNats('w0', args, dir, 2)];
  },
};

async function main(): Promise<void> {
  const only = process.argv.slice(2).map((s) => s.toLowerCase());
  const names = Object.keys(WORKLOADS).filter((n) => only.length === 0 || only.includes(n));
  const dir = mkdtempSync(join(tmpdir(), 'shoal-bench-'));
  const rows: BenchRow[] = [];
  try {
    for (const n of names) {
      process.stderr.write(`running ${n}...\n`);
      rows.push(...(await WORKLOADS[n]!(dir)));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const head = ['workload', 'mode', 'tasks', 'seconds', 'tasks/s'];
  const cells = [head, ...rows.map((r) => [r.workload, r.mode, String(r.tasks), r.seconds.toFixed(2), String(r.tasksPerSecond)])];
  const w = head.map((_, i) => Math.max(...cells.map((c) => c[i]!.length)));
  for (const c of cells) console.log(c.map((x, i) => x.padEnd(w[i]!)).join('  '));
  const outDir = join(repoRoot, 'bench-results');
  mkdirSync(outDir, { recursive: true });
  const file = join(outDir, `bench-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string };
  writeFileSync(file, JSON.stringify({ date: new Date().toISOString(), shoal: pkg.version, machine: { cpus: cpus().length, cpu: cpus()[0]?.model, memoryGB: +(totalmem() / 2 ** 30).toFixed(1), node: process.version }, rows }, null, 2) + '\n');
  console.log(`\nwritten ${file}`);
}

await main();
