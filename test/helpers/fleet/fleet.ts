/**
 * A fleet of simulated agents spread over fleet-host processes (host.ts), for the fleet
 * benchmark and test:
 *
 *   const fleet = new Fleet({ url, ns, slots: 64 });
 *   const hosts = await fleet.add(300);        // sim-0001 ... sim-0300, once all have joined
 *   await fleet.drain(hosts.slice(0, 10));      // as SIGTERM: hand back, finish, flush, leave
 *   await fleet.vanish(hosts.slice(10, 20));    // cut off at once, no goodbye (a crash)
 *   const s = await fleet.stats(from, to);      // pull latencies etc., every host merged
 *   await fleet.stop();
 *
 * A host process runs at most `perHost` agents, so no single event loop bounds the fleet.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { FleetReply, FleetRequest, HostStats } from './protocol.js';

export type { HostStats, SimAgentState } from './protocol.js';

export interface FleetOptions {
  url: string;
  ns: string;
  /** Slots per agent. */
  slots: number;
  /** The memory each agent reports, GB. Default 16. */
  memoryGB?: number;
  /** Agents per fleet-host process. Default 250. */
  perHost?: number;
  /** Added to the hosts' environment (NATS credentials: SHOAL_NATS_USER, ...). */
  env?: Record<string, string>;
  /** The agents' log level. Default warn. */
  logLevel?: string;
}

/** Every host's stats together. */
export interface FleetStats extends Omit<HostStats, 'cpuPercent' | 'loopDelayP99Ms' | 'loopDelayMaxMs'> {
  /** Per host process. */
  hosts: Array<Pick<HostStats, 'cpuPercent' | 'loopDelayP99Ms' | 'loopDelayMaxMs'> & { agents: number }>;
}

type Request = FleetRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

const HOST_SCRIPT = fileURLToPath(new URL('./host.js', import.meta.url));

/** One fleet-host process. */
class HostProcess {
  readonly child: ChildProcess;
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  /** Agents placed on it and not drained or vanished. */
  live = 0;
  stderr = '';
  readonly exited: Promise<number | null>;

  constructor(o: FleetOptions) {
    const args = ['--nats', o.url, '--ns', o.ns, '--slots', String(o.slots), '--memory-gb', String(o.memoryGB ?? 16), '--log-level', o.logLevel ?? 'warn'];
    this.child = fork(HOST_SCRIPT, args, { env: { ...process.env, ...o.env }, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    this.child.stderr!.setEncoding('utf8').on('data', (d: string) => (this.stderr = (this.stderr + d).slice(-20_000)));
    this.child.on('message', (m: FleetReply) => {
      const w = this.waiting.get(m.id);
      if (!w) return;
      this.waiting.delete(m.id);
      if (m.ok) w.resolve(m.result);
      else w.reject(new Error(`fleet host ${this.child.pid}: ${m.error}`));
    });
    this.exited = new Promise((r) =>
      this.child.once('exit', (code) => {
        for (const w of this.waiting.values()) w.reject(new Error(`fleet host ${this.child.pid} exited (${code}) before answering\n${this.stderr}`));
        this.waiting.clear();
        r(code);
      }),
    );
  }

  ask<T>(req: Request): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.child.send({ ...req, id } as FleetRequest);
    });
  }
}

const everyFleet = new Set<Fleet>();
let exitHook = false;

export class Fleet {
  private readonly procs: HostProcess[] = [];
  /** Which process runs each agent, by host name. */
  private readonly where = new Map<string, HostProcess>();
  /** Agent ids by host name. */
  readonly ids = new Map<string, string>();
  private made = 0;

  constructor(private readonly o: FleetOptions) {
    everyFleet.add(this);
    if (!exitHook) {
      exitHook = true;
      // A failing test or bench never leaves a fleet behind.
      process.once('exit', () => {
        for (const f of everyFleet) for (const p of f.procs) p.child.kill('SIGKILL');
      });
    }
  }

  /** The fleet-host processes' pids (for CPU measurements). */
  get pids(): number[] {
    return this.procs.map((p) => p.child.pid ?? 0);
  }

  /** Starts `n` agents (host names sim-0001, ...), on the least loaded hosts; resolves with their host names once all have joined. */
  async add(n: number): Promise<string[]> {
    const perHost = this.o.perHost ?? 250;
    const batches = new Map<HostProcess, string[]>();
    const hosts: string[] = [];
    for (let i = 0; i < n; i++) {
      let p = this.procs.filter((x) => x.live < perHost).sort((a, b) => a.live - b.live)[0];
      if (!p) {
        p = new HostProcess(this.o);
        this.procs.push(p);
      }
      const host = `sim-${String(++this.made).padStart(4, '0')}`;
      p.live++;
      this.where.set(host, p);
      hosts.push(host);
      batches.set(p, [...(batches.get(p) ?? []), host]);
    }
    await Promise.all(
      [...batches].map(async ([p, hs]) => {
        const ids = await p.ask<string[]>({ op: 'add', hosts: hs });
        hs.forEach((h, i) => this.ids.set(h, ids[i]!));
      }),
    );
    return hosts;
  }

  private byProcess(hosts: string[]): Map<HostProcess, string[]> {
    const m = new Map<HostProcess, string[]>();
    for (const h of hosts) {
      const p = this.where.get(h);
      if (!p) throw new Error(`the fleet has no agent '${h}'`);
      m.set(p, [...(m.get(p) ?? []), h]);
    }
    return m;
  }

  /** Drains these agents; resolves with their exit codes once all have stopped. */
  async drain(hosts: string[], graceMs?: number): Promise<number[]> {
    const out: number[] = [];
    await Promise.all(
      [...this.byProcess(hosts)].map(async ([p, hs]) => {
        p.live -= hs.length;
        out.push(...(await p.ask<number[]>({ op: 'drain', hosts: hs, ...(graceMs === undefined ? {} : { graceMs }) })));
      }),
    );
    return out;
  }

  /** Cuts these agents off at once, with no goodbye. */
  async vanish(hosts: string[]): Promise<void> {
    await Promise.all(
      [...this.byProcess(hosts)].map(async ([p, hs]) => {
        p.live -= hs.length;
        await p.ask({ op: 'vanish', hosts: hs });
      }),
    );
  }

  /** What the agents measured of requests sent in [from, to) (epoch ms), every host merged. */
  async stats(from: number, to: number): Promise<FleetStats> {
    const all = await Promise.all(this.procs.map((p) => p.ask<HostStats>({ op: 'stats', from, to })));
    return {
      agents: all.flatMap((s) => s.agents),
      pulls: all.flatMap((s) => s.pulls),
      results: all.flatMap((s) => s.results),
      heartbeats: all.reduce((a, s) => a + s.heartbeats, 0),
      hosts: all.map((s) => ({ agents: s.agents.length, cpuPercent: s.cpuPercent, loopDelayP99Ms: s.loopDelayP99Ms, loopDelayMaxMs: s.loopDelayMaxMs })),
    };
  }

  /** Stops every agent and every host process. Idempotent. */
  async stop(): Promise<void> {
    everyFleet.delete(this);
    await Promise.all(
      this.procs.map(async (p) => {
        if (p.child.exitCode === null && p.child.signalCode === null) {
          await Promise.race([p.ask({ op: 'stop' }).catch(() => undefined), p.exited]);
          // A host that does not end within 10 s of its agents stopping is killed.
          const t = setTimeout(() => p.child.kill('SIGKILL'), 10_000);
          await p.exited;
          clearTimeout(t);
        }
      }),
    );
  }

  /** The stderr tails of the host processes, for failure messages. */
  describe(): string {
    return this.procs.map((p) => `--- fleet host ${p.child.pid}\n${p.stderr.slice(-3000)}`).join('\n');
  }
}

/** The value at quantile q (0..1) of `xs` (nearest rank); NaN when empty. */
export function quantile(xs: number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = Float64Array.from(xs).sort();
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
}
