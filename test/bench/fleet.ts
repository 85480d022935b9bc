/**
 * `npm run bench -- fleet`: the real coordinator (and the sink inside it) under hundreds of
 * agents on one machine. The agents are simulated (test/helpers/fleet): real agents speaking
 * the real protocol over a real nats-server, each on a connection of its own, with slots that
 * run on their host process's main thread and tasks that sleep (`spin --sleep`).
 *
 *   npm run bench -- fleet                                    10, 100, 300, 1000 agents × 64 slots
 *   FLEET_AGENTS=10,100 FLEET_CASES=1s npm run bench -- fleet a subset
 *
 * Other knobs: FLEET_SLOTS (64), FLEET_SECONDS of dispatch aimed at (15), FLEET_MAX_TASKS
 * (200,000), FLEET_MAX_SECONDS before a job is cancelled (90), FLEET_PROFILE=0 to run the
 * coordinator without a CPU profile (which costs it a few percent), FLEET_KEEP_PROFILES=DIR to
 * keep each run's profile (open it in Chrome's DevTools).
 */
import { spawn } from 'node:child_process';
import { copyFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { cliPath } from '../helpers/paths.js';
import { startNatsServer } from '../../src/nats-server.js';
import { connectNats } from '../../src/bus/index.js';
import { CtlClient } from '../../src/cli/client.js';
import { subjects, type JobStatus } from '../../protocol/index.js';
import { readRows } from '../../src/sink/index.js';
import { Fleet, quantile } from '../helpers/fleet/fleet.js';
import { sleep, until } from '../helpers/wait.js';
import { machineCpu, peakRss, procCpu, procsCpuMs } from './proc.js';
import { cpuShares, type CpuShares } from './cpu-profile.js';
import type { BenchRow } from './main.js';

/** One kind of task: its mean length and its spin options. */
interface TaskCase {
  name: string;
  meanMs: number;
  args: string[];
}

const CASES: TaskCase[] = [
  { name: '1s', meanMs: 1000, args: ['--ms', '1000'] },
  { name: '100ms', meanMs: 100, args: ['--ms', '100'] },
  // W1's heavy tail (log-normal, sigma 1) around the same 100 ms mean.
  { name: 'skew', meanMs: 100, args: ['--ms', '100', '--skew'] },
];

const num = (name: string, dflt: number): number => (process.env[name] ? Number(process.env[name]) : dflt);
const list = (name: string, dflt: string): string[] => (process.env[name] ?? dflt).split(',').map((s) => s.trim()).filter(Boolean);

/** What one run measured, beyond the common row fields (written to the JSON). */
export interface FleetFigures {
  agents: number;
  slots: number;
  taskCase: string;
  joinS: number;
  wallS: number;
  utilization: number;
  cancelled: boolean;
  coordinator: { cpuPercent: number; mainThreadPercent: number; peakRssMb: number; shares: CpuShares | null };
  pullMs: { p50: number; p99: number; n: number };
  resultAckMs: { p50: number; p99: number; n: number };
  heartbeats: { perSecond: number; idleCoordinatorCpuPercent: number; idlePullsPerSecond: number; maxLastSeenMs: number };
  statusMs: { p50: number; max: number; n: number };
  fleetHosts: { processes: number; cpuPercent: number; loopDelayP99Ms: number };
  natsServerCpuPercent: number;
  /** The whole machine's CPU busy over the run, % of all its cores (other users' work included). */
  machineBusyPercent: number;
}

const round = (x: number, d = 1): number => (Number.isFinite(x) ? +x.toFixed(d) : NaN);

/** Starts `shoal coordinator` (with a CPU profile into `profDir` when asked). */
function coordinator(url: string, ns: string, outDir: string, profDir: string | null): { pid: number; stop(): Promise<void>; stderr(): string } {
  const prof = profDir ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : [];
  const child = spawn(process.execPath, [...prof, cliPath, 'coordinator', '--nats', url, '--ns', ns, '--out-dir', outDir, '--log-level', 'warn'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-10_000)));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return {
    pid: child.pid ?? 0,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
    stderr: () => err,
  };
}

/** Runs one configuration: a fresh server, coordinator and fleet. */
async function runOne(dir: string, agents: number, c: TaskCase): Promise<BenchRow & { fleet: FleetFigures }> {
  const slots = num('FLEET_SLOTS', 64);
  const seconds = num('FLEET_SECONDS', 15);
  const tasks = Math.max(1000, Math.min(num('FLEET_MAX_TASKS', 200_000), Math.round((agents * slots * seconds * 1000) / c.meanMs)));
  const server = await startNatsServer();
  const ns = `fleet${agents}${c.name}${Date.now().toString(36)}`;
  const outDir = join(dir, ns);
  const profDir = num('FLEET_PROFILE', 1) ? join(dir, `${ns}-prof`) : null;
  const coord = coordinator(server.url, ns, outDir, profDir);
  const bus = await connectNats({ url: server.url, name: 'shoal-bench fleet', connectRetryMs: 10_000 });
  const ctl = new CtlClient(bus, subjects(ns), ns);
  const fleet = new Fleet({ url: server.url, ns, slots, perHost: 250 });
  try {
    await until('the coordinator to answer', () => ctl.status().then(() => true), 30_000);
    const t0 = Date.now();
    await fleet.add(agents);
    const joinS = (Date.now() - t0) / 1000;

    // Idle: every agent joined, no job. The coordinator hears heartbeats and parked pulls only.
    await sleep(1000); // the joins' own traffic settles, on purpose
    const i0 = { at: Date.now(), cpu: procCpu(coord.pid) };
    await sleep(4000); // the idle window measured, on purpose
    const i1 = { at: Date.now(), cpu: procCpu(coord.pid) };
    const idle = await fleet.stats(i0.at, i1.at);
    const idleS = (i1.at - i0.at) / 1000;

    const job = `F${agents}-${c.name}`;
    const sub = spawn(process.execPath, [cliPath, 'submit', 'spin', '--sleep', ...c.args, '--tasks', String(tasks), '--job', job, '--nats', server.url, '--ns', ns], { stdio: 'ignore' });
    const natsPid = server.child.pid ?? 0;
    const s0 = { at: Date.now(), cpu: procCpu(coord.pid), hosts: procsCpuMs(fleet.pids), nats: procsCpuMs([natsPid]), machine: machineCpu() };
    const subCode = await new Promise<number | null>((r) => sub.once('exit', r));
    if (subCode !== 0) throw new Error(`shoal submit exited ${subCode}`);

    // Status once a second: its round trip, and how stale the coordinator's news of agents gets.
    const statusMs: number[] = [];
    let maxLastSeen = 0;
    let last: JobStatus | undefined;
    let cancelled = false;
    /** When the job's queue first ran empty: pulls after that may wait at the coordinator for work that is not there. */
    let queueEmptyAt: number | null = null;
    const maxS = num('FLEET_MAX_SECONDS', 90);
    for (;;) {
      const q0 = performance.now();
      const st = await ctl.status();
      statusMs.push(performance.now() - q0);
      last = st.jobs.find((j) => j.job === job);
      if (last?.state === 'running' && last.queued === 0) queueEmptyAt ??= Date.now();
      for (const a of st.agents) if (a.state === 'active') maxLastSeen = Math.max(maxLastSeen, a.lastSeenMs);
      if (last && last.state !== 'running' && last.state !== 'expanding') break;
      if (!cancelled && Date.now() - s0.at > maxS * 1000) {
        cancelled = true;
        await ctl.cancel(job);
      }
      await sleep(1000); // the status sampling period, on purpose
    }
    const s1 = { at: Date.now(), cpu: procCpu(coord.pid), hosts: procsCpuMs(fleet.pids), nats: procsCpuMs([natsPid]), machine: machineCpu() };
    const rss = peakRss(coord.pid);
    const run = await fleet.stats(s0.at, s1.at);
    const startedAt = last!.startedAt;
    const endedAt = last!.endedAt ?? s1.at;
    // Pull latency: pulls sent while the job had tasks queued (so none waited for work to come).
    const steady = await fleet.stats(startedAt, queueEmptyAt ?? endedAt);

    const wallS = (endedAt - startedAt) / 1000;
    let busyMs = 0;
    for await (const r of readRows(join(outDir, `${job}.jsonl`))) {
      if (r.status === 'ok') busyMs += Math.max(0, Math.min(Number(r.end), endedAt) - Math.max(Number(r.start), startedAt));
    }
    const utilization = busyMs / 1000 / (agents * slots * wallS);
    const windowS = (s1.at - s0.at) / 1000;

    await fleet.stop();
    await coord.stop();
    let shares: CpuShares | null = null;
    if (profDir) {
      const prof = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
      if (prof) shares = cpuShares(join(profDir, prof));
      if (prof && process.env.FLEET_KEEP_PROFILES) copyFileSync(join(profDir, prof), join(process.env.FLEET_KEEP_PROFILES, `${ns}.cpuprofile`));
    }

    const figures: FleetFigures = {
      agents,
      slots,
      taskCase: c.name,
      joinS: round(joinS),
      wallS: round(wallS, 2),
      utilization: round(utilization, 3),
      cancelled,
      coordinator: {
        cpuPercent: round(((s1.cpu.totalMs - s0.cpu.totalMs) / 1000 / windowS) * 100),
        mainThreadPercent: round(((s1.cpu.mainMs - s0.cpu.mainMs) / 1000 / windowS) * 100),
        peakRssMb: Math.round(rss / 2 ** 20),
        shares,
      },
      pullMs: { p50: round(quantile(steady.pulls, 0.5)), p99: round(quantile(steady.pulls, 0.99)), n: steady.pulls.length },
      resultAckMs: { p50: round(quantile(run.results, 0.5)), p99: round(quantile(run.results, 0.99)), n: run.results.length },
      heartbeats: {
        perSecond: round(idle.heartbeats / idleS),
        idleCoordinatorCpuPercent: round(((i1.cpu.totalMs - i0.cpu.totalMs) / 1000 / idleS) * 100),
        idlePullsPerSecond: round(idle.pulls.length / idleS),
        maxLastSeenMs: Math.round(maxLastSeen),
      },
      statusMs: { p50: round(quantile(statusMs, 0.5)), max: round(Math.max(...statusMs)), n: statusMs.length },
      fleetHosts: { processes: run.hosts.length, cpuPercent: round(((s1.hosts - s0.hosts) / 1000 / windowS) * 100), loopDelayP99Ms: Math.max(...run.hosts.map((h) => h.loopDelayP99Ms)) },
      natsServerCpuPercent: round(((s1.nats - s0.nats) / 1000 / windowS) * 100),
      machineBusyPercent: round(((s1.machine.busyMs - s0.machine.busyMs) / (s1.machine.totalMs - s0.machine.totalMs)) * 100),
    };
    const done = last!.done;
    return {
      workload: 'fleet',
      mode: `${agents} agents × ${slots} slots, ${c.name} tasks${cancelled ? ' (cancelled)' : ''}`,
      tasks: done,
      seconds: round(wallS, 2),
      tasksPerSecond: Math.round(done / wallS),
      note: `utilization ${(utilization * 100).toFixed(1)}%, coordinator ${figures.coordinator.cpuPercent}% CPU, pull p50/p99 ${figures.pullMs.p50}/${figures.pullMs.p99} ms`,
      fleet: figures,
    };
  } catch (err) {
    throw new Error(`fleet ${agents} × ${c.name}: ${(err as Error).message}\n--- coordinator\n${coord.stderr()}\n${fleet.describe()}`);
  } finally {
    await fleet.stop();
    await coord.stop();
    await bus.close();
    await server.stop();
  }
}

/** Every selected configuration, one after the other; prints the growth table as it goes. */
export async function benchFleet(dir: string): Promise<BenchRow[]> {
  const agentCounts = list('FLEET_AGENTS', '10,100,300,1000').map(Number);
  const wanted = list('FLEET_CASES', CASES.map((c) => c.name).join(','));
  const cases = CASES.filter((c) => wanted.includes(c.name));
  const rows: Array<BenchRow & { fleet: FleetFigures }> = [];
  for (const c of cases) {
    for (const n of agentCounts) {
      process.stderr.write(`  fleet: ${n} agents, ${c.name} tasks...\n`);
      rows.push(await runOne(dir, n, c));
    }
  }
  printTable(rows.map((r) => r.fleet).map((f, i) => ({ f, tps: rows[i]!.tasksPerSecond })));
  return rows;
}

function printTable(rows: Array<{ f: FleetFigures; tps: number }>): void {
  const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;
  const head = ['tasks', 'agents', 'util', 'tasks/s', 'coord CPU', 'main thr', 'sink/coord/nats/gc', 'RSS MB', 'pull p50/p99 ms', 'ack p50/p99 ms', 'hb/s', 'idle CPU', 'max lastSeen ms', 'status p50/max ms', 'hosts CPU / loop p99', 'nats CPU', 'machine busy'];
  const cells = [
    head,
    ...rows.map(({ f, tps }) => {
      const s = f.coordinator.shares;
      const tot = s ? s.sink + s.coordinator + s.nats + s.gc + s.other : 0;
      const share = s && tot > 0 ? [s.sink, s.coordinator, s.nats, s.gc].map((x) => `${Math.round((x / tot) * 100)}`).join('/') + '%' : '-';
      return [
        f.taskCase + (f.cancelled ? '*' : ''),
        String(f.agents),
        pct(f.utilization),
        String(tps),
        `${f.coordinator.cpuPercent}%`,
        `${f.coordinator.mainThreadPercent}%`,
        share,
        String(f.coordinator.peakRssMb),
        `${f.pullMs.p50}/${f.pullMs.p99}`,
        `${f.resultAckMs.p50}/${f.resultAckMs.p99}`,
        String(f.heartbeats.perSecond),
        `${f.heartbeats.idleCoordinatorCpuPercent}%`,
        String(f.heartbeats.maxLastSeenMs),
        `${f.statusMs.p50}/${f.statusMs.max}`,
        `${f.fleetHosts.cpuPercent}% / ${f.fleetHosts.loopDelayP99Ms}`,
        `${f.natsServerCpuPercent}%`,
        `${f.machineBusyPercent}%`,
      ];
    }),
  ];
  const w = head.map((_, i) => Math.max(...cells.map((c) => c[i]!.length)));
  process.stdout.write(`\nfleet (${rows[0]?.f.slots ?? 0} slots per agent; * = cancelled at FLEET_MAX_SECONDS)\n`);
  for (const c of cells) process.stdout.write(c.map((x, i) => x.padEnd(w[i]!)).join('  ') + '\n');
  process.stdout.write('\n');
}
