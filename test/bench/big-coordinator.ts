/**
 * What the `big` benchmark (big.ts, big-run.ts) does to a real `shoal coordinator` process:
 * start it and time it to "coordinator ready", ask it over a control client of the bench's own,
 * time `status`, read its memory from /proc, and time the `submit` CLI.
 */
import { connectNats, type NatsBus } from '../../src/bus/index.js';
import { CtlClient } from '../../src/cli/client.js';
import { subjects, type JobStatus } from '../../protocol/index.js';
import { quantile } from '../helpers/fleet/fleet.js';
import { runShoal, spawnShoal, type LogLine, type ShoalProcess } from '../helpers/shoal.js';
import { sleep } from '../helpers/wait.js';
import { memoryOf } from '../helpers/faults.js';

/** A number from the environment (BIG_TASKS=1000000), or the default. */
export function num(name: string, dflt: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v.replace(/_/g, ''));
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name}=${v}: expected a number >= 0`);
  return n;
}

export const round = (x: number, d = 1): number => (Number.isFinite(x) ? +x.toFixed(d) : NaN);
export const mb = (bytes: number): number => Math.round(bytes / 2 ** 20);

/** Resident memory now (VmRSS), bytes; 0 once the process has gone. */
export const rss = (pid: number): number => memoryOf(pid);

/** A coordinator the bench started, and when. */
export interface Coord {
  proc: ShoalProcess;
  /** Epoch ms of the spawn. */
  spawnedAt: number;
  /** Seconds from the spawn to its "coordinator ready" line. */
  readyS: number;
}

/** Starts `shoal coordinator` (info logs, read for the timings; a CPU profile into BIG_CPU_PROF) and waits for "coordinator ready". */
export async function startCoord(url: string, ns: string, outDir: string): Promise<Coord> {
  const spawnedAt = Date.now();
  const t0 = performance.now();
  const prof = process.env.BIG_CPU_PROF;
  // --cpu-prof is refused in NODE_OPTIONS: a shell puts it between node and the CLI, then execs.
  const wrapper = prof ? ['sh', '-c', `exec "$0" --cpu-prof --cpu-prof-dir='${prof.replace(/'/g, `'\\''`)}' "$@"`] : undefined;
  const proc = spawnShoal(['coordinator', '--nats', url, '--ns', ns, '--out-dir', outDir, '--log-level', 'info'], wrapper ? { wrapper } : {});
  await proc.waitForLog('coordinator ready', 600_000);
  return { proc, spawnedAt, readyS: (performance.now() - t0) / 1000 };
}

/** SIGTERM, and wait (a coordinator already gone is fine). */
export async function stopCoord(c: Coord): Promise<void> {
  c.proc.kill('SIGTERM');
  await c.proc.exited;
}

/** Epoch ms of a pino line's `time` (ISO or number). */
export function logTime(l: LogLine): number {
  return typeof l.time === 'number' ? l.time : Date.parse(String(l.time));
}

/** The first log line of `c` with this msg and job, if it has been written. */
export function logOf(c: Coord, msg: string, job: string): LogLine | undefined {
  return c.proc.logs.find((l) => l.msg === msg && l.job === job);
}

/** A control client on its own NATS connection. */
export class Ctl {
  private constructor(
    private readonly bus: NatsBus,
    readonly client: CtlClient,
  ) {}

  static async connect(url: string, ns: string): Promise<Ctl> {
    const bus = await connectNats({ url, name: 'shoal-bench big', connectRetryMs: 10_000 });
    return new Ctl(bus, new CtlClient(bus, subjects(ns), ns));
  }

  /** The job's status, or undefined while the coordinator has no such job (or does not answer). */
  async job(job: string): Promise<JobStatus | undefined> {
    try {
      return (await this.client.status(job)).jobs.find((j) => j.job === job);
    } catch {
      return undefined; // a coordinator starting or gone: asked again by the caller
    }
  }

  /** `n` status requests one after the other: their round trips, ms. */
  async statusTimes(n: number): Promise<number[]> {
    const out: number[] = [];
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      await this.client.status();
      out.push(performance.now() - t0);
    }
    return out;
  }

  close(): Promise<void> {
    return this.bus.close();
  }
}

/** p50 and max of round trips, ms. */
export function spread(ms: number[]): { p50: number; max: number; n: number } {
  return { p50: round(quantile(ms, 0.5)), max: round(ms.length ? Math.max(...ms) : NaN), n: ms.length };
}

/**
 * Status asked every 50 ms until `stop()`: the slowest round trip says how long the
 * coordinator's event loop was kept from answering (while a job is admitted, say).
 */
export function statusProbe(ctl: Ctl): { stop(): Promise<{ slowestMs: number; answers: number; failures: number }> } {
  let asking = true;
  let slowestMs = 0;
  let answers = 0;
  let failures = 0;
  const loop = (async () => {
    while (asking) {
      const t0 = performance.now();
      // A status unanswered for 10 s is asked once more, then fails: counted, and its time kept as the slowest.
      const ok = await ctl.client.status().then(() => true, () => false);
      slowestMs = Math.max(slowestMs, performance.now() - t0);
      if (ok) answers++;
      else failures++;
      await sleep(50); // paced, so the probe does not take the coordinator's CPU from what it measures
    }
  })();
  return {
    stop: async () => {
      asking = false;
      await loop;
      return { slowestMs: round(slowestMs), answers, failures };
    },
  };
}

/** `shoal submit spin ... --json` from spawn to exit: its seconds and its answer. */
export async function submitCli(url: string, ns: string, job: string, spinArgs: string[]): Promise<{ seconds: number; startedAt: number; tasks: number }> {
  const startedAt = Date.now();
  const t0 = performance.now();
  const r = await runShoal(['submit', 'spin', ...spinArgs, '--job', job, '--nats', url, '--ns', ns, '--json'], { timeoutMs: 600_000 });
  const seconds = (performance.now() - t0) / 1000;
  if (r.code !== 0) throw new Error(`shoal submit ${job} exited ${r.code}\n${r.describe()}`);
  return { seconds, startedAt, tasks: (JSON.parse(r.stdout) as { tasks: number }).tasks };
}

/** `shoal status` from spawn to exit: what any CLI call costs before it asks anything. */
export async function statusCliSeconds(url: string, ns: string): Promise<number> {
  const t0 = performance.now();
  const r = await runShoal(['status', '--nats', url, '--ns', ns], { timeoutMs: 60_000 });
  if (r.code !== 0) throw new Error(`shoal status exited ${r.code}\n${r.describe()}`);
  return (performance.now() - t0) / 1000;
}
