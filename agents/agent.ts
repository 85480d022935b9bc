/**
 * The agent actor: one per node. It says hello with what the node offers, keeps one pull
 * in flight (long-polled) so the pool never starves, runs bundles on its piscina pool,
 * sends results to the sink through its outbox, heartbeats, and obeys abort and drain.
 */
import type { Bus } from '../src/bus/index.js';
import {
  decode,
  encode,
  ANONYMOUS,
  PROTOCOL_VERSION,
  type AgentCmd,
  type AgentInfo,
  type HeldTask,
  type JobInfo,
  type ResultGroup,
  type TaskMsg,
  type TaskReport,
  type Subjects,
  type Welcome,
} from '../protocol/index.js';
import { ErrorCode, ShoalError } from '../src/errors.js';
import type { Logger } from '../src/log.js';
import { DropLog, OnceLog } from '../src/log.js';
import { ResultSender, errorRow } from '../src/sink/index.js';
import { GroupBuilder, taskText } from '../src/sink/groups.js';
import { WorkerPool, type BundleEnd } from './pool.js';
import type { BundleInput } from './worker-types.js';
import { CoordinatorWatch } from './coordinators.js';

/** Agent options; defaults in DEFAULT_AGENT_OPTIONS. */
export interface AgentOptions {
  /** Worker threads (slots). */
  workers: number;
  /** Bundles held beyond the running ones, so the pool never waits on the network. Default = workers. */
  prefetch: number;
  /** Memory this agent may use, bytes (least of node, cgroup and --memory). */
  memoryLimit: number;
  /** Stop pulling while available memory is below this (bytes). Default 0. */
  minFreeMemory: number;
  /** Time running tasks get to finish on drain (ms). Default 30,000. */
  graceMs: number;
  /** Longest a pull waits at the coordinator for work (ms). Default 5,000. */
  pullWaitMs: number;
  spot: boolean;
  allowCommand: boolean;
  handlers: string[];
  /** Kinds the handler modules provide (told to the coordinator). */
  handlerKinds: string[];
  recycleAfter: number;
  workerHeapMb: number;
  /** MB of parsed inputs kept for the workers to share (0 = off). Default 256. */
  inputCacheMb: number;
  /** Result groups (about one per bundle) waiting for the sink above which the agent stops pulling. Default 256. */
  outboxHighWater: number;
  /**
   * The name NATS permissions grant this agent to speak under (its NATS user): it is part of
   * its id and of the subjects it sends on. Default ANONYMOUS (no NATS user).
   */
  principal: string;
}

export const DEFAULT_AGENT_OPTIONS: Omit<AgentOptions, 'workers' | 'memoryLimit'> = {
  prefetch: -1,
  minFreeMemory: 0,
  graceMs: 30_000,
  pullWaitMs: 5_000,
  spot: false,
  allowCommand: false,
  handlers: [],
  handlerKinds: [],
  recycleAfter: 0,
  workerHeapMb: 0,
  inputCacheMb: 256,
  outboxHighWater: 256,
  principal: ANONYMOUS,
};

interface LocalBundle {
  job: string;
  info: JobInfo;
  threads: number;
  tasks: TaskMsg[];
  flags: Int32Array;
  ac: AbortController;
  /** The job was cancelled: nothing of this bundle is reported or handed back. */
  cancelled: boolean;
}

type AgentState = 'starting' | 'active' | 'draining' | 'stopped';

/** Per-task flag (see worker.ts): handed back by a drain, already reported. */
const HANDED_BACK = 2;

export class Agent {
  readonly id: string;
  private state: AgentState = 'starting';
  private readonly opts: AgentOptions;
  private readonly pool: WorkerPool;
  private readonly sender: ResultSender;
  private readonly once = new OnceLog();
  private readonly drops: DropLog;
  private readonly jobs = new Map<string, JobInfo>();
  private queue: LocalBundle[] = [];
  private readonly running = new Set<LocalBundle>();
  /** Threads of the bundles in the pool (running, or held by a thread as its next; may exceed slots). */
  private busySlots = 0;
  /** Bundles of more than one thread in the pool. */
  private multiRunning = 0;
  private reports: TaskReport[] = [];
  private epoch = 0;
  private seq = 0;
  private welcomed = false;
  private readonly coordinators = new CoordinatorWatch();
  private lastRejoin = 0;
  private rejoinDelay = 0;
  private wake: (() => void) | null = null;
  private freeMemory: number;
  private memoryPaused = false;
  private timers: NodeJS.Timeout[] = [];
  private cmdSub: { unsubscribe(): void } | null = null;
  private done = 0;
  private stopping: Promise<number> | null = null;
  private graceTimer: NodeJS.Timeout | null = null;
  private exited!: (code: number) => void;
  /** Resolves with the exit code when the agent has stopped. */
  readonly finished: Promise<number>;

  constructor(
    private readonly bus: Bus,
    private readonly subj: Subjects,
    private readonly info: Omit<AgentInfo, 'slots' | 'spot' | 'allowCommand' | 'kinds'>,
    private readonly log: Logger,
    opts: Partial<AgentOptions> & { workers: number; memoryLimit: number },
    private readonly memoryProbe: () => Promise<number>,
  ) {
    this.opts = { ...DEFAULT_AGENT_OPTIONS, ...opts };
    if (this.opts.prefetch < 0) this.opts.prefetch = 2 * this.opts.workers;
    this.id = `${info.host}-${info.pid}${this.opts.principal === ANONYMOUS ? '' : `@${this.opts.principal}`}`;
    this.freeMemory = info.memory.available;
    this.pool = new WorkerPool({ workers: this.opts.workers, recycleAfter: this.opts.recycleAfter, workerHeapMb: this.opts.workerHeapMb, handlers: this.opts.handlers, inputCacheMb: this.opts.inputCacheMb });
    this.sender = new ResultSender(bus, subj, this.id, log, { highWater: this.opts.outboxHighWater });
    this.finished = new Promise((r) => (this.exited = r));
    this.drops = new DropLog(log);
  }

  /** Requests in flight that a reconnect abandons (see acrossReconnect). */
  private readonly onReconnect = new Set<() => void>();

  /**
   * Fails `p` when the connection comes back before it settles: a request sent before an
   * outage gets no answer (the coordinator may even have declared this agent lost), and
   * waiting for its timeout would idle the agent for many seconds. A dispatch that still
   * arrives on the old request is lost on purpose; the coordinator requeues it (seq gap).
   */
  private acrossReconnect<T>(p: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const abandon = (): void => {
        this.onReconnect.delete(abandon);
        reject(new Error('the NATS connection was re-established before an answer came; asking again'));
      };
      this.onReconnect.add(abandon);
      p.then(
        (v) => {
          this.onReconnect.delete(abandon);
          resolve(v);
        },
        (err: unknown) => {
          this.onReconnect.delete(abandon);
          reject(err);
        },
      );
    });
  }

  /** Starts pulling; returns at once (await `finished` for the end). */
  start(): void {
    this.state = 'active';
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
    this.bus.onStatus((s) => {
      if (s.type === 'disconnected') this.log.warn({ server: s.server }, 'lost the NATS connection; reconnecting');
      else if (s.type === 'reconnected') {
        this.log.info({ server: s.server }, 'NATS connection back');
        for (const abandon of [...this.onReconnect]) abandon();
        this.sender.outbox.resend();
        this.poke();
      }
    });
    this.timers.push(setInterval(() => void this.checkMemory(), 1000));
    void this.pullLoop();
  }

  private get slots(): number {
    return this.opts.workers;
  }

  private agentInfo(): AgentInfo {
    return { ...this.info, slots: this.slots, spot: this.opts.spot, allowCommand: this.opts.allowCommand, kinds: this.opts.handlerKinds };
  }

  /** Every task this agent holds: queued, running, or result not yet acknowledged. */
  private held(): HeldTask[] {
    const out: HeldTask[] = [];
    for (const b of [...this.queue, ...this.running]) for (const t of b.tasks) out.push([b.job, t.id, t.attempt]);
    for (const g of this.sender.outbox.items()) g.ids.forEach((id, i) => out.push([g.job, id, g.attempts[i]!]));
    return out;
  }

  private async hello(): Promise<void> {
    for (let delay = 200; this.state === 'active' || this.state === 'draining'; delay = Math.min(delay * 2, 5000)) {
      try {
        const reply = await this.acrossReconnect(this.bus.request(this.subj.hello(this.opts.principal), encode({ kind: 'hello', v: PROTOCOL_VERSION, agent: this.id, info: this.agentInfo(), held: this.held() }), { timeoutMs: 10_000 }));
        const d = decode('HelloReply', reply);
        if (!d.ok) {
          if (d.reason === 'version') throw new ShoalError(ErrorCode.Protocol, `the coordinator speaks shoal protocol ${String(d.version)}, this agent speaks ${PROTOCOL_VERSION}`);
          throw new Error(`bad welcome: ${d.detail}`);
        }
        if (d.msg.kind === 'error') {
          if (d.msg.code === ErrorCode.Protocol) throw new ShoalError(ErrorCode.Protocol, d.msg.message);
          throw new Error(d.msg.message);
        }
        const w: Welcome = d.msg;
        // Stopped while the hello was on its way: starting heartbeats now would keep the process alive.
        if ((this.state as AgentState) === 'stopped') return;
        const conflict = this.coordinators.welcomed(w.coordinator, Date.now());
        if (conflict) {
          this.log.fatal({ ns: this.subj.prefix }, conflict);
          void this.stop(2, conflict);
          return;
        }
        this.epoch = w.epoch;
        this.seq = w.seq;
        this.welcomed = true;
        this.restartHeartbeat(w.heartbeatMs);
        this.log.info({ agent: this.id, epoch: w.epoch, slots: this.slots }, 'joined the coordinator');
        return;
      } catch (err) {
        if (err instanceof ShoalError && err.code === ErrorCode.Protocol) {
          this.log.fatal({ err: err.message }, 'refused by the coordinator');
          void this.stop(4, err.message);
          throw err;
        }
        if (this.once.changed('hello', 'failing')) this.log.warn({ err: (err as Error).message }, 'cannot reach the coordinator yet; retrying');
        await sleep(delay);
      }
    }
  }

  private hbTimer: NodeJS.Timeout | null = null;
  private restartHeartbeat(ms: number): void {
    if (this.hbTimer) clearInterval(this.hbTimer);
    this.hbTimer = setInterval(() => this.heartbeat(), Math.max(100, ms));
    this.heartbeat();
  }

  private heartbeat(): void {
    if (!this.welcomed || this.state === 'stopped') return;
    try {
      this.bus.publish(
        this.subj.heartbeat(this.opts.principal),
        encode({ kind: 'heartbeat', v: PROTOCOL_VERSION, agent: this.id, epoch: this.epoch, busySlots: Math.min(this.slots, this.busySlots), memory: this.memoryForTasks(), state: this.state === 'draining' ? 'draining' : this.memoryPaused ? 'paused' : 'active', done: this.done }),
      );
    } catch {
      // Disconnected: the next one will do.
    }
  }

  private memoryForTasks(): number {
    let reserved = 0;
    for (const b of this.running) for (const t of b.tasks) reserved += (t as { memory?: number }).memory ?? 0;
    return Math.max(0, Math.min(this.freeMemory, this.opts.memoryLimit - reserved));
  }

  private async checkMemory(): Promise<void> {
    try {
      this.freeMemory = await this.memoryProbe();
    } catch {
      return;
    }
    const low = this.opts.minFreeMemory > 0 && this.freeMemory < this.opts.minFreeMemory;
    if (low !== this.memoryPaused) {
      this.memoryPaused = low;
      const gb = (b: number): number => +(b / 2 ** 30).toFixed(2);
      if (low) this.log.warn({ freeGB: gb(this.freeMemory), minFreeGB: gb(this.opts.minFreeMemory) }, 'free memory below --min-free-memory: not pulling');
      else this.log.info({ freeGB: gb(this.freeMemory) }, 'free memory recovered: pulling again');
      this.poke();
    }
  }

  /** Wakes the pull loop. */
  private poke(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  private waitForChange(ms: number): Promise<void> {
    return new Promise((r) => {
      const t = setTimeout(() => {
        this.wake = null;
        r();
      }, ms);
      this.wake = () => {
        clearTimeout(t);
        r();
      };
    });
  }

  private async pullLoop(): Promise<void> {
    let backoff = 100;
    let pullFailed = false;
    while (this.state === 'active' || (this.state === 'draining' && this.reports.length > 0)) {
      if (!this.welcomed) {
        try {
          await this.hello();
        } catch {
          return;
        }
        continue;
      }
      const held = this.queue.length + this.running.size;
      let want = this.state === 'active' && !this.memoryPaused && !this.sender.outbox.full ? Math.max(0, this.slots + this.opts.prefetch - held) : 0;
      if (want === 0 && this.reports.length === 0) {
        await this.waitForChange(1000);
        continue;
      }
      const reports = this.reports;
      this.reports = [];
      const waitMs = want > 0 ? this.opts.pullWaitMs : 0;
      this.pullParked = waitMs > 0;
      try {
        const reply = await this.acrossReconnect(
          this.bus.request(
            this.subj.pull(this.opts.principal),
            encode({ kind: 'pull', v: PROTOCOL_VERSION, agent: this.id, epoch: this.epoch, seq: this.seq, want, freeSlots: Math.max(0, this.slots - this.busySlots), memory: this.memoryForTasks(), waitMs, reports }),
            { timeoutMs: waitMs + 10_000 },
          ),
        );
        this.pullParked = false;
        backoff = 100;
        const d = decode('PullReply', reply);
        if (!d.ok) throw new Error(`bad pull reply: ${d.detail}`);
        const r = d.msg;
        switch (r.kind) {
          case 'dispatch':
            this.seq = r.seq;
            for (const j of r.jobs) this.jobs.set(j.job, j);
            this.accept(r.bundles);
            break;
          case 'rejoin': {
            this.log.info({ reason: r.reason }, 'the coordinator asks this agent to join again');
            this.welcomed = false;
            // Asked again and again (a coordinator in trouble): join again no faster than this.
            const now = Date.now();
            this.rejoinDelay = now - this.lastRejoin < 2000 ? Math.min(5000, Math.max(100, this.rejoinDelay * 2)) : 0;
            this.lastRejoin = now;
            if (this.rejoinDelay > 0) await sleep(this.rejoinDelay);
            // Reports made under the old epoch: the hello's held list supersedes them.
            break;
          }
          case 'error':
            if (this.once.changed('pull-error', r.code)) this.log.warn({ code: r.code, err: r.message }, 'the coordinator refused a pull');
            this.reports = reports.concat(this.reports);
            await sleep(backoff);
            backoff = Math.min(backoff * 2, 5000);
            break;
        }
        if (r.kind !== 'error' && this.once.changed('pull', 'ok') && pullFailed) this.log.info('pulls work again');
        pullFailed = false;
      } catch (err) {
        this.pullParked = false;
        this.reports = reports.concat(this.reports);
        if ((this.state as AgentState) === 'stopped') return;
        pullFailed = true;
        if (this.once.changed('pull', 'failing')) this.log.warn({ err: (err as Error).message }, 'pull failed; retrying');
        await sleep(backoff);
        backoff = Math.min(backoff * 2, 5000);
      }
    }
  }

  private accept(bundles: ReadonlyArray<{ job: string; threads: number; tasks: TaskMsg[] }>): void {
    for (const b of bundles) {
      const info = this.jobs.get(b.job);
      if (!info) {
        // Cannot happen with a sane coordinator; hand the tasks back rather than lose them.
        for (const t of b.tasks) this.reports.push({ job: b.job, id: t.id, attempt: t.attempt });
        continue;
      }
      this.queue.push({ job: b.job, info, threads: Math.min(b.threads, this.slots), tasks: b.tasks, flags: new Int32Array(new SharedArrayBuffer(4 * (b.tasks.length + 2))), ac: new AbortController(), cancelled: false });
    }
    this.feed();
  }

  /**
   * Starts queued bundles while slots are free. Single-thread bundles go to the pool up to
   * its depth per slot (a thread holds its next bundle, see pool.ts); a bundle of more threads
   * waits for its slots, and nothing is added beside one.
   */
  private feed(): void {
    while (this.queue.length > 0 && this.state !== 'stopped') {
      const b = this.queue[0]!;
      const pipelined = b.threads === 1 && this.multiRunning === 0;
      if (this.busySlots + b.threads > (pipelined ? this.slots * this.pool.depth : this.slots)) break;
      if (b.threads > 1) this.multiRunning++;
      this.queue.shift();
      this.busySlots += b.threads;
      this.running.add(b);
      const input: BundleInput = { job: b.job, kind: b.info.kind, params: b.info.params, threads: b.threads, tasks: b.tasks, agent: this.id, host: this.info.host, flags: b.flags };
      void this.pool.run(input, b.ac.signal).then((end) => this.finish(b, end));
    }
  }

  private finish(b: LocalBundle, end: BundleEnd): void {
    this.busySlots -= b.threads;
    if (b.threads > 1) this.multiRunning--;
    this.running.delete(b);
    const handBack = (t: TaskMsg, i: number): void => {
      if (!b.cancelled && Atomics.load(b.flags, i) === 0) this.reports.push({ job: b.job, id: t.id, attempt: t.attempt });
    };
    switch (end.kind) {
      case 'done': {
        const g = end.out.group;
        if (!b.cancelled) this.sender.push(g.text.length > this.sender.maxText ? this.withoutOversize(g, b, end.out.threadId) : g);
        this.done += g.ids.length;
        for (const f of end.out.failures) if (!b.cancelled) this.reports.push({ job: b.job, id: f.id, attempt: f.attempt, error: f.error });
        // The worker answers each task at most once: when the counts add up, none is left over.
        if (g.ids.length + end.out.failures.length === b.tasks.length) break;
        const accounted = new Set<string>(g.ids);
        for (const f of end.out.failures) accounted.add(f.id);
        b.tasks.forEach((t, i) => accounted.has(t.id) || handBack(t, i));
        break;
      }
      case 'aborted':
      case 'requeue':
        b.tasks.forEach(handBack);
        break;
      case 'died': {
        const culprit = b.tasks[end.runningIndex];
        this.log.warn({ job: b.job, task: culprit?.id, attempt: culprit?.attempt, err: end.error.message }, 'a worker thread died; replaced');
        for (const [i, t] of b.tasks.entries()) {
          if (t !== culprit) handBack(t, i);
          else if (b.cancelled) continue;
          else if (t.final) {
            const now = Date.now();
            const g = new GroupBuilder(b.job);
            g.add(t.id, t.attempt, false, 0, errorRow({ job: b.job, task: t.id, kind: b.info.kind, attempt: t.attempt, agent: this.id, host: this.info.host, worker: null, start: now, end: now }, end.error));
            this.sender.push(g.build());
          } else this.reports.push({ job: b.job, id: t.id, attempt: t.attempt, error: end.error });
        }
        break;
      }
    }
    this.feed();
    this.poke();
    // A pull waiting at the coordinator would carry failures only when it returns (up to
    // pullWaitMs later, long enough to look like a straggler): report them now.
    if (this.reports.length > 0 && this.pullParked && this.state === 'active') void this.sendReports();
    if (this.state === 'draining' && this.running.size === 0) this.graceDone?.();
  }

  /** Replaces the rows of tasks whose result alone is too large for the bus with an error row. */
  private withoutOversize(g: ResultGroup, b: LocalBundle, worker: number): ResultGroup {
    const max = this.sender.maxText;
    const out = new GroupBuilder(g.job);
    for (let i = 0; i < g.ids.length; i++) {
      const text = taskText(g, i);
      if (text.length <= max) {
        out.add(g.ids[i]!, g.attempts[i]!, g.status[i] === 'o', g.ms[i]!, text);
        continue;
      }
      const now = Date.now();
      const head = { job: b.job, task: g.ids[i]!, kind: b.info.kind, attempt: g.attempts[i]!, agent: this.id, host: this.info.host, worker, start: now, end: now };
      out.add(g.ids[i]!, g.attempts[i]!, false, g.ms[i]!, errorRow(head, { code: ErrorCode.TooLarge, message: `result of ${text.length} characters exceeds the bus limit of ${max}` }));
    }
    return out.build();
  }

  private onCmd(c: AgentCmd): void {
    switch (c.kind) {
      case 'abort': {
        const ids = c.tasks ? new Set(c.tasks) : null;
        this.log.info({ job: c.job, tasks: c.tasks?.length ?? 'all', reason: c.reason }, 'abort');
        // Not started yet: drop.
        this.queue = this.queue.filter((b) => {
          if (b.job !== c.job) return true;
          if (!ids) return false;
          b.tasks = b.tasks.filter((t) => !ids.has(t.id));
          if (b.tasks.length === 0) return false;
          b.flags = new Int32Array(new SharedArrayBuffer(4 * (b.tasks.length + 2)));
          return true;
        });
        for (const b of this.running) {
          if (b.job !== c.job) continue;
          if (!ids) {
            b.cancelled = true;
            Atomics.store(b.flags, b.tasks.length + 1, 1);
            b.ac.abort();
            continue;
          }
          b.tasks.forEach((t, i) => ids.has(t.id) && Atomics.store(b.flags, i, 1));
          if (b.tasks.every((_, i) => Atomics.load(b.flags, i) !== 0)) b.ac.abort();
        }
        return;
      }
      case 'drain':
        void this.drain(c.graceMs ?? this.opts.graceMs);
        return;
    }
  }

  private graceDone: (() => void) | null = null;
  /** A pull with waitMs > 0 is in flight (it may sit at the coordinator until work comes). */
  private pullParked = false;

  /**
   * Stops pulling, hands unstarted work back at once, lets running tasks finish within the
   * grace period (then aborts and hands them back), flushes the outbox and exits 0.
   * A second call (second SIGTERM) ends the grace period now.
   */
  drain(graceMs: number = this.opts.graceMs): Promise<number> {
    if (this.state === 'draining') {
      this.log.warn('drain again: aborting running tasks now');
      this.abortRunning();
      return this.finished;
    }
    if (this.state !== 'active' && this.state !== 'starting') return this.finished;
    this.state = 'draining';
    this.log.info({ running: this.running.size, queued: this.queue.length, graceS: graceMs / 1000 }, 'draining');
    for (const b of this.queue) for (const t of b.tasks) this.reports.push({ job: b.job, id: t.id, attempt: t.attempt });
    this.queue = [];
    // Tasks of running bundles that have not started are unstarted leases too: hand them back
    // now, not after the bundle's running task (the worker skips a flagged task).
    for (const b of this.running) {
      const n = b.tasks.length;
      for (let i = Atomics.load(b.flags, n) + 1; i < n; i++) {
        const t = b.tasks[i]!;
        if (Atomics.compareExchange(b.flags, i, 0, HANDED_BACK) === 0) this.reports.push({ job: b.job, id: t.id, attempt: t.attempt });
      }
    }
    this.heartbeat();
    void this.sendReports();
    void (async () => {
      if (this.running.size > 0) {
        await new Promise<void>((resolve) => {
          this.graceDone = resolve;
          this.graceTimer = setTimeout(() => {
            this.log.warn({ running: this.running.size }, 'grace period over: aborting running tasks and handing them back');
            this.abortRunning();
          }, graceMs);
        });
      }
      if (this.graceTimer) clearTimeout(this.graceTimer);
      // After the grace period, at most ten more seconds to hand back and flush, so a drain
      // with the broker gone still ends before Slurm's KillWait.
      const deadline = Date.now() + 10_000;
      await this.sendReports(deadline);
      const flushed = await this.sender.outbox.drain(Math.max(0, deadline - Date.now()));
      if (!flushed) this.log.error({ pending: this.sender.outbox.pending }, 'could not deliver every result before exiting');
      await this.stop(0, 'drained');
    })();
    return this.finished;
  }

  private abortRunning(): void {
    for (const b of this.running) {
      Atomics.store(b.flags, b.tasks.length + 1, 1);
      b.ac.abort();
    }
  }

  /** Sends pending reports (hand-backs, failures) with a pull that asks for nothing. */
  private async sendReports(deadline = Date.now() + 10_000): Promise<void> {
    for (let attempt = 0; attempt < 20 && this.reports.length > 0 && this.welcomed && Date.now() < deadline; attempt++) {
      const reports = this.reports;
      this.reports = [];
      try {
        await this.bus.request(this.subj.pull(this.opts.principal), encode({ kind: 'pull', v: PROTOCOL_VERSION, agent: this.id, epoch: this.epoch, seq: this.seq, want: 0, freeSlots: 0, memory: 0, waitMs: 0, reports, reportsOnly: true }), { timeoutMs: Math.max(500, Math.min(5000, deadline - Date.now())) });
        return;
      } catch {
        this.reports = reports.concat(this.reports);
        await sleep(250);
      }
    }
  }

  /** Stops everything. Idempotent; resolves with the exit code. */
  stop(code = 0, why = 'stopped'): Promise<number> {
    this.stopping ??= (async () => {
      this.state = 'stopped';
      for (const t of this.timers) clearInterval(t);
      if (this.hbTimer) clearInterval(this.hbTimer);
      if (this.graceTimer) clearTimeout(this.graceTimer);
      this.poke();
      this.cmdSub?.unsubscribe();
      this.sender.outbox.close();
      await this.pool.close().catch(() => undefined);
      this.log.info({ agent: this.id, why, tasks: this.done }, 'agent stopped');
      this.exited(code);
      return code;
    })();
    return this.stopping;
  }

  /** For status and tests. */
  get stats(): { done: number; busy: number; queued: number; outbox: number; replaced: number } {
    return { done: this.done, busy: Math.min(this.slots, this.busySlots), queued: this.queue.length, outbox: this.sender.outbox.pending, replaced: this.pool.replaced };
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
