/**
 * The agent actor: one per node. It says hello with what the node offers, keeps one pull
 * in flight (long-polled) so the pool never starves, runs bundles on its pool (worker threads),
 * sends results to the sink through its outbox, heartbeats, and obeys abort and drain.
 *
 * This is the shell: the decisions (which bundle runs, what is handed back, when a drain
 * ends) are the core's (core/); the shell turns bus messages, pool ends and timers into the
 * core's events and carries out the commands it returns.
 */
import type { Bus } from '../src/bus/index.js';
import { decode, ANONYMOUS, type AgentCmd, type AgentInfo, type Subjects } from '../protocol/index.js';
import type { Logger } from '../src/log.js';
import { DropLog } from '../src/log.js';
import { ResultSender } from '../src/sink/index.js';
import { WorkerPool } from './pool.js';
import type { BundlePool } from './bundle-pool.js';
import type { BundleInput } from './worker-types.js';
import { AgentCore, type AgentCommand, type Bundle } from './core/index.js';
import { DEFAULT_AGENT_OPTIONS, type AgentOptions, type AgentShell } from './agent-options.js';
import { CoordinatorLink } from './coordinator-link.js';
import { PullLoop } from './pull-loop.js';
import { InterpreterWatch } from './interpreters.js';
import { errorInputs } from './error-inputs.js';

export { DEFAULT_AGENT_OPTIONS, type AgentOptions };

export class Agent implements AgentShell {
  readonly id: string;
  readonly opts: AgentOptions;
  readonly core: AgentCore;
  readonly sender: ResultSender;
  private readonly pool: BundlePool;
  private readonly link: CoordinatorLink;
  private readonly pull: PullLoop;
  private readonly drops: DropLog;
  /** The interpreters its worker threads started (null: a pool without threads of its own). */
  private readonly interpreters: InterpreterWatch | null;
  /** The abort of each bundle on the pool. */
  private readonly aborts = new Map<Bundle, AbortController>();
  private timers: NodeJS.Timeout[] = [];
  private graceTimer: NodeJS.Timeout | null = null;
  private cmdSub: { unsubscribe(): void } | null = null;
  private stopping: Promise<number> | null = null;
  private exited!: (code: number) => void;
  /** Resolves with the exit code when the agent has stopped. */
  readonly finished: Promise<number>;

  constructor(
    readonly bus: Bus,
    readonly subj: Subjects,
    private readonly info: Omit<AgentInfo, 'slots' | 'spot' | 'allowCommand' | 'kinds'>,
    readonly log: Logger,
    opts: Partial<AgentOptions> & { workers: number; memoryLimit: number },
    private readonly memoryProbe: () => Promise<number>,
  ) {
    this.opts = { ...DEFAULT_AGENT_OPTIONS, ...opts };
    if (this.opts.prefetch < 0) this.opts.prefetch = 2 * this.opts.workers;
    const o = this.opts;
    this.id = `${info.host}-${info.pid}${o.principal === ANONYMOUS ? '' : `@${o.principal}`}`;
    const poolOpts = { workers: o.workers, recycleAfter: o.recycleAfter, workerHeapMb: o.workerHeapMb, handlers: o.handlers, inputCacheMb: o.inputCacheMb };
    this.pool = o.pool ? o.pool(poolOpts) : new WorkerPool(poolOpts);
    this.core = new AgentCore({ agent: this.id, host: info.host, slots: o.workers, prefetch: o.prefetch, depth: this.pool.depth, memoryLimit: o.memoryLimit, minFreeMemory: o.minFreeMemory, freeMemory: info.memory.available, gpus: (info.gpus ?? []).map((g) => g.index) });
    this.sender = new ResultSender(bus, subj, this.id, log, { highWater: o.outboxHighWater });
    this.finished = new Promise((r) => (this.exited = r));
    this.drops = new DropLog(log);
    this.link = new CoordinatorLink(this, () => ({ ...this.info, slots: o.workers, spot: o.spot, allowCommand: o.allowCommand, kinds: o.handlerKinds }));
    this.pull = new PullLoop(this, this.link);
    const pool = this.pool;
    this.interpreters = pool.ownsThread ? new InterpreterWatch((t) => pool.ownsThread!(t), () => void this.measureInterpreters()) : null;
  }

  /** Starts pulling; returns at once (await `finished` for the end). */
  start(): void {
    this.apply(this.core.start());
    const sub = this.bus.subscribe(this.subj.agentCmd(this.id));
    this.cmdSub = sub;
    void (async () => {
      for await (const m of sub) {
        const d = decode('AgentCmd', m.data);
        if (!d.ok) {
          this.drops.dropped(m.subject, d.reason, d.detail);
          continue;
        }
        this.onCmd(d.msg);
      }
    })();
    this.link.watch(() => this.pull.poke());
    this.timers.push(setInterval(() => void this.checkMemory(), 1000));
    void this.pull.run();
  }

  /** Carries out the core's commands, in order. */
  apply(cmds: readonly AgentCommand[]): void {
    for (const c of cmds) {
      switch (c.kind) {
        case 'run':
          this.run(c.bundle);
          break;
        case 'abort':
          this.aborts.get(c.bundle)?.abort();
          break;
        case 'send':
          this.sender.push(c.group);
          break;
        case 'wake':
          this.pull.poke();
          break;
        case 'report-if-parked':
          if (this.pull.parked) void this.pull.sendReports();
          break;
        case 'report':
          void this.pull.sendReports();
          break;
        case 'heartbeat':
          this.link.heartbeat();
          break;
        case 'heartbeat-every':
          this.link.beatEvery(c.ms);
          break;
        case 'grace':
          this.graceTimer = setTimeout(() => {
            this.log.warn({ running: this.core.bundles.running.size }, 'grace period over: aborting running tasks and handing them back');
            this.apply(this.core.graceOver());
          }, c.ms);
          break;
        case 'flush':
          void this.flush();
          break;
        case 'exit':
          this.log.fatal({ ns: this.subj.prefix }, c.why);
          void this.stop(c.code, c.why);
          break;
        case 'memory': {
          const gb = (b: number): number => +(b / 2 ** 30).toFixed(2);
          if (c.low) this.log.warn({ freeGB: gb(c.free), minFreeGB: gb(this.opts.minFreeMemory) }, 'free memory below --min-free-memory: not pulling');
          else this.log.info({ freeGB: gb(c.free) }, 'free memory recovered: pulling again');
          break;
        }
        default:
          assertNever(c);
      }
    }
  }

  private run(b: Bundle): void {
    const ac = new AbortController();
    this.aborts.set(b, ac);
    const input: BundleInput = { job: b.job, kind: b.info.kind, params: b.info.params, threads: b.threads, tasks: b.tasks, agent: this.id, host: this.info.host, flags: b.flags, ...(b.gpus.length > 0 ? { gpus: b.gpus } : {}) };
    void this.pool.run(input, ac.signal).then((end) => {
      this.aborts.delete(b);
      if (end.kind === 'died') {
        const culprit = b.tasks[end.runningIndex];
        this.log.warn({ job: b.job, task: culprit?.id, attempt: culprit?.attempt, err: end.error.message }, 'a worker thread died; replaced');
      }
      this.apply(this.core.bundleEnded(b, end, Date.now(), this.sender.maxText, errorInputs(b, end, this.sender.maxText)));
    });
  }

  /** Measures the interpreters' memory (each second, and as soon as one has started). */
  private async measureInterpreters(): Promise<void> {
    if (!this.interpreters || this.core.state === 'stopped') return;
    this.apply(this.core.interpretersMeasured(await this.interpreters.measure()));
  }

  private async checkMemory(): Promise<void> {
    await this.measureInterpreters();
    let free: number;
    try {
      free = await this.memoryProbe();
    } catch {
      return;
    }
    this.apply(this.core.memoryMeasured(free));
  }

  private onCmd(c: AgentCmd): void {
    switch (c.kind) {
      case 'abort':
        this.log.info({ job: c.job, tasks: c.tasks?.length ?? 'all', reason: c.reason }, 'abort');
        this.apply(this.core.abort(c.job, c.tasks ?? null));
        return;
      case 'drain':
        void this.drain(c.graceMs ?? this.opts.graceMs);
        return;
      case 'rejoin':
        this.log.info({ reason: c.reason }, 'the coordinator asks this agent to join again now');
        this.pull.hurry(`the coordinator asks this agent to join again: ${c.reason}`);
        return;
      default:
        assertNever(c);
    }
  }

  /**
   * Stops pulling, hands unstarted work back at once, lets running tasks finish within the
   * grace period (then aborts and hands them back), flushes the outbox and exits 0.
   * A second call (second SIGTERM) ends the grace period now.
   */
  drain(graceMs: number = this.opts.graceMs): Promise<number> {
    const s = this.core.state;
    if (s === 'draining' || s === 'stopping') this.log.warn('drain again: aborting running tasks now');
    else if (s !== 'stopped') this.log.info({ running: this.core.bundles.running.size, queued: this.core.bundles.queued.length, graceS: graceMs / 1000 }, 'draining');
    this.apply(this.core.drain(graceMs));
    return this.finished;
  }

  /** After the grace period: hand back what is left, flush the outbox, exit 0. */
  private async flush(): Promise<void> {
    if (this.graceTimer) clearTimeout(this.graceTimer);
    // At most ten more seconds to hand back and flush, so a drain with the broker gone still
    // ends before Slurm's KillWait.
    const deadline = Date.now() + 10_000;
    await this.pull.sendReports(deadline);
    const flushed = await this.sender.outbox.drain(Math.max(0, deadline - Date.now()));
    if (!flushed) this.log.error({ pending: this.sender.outbox.pending }, 'could not deliver every result before exiting');
    // Said only with nothing held back: an agent whose results are still on their way stays
    // draining until its silence ends it.
    else if (this.core.bundles.running.size === 0) await this.link.goodbye();
    await this.stop(0, 'drained');
  }

  /** Stops everything. Idempotent; resolves with the exit code. */
  stop(code = 0, why = 'stopped'): Promise<number> {
    this.stopping ??= (async () => {
      this.core.stopped();
      for (const t of this.timers) clearInterval(t);
      this.link.stopBeating();
      if (this.graceTimer) clearTimeout(this.graceTimer);
      this.pull.poke();
      this.cmdSub?.unsubscribe();
      this.interpreters?.close();
      this.sender.outbox.close();
      await this.pool.close().catch(() => undefined);
      this.log.info({ agent: this.id, why, tasks: this.core.done }, 'agent stopped');
      this.exited(code);
      return code;
    })();
    return this.stopping;
  }

  /** For status and tests. */
  get stats(): { done: number; busy: number; queued: number; outbox: number; replaced: number } {
    const book = this.core.bundles;
    return { done: this.core.done, busy: book.busy, queued: book.queued.length, outbox: this.sender.outbox.pending, replaced: this.pool.replaced };
  }
}

function assertNever(x: never): never {
  throw new Error(`unexpected: ${JSON.stringify(x)}`);
}
