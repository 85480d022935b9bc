/**
 * `npm run bench`: end-to-end throughput and other figures, printed as a table and written
 * to bench-results/<date>.json. Never part of the tests: speed is measured here, not asserted.
 *
 *   npm run bench                 every workload
 *   npm run bench -- w0           only the named ones
 *   FLEET_AGENTS=10,100 npm run bench -- fleet    a part of the fleet (see fleet.ts)
 *   BIG_TASKS=1000000 npm run bench -- big         smaller jobs of millions (see big.ts)
 *   RECORDS_LINES=10000000 npm run bench -- records  index ten million records (see records.ts)
 *   PY_RDKIT_TASKS=5000 npm run bench -- py         the python kind at the goal's RDKit size (see py.ts)
 *   PIPE_RUNS=2 npm run bench -- pipe                two stages streamed, run in turn, and as one job, twice (see pipe.ts)
 *   SUBMIT_GB=4 npm run bench -- submit            a submit of a 4 GB inputs file (see submit.ts)
 *   EXPORT_ROWS=10000000 npm run bench -- export    export ten million rows (see export.ts)
 */
import { benchCache } from './cache.js';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { cliPath, repoRoot } from '../helpers/paths.js';
import { startNatsServer } from '../../src/nats-server.js';
import { Scheduler, type NewTask } from '../../coordinator/index.js';
import { agentInfo } from '../helpers/sched.js';
import { rmsdMatrix } from '../../src/kinds/conformers/rmsd-qcp.js';
import { readRows } from '../../src/sink/index.js';
import { writeSyntheticSet } from './synthetic-sdf.js';
import { benchCat, benchFrames, benchZeno, writeSyntheticTrajectory } from '../../src/kinds/frames/bench.js';
import type { ThreadCpu } from './thread-cpu.js';
import { benchSink } from './sink.js';
import { benchFleet } from './fleet.js';
import { benchStartup } from './startup.js';
import { pythonPool } from './python-pool.js';
import { benchBig } from './big.js';
import { benchRecords } from './records.js';
import { benchPy } from './py.js';
import { benchPipe } from './pipe.js';
import { benchSubmit } from './submit.js';
import { benchExport } from './export.js';
import { sleep, until } from '../helpers/wait.js';
import { spawned, type Spawned } from './spawned.js';

export interface BenchRow {
  workload: string;
  mode: string;
  tasks: number;
  seconds: number;
  tasksPerSecond: number;
  note?: string;
  /** CPU per thread of an embedded run (Linux), over the time the workers ran tasks. */
  threadCpu?: ThreadCpu;
}

function shoal(args: string[], env: NodeJS.ProcessEnv = {}): Spawned {
  return spawned(spawn(process.execPath, [cliPath, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] }));
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

let lastPid = 0;

async function embedded(workload: string, kindArgs: string[], dir: string, out = join(dir, `${workload}-embedded.jsonl`), workers = 2): Promise<BenchRow> {
  // Per-thread CPU (thread-cpu.ts): how much of the cores the main thread takes from the workers.
  const cpuFile = `${out}.cpu.json`;
  const env = { THREAD_CPU_OUT: cpuFile, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import ${new URL('./thread-cpu.js', import.meta.url).href}`.trim() };
  const p = shoal(['run', ...kindArgs, '--workers', String(workers), '--oversubscribe', '--out', out, '--json'], env);
  lastPid = p.pid;
  const r = await p.done;
  if (r.code !== 0) throw new Error(`${workload} embedded failed (${r.code}): ${r.stderr}`);
  const row = fromFinal(workload, `embedded, 1 agent × ${workers} workers`, JSON.parse(r.stdout.trim().split('\n').pop()!));
  try {
    return { ...row, threadCpu: JSON.parse(readFileSync(cpuFile, 'utf8')) as ThreadCpu };
  } catch {
    return row; // not Linux, or the workers never ran
  }
}

/** The note column: the row's note and, for embedded runs, the main thread's CPU per item. */
function noteOf(r: BenchRow): string {
  const c = r.threadCpu;
  const cpu = c ? `main thread ${((c.mainMs * 1000) / r.tasks).toFixed(1)} µs/item (${(c.mainMs / 1000 / c.wallS * 100).toFixed(1)}% of a core), helpers ${(c.otherMs / 1000 / c.wallS * 100).toFixed(1)}%` : '';
  return [r.note, cpu].filter(Boolean).join('; ');
}

/** Runs `fn` (which starts one shoal process) and samples that process's peak RSS (VmHWM). */
async function withPeakRss(fn: () => Promise<BenchRow>): Promise<{ row: BenchRow; peakRss: number }> {
  let peak = 0;
  const timer = setInterval(() => {
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${lastPid}/status`, 'utf8'));
      if (m) peak = Math.max(peak, Number(m[1]) * 1024);
    } catch {
      // The process has not started or has ended.
    }
  }, 50);
  try {
    const row = await fn();
    return { row, peakRss: peak };
  } finally {
    clearInterval(timer);
  }
}

/** Seconds of task time in a JSONL file (sum of end - start). */
async function busySeconds(path: string): Promise<number> {
  let ms = 0;
  for await (const r of readRows(path)) ms += Number(r.end) - Number(r.start);
  return ms / 1000;
}

function rmsdKernel(): BenchRow {
  const atoms = 30;
  const n = 300;
  const rand = (): number => Math.random() * 10 - 5;
  const a = Float64Array.from({ length: n * atoms * 3 }, rand);
  const b = Float64Array.from({ length: n * atoms * 3 }, rand);
  const out = new Float64Array(n * n);
  rmsdMatrix(a, b, atoms, out); // warm up
  const t0 = performance.now();
  let pairs = 0;
  while (performance.now() - t0 < 2000) {
    rmsdMatrix(a, b, atoms, out);
    pairs += n * n;
  }
  const seconds = (performance.now() - t0) / 1000;
  return { workload: 'rmsd', mode: 'QCP kernel, 30 heavy atoms, 1 thread', tasks: pairs, seconds: +seconds.toFixed(3), tasksPerSecond: Math.round(pairs / seconds), note: `${(pairs / seconds / 1e6).toFixed(2)} M superpositions/s` };
}

/** `late`: one more agent of as many workers joins this many ms after the job is submitted. */
async function overNats(workload: string, kindArgs: string[], dir: string, agents: number, tag = '', late?: number): Promise<BenchRow> {
  const server = await startNatsServer();
  const ns = `bench${Date.now().toString(36)}`;
  const common = ['--nats', server.url, '--ns', ns];
  const coord = shoal(['coordinator', ...common, '--out-dir', dir, '--log-level', 'warn']);
  const workers = String(Math.max(1, 2 / (agents + (late === undefined ? 0 : 1))));
  const ags = Array.from({ length: agents }, () => shoal(['agent', ...common, '--workers', workers, '--log-level', 'warn']));
  try {
    await until('the coordinator to answer with every agent joined', async () => {
      const st = await shoal(['status', ...common, '--json']).done;
      return st.code === 0 && (JSON.parse(st.stdout) as { agents: unknown[] }).agents.length === agents;
    });
    const submitted = shoal(['submit', ...kindArgs, ...common, '--job', `${workload}${tag}-nats${agents}`, '--wait', '--json']).done;
    if (late !== undefined) {
      await sleep(late); // the spot agent joins this long after the submit, on purpose
      ags.push(shoal(['agent', ...common, '--workers', workers, '--log-level', 'warn']));
    }
    const r = await submitted;
    if (r.code !== 0) throw new Error(`${workload} over NATS failed (${r.code}): ${r.stderr}`);
    const joined = late === undefined ? '' : `, 1 more after ${late / 1000} s`;
    return fromFinal(workload, `NATS, ${agents} agent${agents > 1 ? 's' : ''} × ${workers} workers${joined}`, JSON.parse(r.stdout.trim().split('\n').pop()!));
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
    const t0 = performance.now();
    const e = await embedded('w0', args, dir);
    const wall = (performance.now() - t0) / 1000;
    const withStart: BenchRow = { ...e, mode: `${e.mode}, process start to exit`, seconds: +wall.toFixed(3), tasksPerSecond: Math.round(e.tasks / wall) };
    delete withStart.threadCpu;
    const py = await pythonPool(106_778, dir);
    if (py) py.note = `${py.note}; shoal embedded (start to exit) is ${(withStart.tasksPerSecond / py.tasksPerSecond).toFixed(1)}× as fast`;
    return [e, withStart, ...(py ? [py] : []), await overNats('w0', args, dir, 1), await overNats('w0', args, dir, 2)];
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
    const cases: Array<[string, string[], number[]]> = [
      ['row tasks, auto', ['spin', '--tasks', '20000', '--ms', '1'], perRow],
      ['molecule tasks, auto', ['spin', '--sizes', molFile, '--ms', '1'], mols],
      ['row tasks, one per dispatch', ['spin', '--tasks', '20000', '--ms', '1', '--granularity', 'task'], perRow],
    ];
    for (const [k, [label, args, ms]] of cases.entries()) {
      for (const run of [() => embedded('w2', args, dir, join(dir, `w2-${k}-embedded.jsonl`)), () => overNats('w2', args, dir, 1, `-${k}`), () => overNats('w2', args, dir, 2, `-${k}`)]) {
        const r = await run();
        out.push(withBound({ ...r, mode: `${r.mode}, ${label}` }, ms, 2));
      }
    }
    return out;
  },
  /**
   * A spot agent joining a running job: 6 tasks of 3 s on one 1-worker agent, a second joins
   * after 3 s. Without splitting the last task runs alone (12 s); split at the tail, the run
   * can end at the bound (18 s of work + 3 s before the join) / 2 slots = 10.5 s.
   */
  spot: async (dir) => {
    const out: BenchRow[] = [];
    for (const split of [false, true]) {
      const args = ['spin', '--tasks', '6', '--ms', '3000', ...(split ? ['--splittable'] : [])];
      const r = await overNats('spot', args, dir, 1, split ? '-split' : '', 3000);
      const bound = (18 + 3) / 2;
      out.push({ ...r, mode: `${r.mode}, ${split ? 'splittable' : 'not splittable'}`, note: `makespan/bound ${(r.seconds / bound).toFixed(3)} (bound ${bound} s)` });
    }
    return out;
  },
  /** The scheduling core alone: 10,000 simulated agents × 32 slots, task transitions per second. */
  scale: async () => [coreScale()],
  /** The result cache: W1 without a cache, with an empty one, fully cached (CACHE_CONF=1 adds the conformers set; see cache.ts). */
  cache: (dir) => benchCache(dir),
  /** The sink alone: W0's rows through group commit, with and without parsing them. */
  sink: (dir) => benchSink(dir),
  /** The coordinator and its sink under 10 to 1,000 simulated agents × 64 slots (FLEET_AGENTS=10,100 for fewer). */
  fleet: (dir) => benchFleet(dir),
  /** The CLI from start to exit: --help, an embedded run of one task, status. */
  startup: (dir) => benchStartup(dir),
  /** Jobs of millions of tasks: 10,000,000 queued, 1,000,000 run and resumed after a SIGKILL (BIG_TASKS=1000000 etc. for less; see big.ts). */
  big: (dir) => benchBig(dir),
  /** Inputs from files: indexing 1,000,000 records of .txt and .csv, time and peak RSS, and reading them back (RECORDS_LINES for another count). */
  records: (dir) => benchRecords(dir),
  /** Users' Python functions: no-op, 1 ms and RDKit records, shoal's python kind against a ProcessPoolExecutor (see py.ts). */
  py: (dir) => benchPy(dir),
  /** Two stages of 10,000 W1-sized tasks: streamed (--from), one after the other, and as one job (see pipe.ts). */
  pipe: (dir) => benchPipe(dir),
  /** A submit of a 1 GB inputs file: first (hashed), again unchanged (the record's hash), again after a touch (see submit.ts; SUBMIT_GB for another size). */
  submit: (dir) => benchSubmit(dir),
  /** `shoal export` to CSV of 1,000,000 rows, in task order and in completion order: time and peak RSS (see export.ts; EXPORT_ROWS for another count). */
  export: (dir) => benchExport(dir),
  /** The RMSD kernel: superpositions per second for 30 heavy atoms on one thread. */
  rmsd: async () => [rmsdKernel()],
  /** conformers on 1,000 synthetic molecules with the heavy-tailed sizes (106,778 reference conformers). */
  conf: async (dir) => {
    const refCounts = sizes();
    const set = await writeSyntheticSet(join(dir, 'conf-ref.sdf'), join(dir, 'conf-gen.sdf'), refCounts, (_k, n) => n, 16);
    const out = join(dir, 'conf.jsonl');
    const row = await embedded('conf', ['conformers', '--ref', set.refPath, '--gen', set.genPath], dir, out);
    const busy = await busySeconds(out);
    const ideal = busy / 2;
    return [{ ...row, note: `makespan/ideal ${(row.seconds / ideal).toFixed(3)} (ideal = busy ${busy.toFixed(1)} s / 2 cores)` }];
  },
  /**
   * conf's set with --symmetry (graph matching): generated atoms in the reference's order, in
   * one random order per molecule, and in one per conformer (a graph match per record). The
   * permuted runs must give the ordered run's summary, in about its time.
   */
  confsym: async (dir) => {
    const rows: BenchRow[] = [];
    let ordered: { seconds: number; cpu: number; figures: number[] } | undefined;
    for (const order of ['reference', 'per-molecule', 'per-conformer'] as const) {
      const set = await writeSyntheticSet(join(dir, 'confsym-ref.sdf'), join(dir, 'confsym-gen.sdf'), sizes(), (_k, n) => n, 16, 7, order);
      const out = join(dir, `confsym-${order}.jsonl`);
      let row: BenchRow;
      try {
        row = await embedded('confsym', ['conformers', '--ref', set.refPath, '--gen', set.genPath, '--symmetry'], dir, out);
      } catch (err) {
        rows.push({ workload: 'confsym', mode: `--symmetry, gen atoms in ${order} order`, tasks: 0, seconds: 0, tasksPerSecond: 0, note: `failed: ${String(err).split('\n')[0]!.slice(0, 160)}` });
        continue;
      }
      // Every figure of every molecule, in key order: the permuted runs must give the same.
      const s = JSON.parse(readFileSync(out.replace(/\.jsonl$/, '.summary.json'), 'utf8')) as { molecules: Record<string, { n_gen: number; metrics: Record<string, Record<string, number>> }> };
      const figures = Object.keys(s.molecules).sort().flatMap((k) => [s.molecules[k]!.n_gen, ...Object.values(s.molecules[k]!.metrics).flatMap((m) => Object.values(m))]);
      // The workers' CPU time: what the matching adds, less disturbed than wall time by other load.
      const cpu = (row.threadCpu?.workersMs ?? NaN) / 1000;
      let vs = '';
      if (ordered === undefined) {
        ordered = { seconds: row.seconds, cpu, figures };
      } else {
        const ref = ordered.figures;
        const diff = figures.length === ref.length ? Math.max(...figures.map((v, i) => Math.abs(v - ref[i]!))) : Infinity;
        vs = `; × the reference order: ${(row.seconds / ordered.seconds).toFixed(3)} wall, ${(cpu / ordered.cpu).toFixed(3)} worker CPU; figures within ${diff.toExponential(1)} of its`;
      }
      rows.push({ ...row, mode: `${row.mode}, --symmetry, gen atoms in ${order} order`, note: `worker CPU ${cpu.toFixed(1)} s${vs}` });
    }
    return rows;
  },
  /** rg+cog+rmsd on a 10,000-atom, 2,000-frame DCD on one thread, against `cat` of the same file. */
  frames: async (dir) => {
    const traj = writeSyntheticTrajectory(dir, 10_000, 2_000);
    const cat = await benchCat(traj.dcd);
    const f = await benchFrames(traj);
    return [
      {
        workload: 'frames',
        mode: `rg,cog,rmsd, 1 thread, ${(traj.bytes / 1e6).toFixed(0)} MB DCD`,
        tasks: f.frames,
        seconds: +f.seconds.toFixed(3),
        tasksPerSecond: Math.round(f.framesPerSecond),
        note: `${f.megabytesPerSecond.toFixed(0)} MB/s read; cat ${cat.megabytesPerSecond.toFixed(0)} MB/s`,
      },
    ];
  },
  /** zeno walks/s per thread on one 10,000-atom frame, and the speed-up of 2 threads over 1. */
  zeno: async (dir) => {
    const traj = writeSyntheticTrajectory(dir, 10_000, 2);
    await benchZeno(traj, 20_000, 2); // warm up (starts the helper thread)
    const one = await benchZeno(traj, 400_000, 1);
    const two = await benchZeno(traj, 400_000, 2);
    const row = (z: typeof one, note: string): BenchRow => ({ workload: 'zeno', mode: `1 frame of ${z.atoms} atoms, ${z.threads} thread${z.threads > 1 ? 's' : ''}`, tasks: z.walks, seconds: +z.seconds.toFixed(3), tasksPerSecond: Math.round(z.walksPerSecond), note });
    return [row(one, `${Math.round(one.walksPerSecondPerThread)} walks/s per thread`), row(two, `speed-up ${(two.walksPerSecond / one.walksPerSecond).toFixed(2)}x over 1 thread; same capacitance: ${one.capacitance === two.capacitance}`)];
  },
  /**
   * Peak RSS of an agent with 2 and with 8 workers on a 1 GB generated-conformers SDF: a few
   * large molecules split into blocks, every block needing its molecule's generated conformers
   * (node-level sharing on, and off for comparison); and on a 1 GB reference SDF of many small
   * molecules, where each task's records are its own.
   */
  memory: async (dir) => {
    const rows: BenchRow[] = [];
    /** One run's row; with `over`, its peak is also given relative to that earlier run's. */
    const peakMb = async (label: string, kindArgs: string[], workers: number, over?: { mb: number; what: string }): Promise<number> => {
      const out = join(dir, `mem-${rows.length}.jsonl`);
      const { row, peakRss } = await withPeakRss(() => embedded('memory', kindArgs, dir, out, workers));
      const mb = Math.round(peakRss / 2 ** 20);
      const rel = over ? `, ${((mb / over.mb - 1) * 100).toFixed(0)}% over ${over.what}` : '';
      rows.push({ ...row, mode: `embedded, ${workers} workers, ${label}`, note: `peak RSS ${mb} MB${rel}` });
      return mb;
    };
    const split = await writeSyntheticSet(join(dir, 'mem-ref.sdf'), join(dir, 'mem-gen.sdf'), Array.from({ length: 12 }, () => 48), () => 25_000, 40);
    const splitArgs = ['conformers', '--ref', split.refPath, '--gen', split.genPath, '--block-rows', '6'];
    const splitLabel = `${(statSync(split.genPath).size / 2 ** 30).toFixed(2)} GB gen SDF, 12 molecules in blocks`;
    const two = await peakMb(`${splitLabel}, shared`, [...splitArgs, '--input-cache', '256'], 2);
    await peakMb(`${splitLabel}, shared`, [...splitArgs, '--input-cache', '256'], 8, { mb: two, what: '2 workers' });
    await peakMb(`${splitLabel}, not shared`, [...splitArgs, '--input-cache', '0'], 8, { mb: two, what: '2 shared' });
    rmSync(split.refPath);
    rmSync(split.genPath);

    const many = await writeSyntheticSet(join(dir, 'mem-ref.sdf'), join(dir, 'mem-gen.sdf'), Array.from({ length: 1000 }, () => 900), () => 4, 16);
    const manyArgs = ['conformers', '--ref', many.refPath, '--gen', many.genPath];
    const manyLabel = `${(statSync(many.refPath).size / 2 ** 30).toFixed(2)} GB ref SDF, 1,000 molecules`;
    const twoMany = await peakMb(manyLabel, manyArgs, 2);
    await peakMb(manyLabel, manyArgs, 8, { mb: twoMany, what: '2 workers' });
    return rows;
  },
};

function coreScale(): BenchRow {
  const s = new Scheduler({ speculate: false, agentTimeoutMs: 1e12 });
  const N = 1_000_000;
  const tasks: NewTask[] = Array.from({ length: N }, (_, i) => ({ id: `t${i}`, cost: 1 + (i % 7), ref: null }));
  const s0 = performance.now();
  s.onSubmit({ job: 'J', kind: 'spin', params: {} }, tasks, new Map(), { granularity: 4, needsCommand: false, builtin: true }, 0);
  const submitS = (performance.now() - s0) / 1000;
  const agents = Array.from({ length: 10_000 }, (_, i) => ({ id: `a${i}`, ...s.onHello(`a${i}`, agentInfo({ slots: 32, memoryGB: 64, host: 'h' }), [], 0) }));
  let now = 1;
  let transitions = 0;
  const t0 = performance.now();
  while (s.jobState('J') === 'running') {
    now++;
    for (const a of agents) {
      for (const c of s.onPull(a.id, { epoch: a.epoch, seq: a.seq, want: 32, freeSlots: 32, memory: 2 ** 36, waitMs: 0, reports: [] }, a, now)) {
        if (c.kind !== 'reply-pull') continue;
        a.seq = c.seq;
        const ids = c.bundles.flatMap((b) => b.tasks.map((t) => t.id));
        if (ids.length === 0) continue;
        transitions += ids.length * 2;
        s.onCommitted({ job: 'J', from: a.id, ids, status: 'o'.repeat(ids.length), attempts: ids.map(() => 1), ms: ids.map(() => 1), errorRecords: 0 }, now);
      }
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  return { workload: 'scale', mode: 'core only, 10,000 agents × 32 slots (submit not timed)', tasks: N, seconds: +seconds.toFixed(3), tasksPerSecond: Math.round(N / seconds), note: `${Math.round(transitions / seconds).toLocaleString('en')} task transitions/s; submit ${submitS.toFixed(2)} s` };
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
  const head = ['workload', 'mode', 'items', 'seconds', 'items/s', 'note'];
  const cells = [head, ...rows.map((r) => [r.workload, r.mode, String(r.tasks), r.seconds.toFixed(2), String(r.tasksPerSecond), noteOf(r)])];
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
