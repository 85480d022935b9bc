/**
 * The allocation queues' shell: a timer that ticks each queue's core with the scheduler's
 * demand, polls Slurm for the queues' jobs, and carries out the cores' commands (sbatch,
 * scancel, drain). Slurm commands run as child processes awaited off the event loop; one poll
 * at a time, each sbatch on its own.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { AllocQueueSpec, AllocQueueStatus } from '../../protocol/index.js';
import { ErrorCode, ShoalError } from '../../src/errors.js';
import type { Logger } from '../../src/log.js';
import { AllocJournal } from './journal.js';
import { AllocQueue, type AllocCommand } from './queue.js';
import { slurmCli, slurmTime, type SlurmCli } from './slurm.js';
import type { World } from './world.js';

export interface AllocManagerOptions {
  /** Allocations' output files go to `<outDir>/alloc/`. */
  outDir: string;
  ns: string;
  /** The NATS URL agents use unless a queue names its own. */
  nats: string | null;
  /** The shoal folder the spot-agent script runs from (absent: found above the running CLI). */
  shoalHome: string | null;
  /** How often queues decide and Slurm is polled (ms). Default 5000. */
  pollMs: number;
  slurm: SlurmCli;
}

/** What the manager asks of the coordinator. */
export interface AllocHost {
  world(): World;
  drain(agent: string): void;
}

export const DEFAULT_ALLOC_OPTIONS: Omit<AllocManagerOptions, 'outDir' | 'ns'> = { nats: null, shoalHome: null, pollMs: 5000, slurm: slurmCli };

export class AllocManager {
  private readonly queues = new Map<string, AllocQueue>();
  private readonly opts: AllocManagerOptions;
  private timer: NodeJS.Timeout | null = null;
  private polling = false;
  private nextId = 1;
  private readonly journal: AllocJournal;

  constructor(
    private readonly host: AllocHost,
    private readonly log: Logger,
    opts: Partial<AllocManagerOptions> & { outDir: string; ns: string },
  ) {
    this.opts = { ...DEFAULT_ALLOC_OPTIONS, ...opts };
    this.journal = new AllocJournal(this.opts.outDir, log);
  }

  start(): void {
    if (!this.timer) this.timer = setInterval(() => void this.step(), this.opts.pollMs);
  }

  /** Stops the ticks; resolves once the allocation spans noted are written. */
  stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    for (const q of this.queues.values()) this.journal.note(q.label, q.status().allocations);
    return this.journal.flushed();
  }

  /** Adds a queue; it decides at the next tick. */
  add(spec: AllocQueueSpec): AllocQueueStatus {
    if (this.scriptHome() === null) throw new ShoalError(ErrorCode.Usage, 'alloc add: cannot find shoal\'s slurm/spot-agent.sbatch above the running CLI: start the coordinator from a shoal checkout, or set SHOAL_HOME');
    if (!(spec.nats ?? this.opts.nats)) throw new ShoalError(ErrorCode.Usage, 'alloc add: no NATS URL for the agents: give --agent-nats URL (one the allocated nodes can reach)');
    if (spec.name && [...this.queues.values()].some((q) => q.spec.name === spec.name)) throw new ShoalError(ErrorCode.Usage, `alloc add: a queue named '${spec.name}' exists already`);
    const q = new AllocQueue(String(this.nextId++), spec);
    this.queues.set(q.id, q);
    this.log.info({ queue: q.label, spec }, 'allocation queue added');
    void this.step();
    return q.status();
  }

  list(): AllocQueueStatus[] {
    return [...this.queues.values()].map((q) => q.status());
  }

  /** pause, resume or remove a queue (by id or name). */
  act(idOrName: string, op: 'pause' | 'resume' | 'remove'): AllocQueueStatus {
    const q = this.queues.get(idOrName) ?? [...this.queues.values()].find((x) => x.spec.name === idOrName);
    if (!q) throw new ShoalError(ErrorCode.NotFound, `no allocation queue '${idOrName}' (known: ${[...this.queues.values()].map((x) => x.label).join(', ') || 'none'})`);
    if (op === 'pause') q.pause('paused by command (shoal alloc pause)');
    else if (op === 'resume') {
      if (!q.resume()) throw new ShoalError(ErrorCode.Usage, `allocation queue ${q.label} is not paused`);
    } else {
      this.run(q, q.remove(Date.now()));
      this.journal.note(q.label, q.status().allocations);
      this.queues.delete(q.id);
    }
    this.log.info({ queue: q.label }, `allocation queue ${op === 'pause' ? 'paused' : op === 'resume' ? 'resumed' : 'removed'} by command`);
    return q.status();
  }

  /** One round: each queue decides, then Slurm is asked about their jobs. Never two at once. */
  private async step(): Promise<void> {
    if (this.polling || this.queues.size === 0) return;
    this.polling = true;
    try {
      const world = this.host.world();
      for (const q of this.queues.values()) this.run(q, q.tick(world, Date.now()));
      const ids = [...this.queues.values()].flatMap((q) => q.slurmJobs());
      if (ids.length === 0) return;
      let views;
      try {
        views = await this.opts.slurm.query(ids);
      } catch (err) {
        this.log.warn({ err: (err as Error).message }, 'cannot ask Slurm about the allocations; asking again at the next tick');
        return;
      }
      for (const q of this.queues.values()) this.run(q, q.slurmSaw(views, Date.now()));
    } catch (err) {
      this.log.error({ err: (err as Error).message, stack: (err as Error).stack }, 'allocation round failed');
    } finally {
      for (const q of this.queues.values()) this.journal.note(q.label, q.status().allocations);
      this.polling = false;
    }
  }

  private run(q: AllocQueue, cmds: AllocCommand[]): void {
    for (const c of cmds) {
      switch (c.kind) {
        case 'sbatch':
          void this.sbatch(q, c.alloc);
          break;
        case 'scancel':
          void this.opts.slurm.scancel(c.slurmJob).catch((err: Error) => this.log.warn({ queue: q.label, slurmJob: c.slurmJob, err: err.message }, 'scancel failed'));
          this.explain(q, c.alloc, c.slurmJob);
          break;
        case 'drain-agent':
          this.host.drain(c.agent);
          break;
        case 'log':
          this.log[c.level](c.fields, c.msg);
          break;
        default:
          assertNever(c);
      }
    }
  }

  private async sbatch(q: AllocQueue, alloc: string): Promise<void> {
    let r: { slurmJob: string } | { error: string };
    try {
      r = { slurmJob: await this.opts.slurm.sbatch(this.sbatchArgs(q), this.env(q)) };
    } catch (err) {
      r = { error: (err as Error).message };
    }
    this.run(q, q.submitted(alloc, r, Date.now()));
    const failed = q.status().allocations.find((a) => a.id === alloc && a.state === 'failed');
    if (failed && 'slurmJob' in r) this.explain(q, alloc, r.slurmJob);
  }

  /** A failed allocation's reason gets the last lines of its output, where the script says what went wrong. */
  private explain(q: AllocQueue, alloc: string, slurmJob: string): void {
    if (q.status().allocations.find((a) => a.id === alloc)?.state !== 'failed') return;
    const file = this.outFile(q).replace('%j', slurmJob);
    if (!existsSync(file)) return;
    const tail = readFileSync(file, 'utf8').trim().split('\n').filter((l) => l && !l.startsWith('{')).slice(-2).join(' | ');
    if (tail) q.annotate(alloc, `its output (${file}): ${tail.slice(0, 500)}`);
  }

  private outFile(q: AllocQueue): string {
    return join(this.opts.outDir, 'alloc', `${q.label}-%j.out`);
  }

  private sbatchArgs(q: AllocQueue): string[] {
    const s = q.spec;
    mkdirSync(join(this.opts.outDir, 'alloc'), { recursive: true });
    const args = ['-J', `shoal-alloc-${q.label}`, '-N', String(s.nodes), '--ntasks-per-node=1', '-t', slurmTime(s.walltimeS), '-o', this.outFile(q)];
    if (s.partition) args.push('-p', s.partition);
    if (s.account) args.push('-A', s.account);
    if (s.qos) args.push('-q', s.qos);
    if (s.gpusPerNode) args.push(`--gpus-per-node=${s.gpusPerNode}`);
    if (s.cpusPerNode) args.push(`--cpus-per-task=${s.cpusPerNode}`);
    if (s.memPerNode) args.push(`--mem=${Math.floor(s.memPerNode / 2 ** 20)}M`);
    args.push(...s.sbatchArgs, join(this.scriptHome()!, 'slurm', 'spot-agent.sbatch'));
    return args;
  }

  /** The spot-agent script's settings: where to join, when to drain, what else the agents get. */
  private env(q: AllocQueue): NodeJS.ProcessEnv {
    const s = q.spec;
    return {
      ...process.env,
      SHOAL_HOME: this.scriptHome()!,
      SHOAL_NATS: s.nats ?? this.opts.nats!,
      SHOAL_NS: this.opts.ns,
      SHOAL_DRAIN_BEFORE: String(s.drainBeforeS),
      SHOAL_AGENT_ARGS: s.agentArgs.join(' '),
      ...(s.cpusPerNode ? { SHOAL_WORKERS: String(s.cpusPerNode) } : {}),
    };
  }

  /** The folder holding slurm/spot-agent.sbatch: the option, SHOAL_HOME, or a parent of the running CLI. */
  private scriptHome(): string | null {
    const has = (d: string): boolean => existsSync(join(d, 'slurm', 'spot-agent.sbatch')) && existsSync(join(d, 'slurm', 'lib.sh'));
    for (const d of [this.opts.shoalHome, process.env.SHOAL_HOME]) if (d && has(d)) return resolve(d);
    let d = process.argv[1] ? dirname(resolve(process.argv[1])) : '';
    while (d && d !== dirname(d)) {
      if (has(d)) return d;
      d = dirname(d);
    }
    return null;
  }
}

function assertNever(x: never): never {
  throw new Error(`unexpected allocation command ${JSON.stringify(x)}`);
}
