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
import { Scheduler, type NewTask } from '../../coordinator/index.js';
import type { AgentInfo } from '../../protocol/index.js';

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

/** The heavy-tailed molecule sizes (rows per molecule) shared by W1 and W2. */
function sizes(): number[] {
  return (JSON.parse(readFileSync(join(repoRoot, 'test', 'bench', 'sizes.json'), 'utf8')) as { sizes: number[] }).sizes;
}

/** Adds makespan against the lower bound max(total work / cores, largest task). */
function withBound(row: BenchRow, taskMs: number[], cores: number): BenchRow {
  const total = taskMs.reduce((a, b) => a + b, 0) / 1000;
  const bound = Math.max(total / cores, Math.max(...taskMs) / 1000);
  const ratio = row.seconds / bound;
  return { ...row, note: `makespan/bound ${ratio.toFixed(3)} (bound ${bound.toFixed(2)} s), utilization ${((total / cores / row.seconds) * 100).toFixed(1)}%` };
}

const WORKLOADS: Record<string, (dir: string) => Promise<BenchRow[]>> = {
  /** W0: 106,778 no-op tasks end to end into the JSONL. */
  w0: async (dir) => {
    const args = ['spin', '--tasks', '106778', '--ms', '0'];
    return [await embedded('w0', args, dir), await overNats('w0', args, dir, 1), await overNats('w0', args, dir, 2)];
  },
  /** W1: 1,000 molecule-like tasks, heavy-tailed sizes scaled to 20,000 rows in all, 1 ms per row. */
  w1: async (dir) => {
    const all = sizes();
    const scale = 20_000 / all.reduce((a, b) => a + b, 0);
    const factors = all.map((n) => +(n * scale).toFixed(4));
    const file = join(dir, 'w1-sizes.json');
    writeFileSync(file, JSON.stringify(factors));
    const args = ['spin', '--sizes', file, '--ms', '1'];
    const ms = factors.map((f) => f * 1);
    return [withBound(await embedded('w1', args, dir), ms, 2), withBound(await overNats('w1', args, dir, 1), ms, 2), withBound(await overNats('w1', args, dir, 2), ms, 2)];
  },
  /** W2: the first 20,000 rows as one task per row, one task per molecule, and per row without batching. */
  w2: async (dir) => {
    const all = sizes();
    const mols: number[] = [];
    let rows = 0;
    for (const n of all) {
      if (rows >= 20_000) break;
      mols.push(Math.min(n, 20_000 - rows));
      rows += mols[mols.length - 1]!;
    }
    const molFile = join(dir, 'w2-molecules.json');
    writeFileSync(molFile, JSON.stringify(mols));
    const out: BenchRow[] = [];
    const perRow = Array.from({ length: 20_000 }, () => 1);
    const r1 = await overNats('w2', ['spin', '--tasks', '20000', '--ms', '1'], dir, 1);
    out.push(withBound({ ...r1, mode: `${r1.mode}, row tasks, auto` }, perRow, 2));
    const r2 = await overNats('w2', ['spin', '--sizes', molFile, '--ms', '1'], dir, 1);
    out.push(withBound({ ...r2, mode: `${r2.mode}, molecule tasks, auto` }, mols, 2));
    const r3 = await overNats('w2', ['spin', '--tasks', '20000', '--ms', '1', '--granularity', 'task'], dir, 1);
    out.push(withBound({ ...r3, mode: `${r3.mode}, row tasks, one per dispatch` }, perRow, 2));
    return out;
  },
  /** The scheduling core alone: 10,000 simulated agents × 32 slots, task transitions per second. */
  scale: async () => [coreScale()],
};

function coreScale(): BenchRow {
  const s = new Scheduler({ speculate: false, agentTimeoutMs: 1e12 });
  const N = 1_000_000;
  const tasks: NewTask[] = Array.from({ length: N }, (_, i) => ({ id: `t${i}`, cost: 1 + (i % 7), ref: null }));
  s.submit({ job: 'J', kind: 'spin', params: {} }, tasks, new Map(), { granularity: 4, needsCommand: false, builtin: true }, 0);
  const info = (slots: number): AgentInfo => ({ host: 'h', pid: 1, slots, cpus: { logical: slots, physical: slots, usable: slots }, memory: { total: 2 ** 36, available: 2 ** 36, limit: 2 ** 36 }, spot: false, allowCommand: false, kinds: [] });
  const agents = Array.from({ length: 10_000 }, (_, i) => ({ id: `a${i}`, ...s.hello(`a${i}`, info(32), [], 0) }));
  let now = 1;
  let transitions = 0;
  const t0 = performance.now();
  while (s.jobState('J') === 'running') {
    now++;
    for (const a of agents) {
      for (const c of s.pull(a.id, { epoch: a.epoch, seq: a.seq, want: 32, freeSlots: 32, memory: 2 ** 36, waitMs: 0, reports: [] }, a, now)) {
        if (c.kind !== 'reply-pull') continue;
        a.seq = c.seq;
        const ids = c.bundles.flatMap((b) => b.tasks.map((t) => t.id));
        if (ids.length === 0) continue;
        transitions += ids.length * 2;
        s.committed({ job: 'J', from: a.id, ids, status: 'o'.repeat(ids.length), attempts: ids.map(() => 1), ms: ids.map(() => 1) }, now);
      }
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  return { workload: 'scale', mode: 'core only, 10,000 agents × 32 slots (submit not timed)', tasks: N, seconds: +seconds.toFixed(3), tasksPerSecond: Math.round(N / seconds), note: `${Math.round(transitions / seconds).toLocaleString('en')} task transitions/s` };
}

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
  const head = ['workload', 'mode', 'tasks', 'seconds', 'tasks/s', 'note'];
  const cells = [head, ...rows.map((r) => [r.workload, r.mode, String(r.tasks), r.seconds.toFixed(2), String(r.tasksPerSecond), r.note ?? ''])];
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
