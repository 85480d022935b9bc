/**
 * The coordinator's actor shell: turns bus messages into scheduler events, carries out the
 * commands the scheduler returns, and keeps time (the only place with timers). It hosts the
 * sink: results reach the sink over the bus, while opening and closing outputs, the
 * coordinator's own error rows and the commit notices are calls inside this process.
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import type { Bus, BusMsg } from '../src/bus/index.js';
import {
  decode,
  encode,
  encodeAs,
  errorReply,
  principalOfSubject,
  PROTOCOL_VERSION,
  speaksFor,
  versionMismatchMessage,
  type CommitGroup,
  type CoordinatorId,
  type Heartbeat,
  type Hello,
  type MessageOf,
  type Pull,
  type ResultGroup,
  type SchemaName,
  type Subjects,
} from '../protocol/index.js';
import { ErrorCode, ShoalError, toWireError } from '../src/errors.js';
import type { Logger } from '../src/log.js';
import { DropLog, OnceLog } from '../src/log.js';
import { Outbox } from '../src/outbox.js';
import { COORDINATOR_SENDER, Sink, type SinkHost, type SinkOptions } from '../src/sink/index.js';
import { errorRow, GroupBuilder } from '../src/rows/index.js';
import { Scheduler, type Command, type SchedulerOptions } from './scheduler/index.js';
import { NamespaceClaim } from './claim.js';
import { Admission, endedJob, type JobRecord } from './jobs/index.js';
import { ctlReply } from './control.js';
import { ResultCache } from './cache/index.js';
import { acquireOwnerLock, type OwnerLock } from '../src/owner-lock.js';
import { AllocManager, type AllocManagerOptions } from './alloc/index.js';
import { MemoryGiver } from './memory-giver.js';

export interface CoordinatorOptions {
  /** Where job outputs go (every output a job names must be inside it), and the job registry. */
  outDir: string;
  /** The namespace, for messages that name it. Default 'default'. */
  ns: string;
  /**
   * Agents heartbeat this often (ms); told to them in the welcome. Default 2000, and never
   * more than a quarter of the agent timeout, so a late heartbeat or two cannot lose an agent.
   */
  heartbeatMs: number;
  /** Scheduler clock resolution (ms). Default 200. */
  tickMs: number;
  /** Keep a registry of jobs in the out dir so a restart resumes them. Default true. */
  persist: boolean;
  /**
   * Most memory one job's tasks may take in the coordinator while it is admitted (bytes); a job
   * that needs more is refused. Absent: what the machine (or its cgroup) has free then.
   */
  jobMemory?: number;
  scheduler: Partial<SchedulerOptions>;
  sink: Partial<SinkOptions>;
  /** The result cache of jobs that name none (`coordinator --cache DIR`); absent: only jobs with `--cache` use one. */
  cacheDir?: string;
  /** Allocation queues (`shoal alloc`): the NATS URL their agents use, the Slurm poll interval. */
  alloc?: Partial<Omit<AllocManagerOptions, 'outDir' | 'ns'>>;
  /** Another coordinator turned out to own the namespace after this one started: it must stop. */
  onConflict(message: string): void;
}

export const DEFAULT_COORDINATOR_OPTIONS: Omit<CoordinatorOptions, 'outDir' | 'onConflict'> = { ns: 'default', heartbeatMs: 2000, tickMs: 200, persist: true, scheduler: {}, sink: {} };

export class Coordinator implements SinkHost {
  readonly scheduler: Scheduler;
  readonly sink: Sink;
  readonly admission: Admission;
  /** Jobs using the result cache: their lookups, stores and counts. */
  readonly cache: ResultCache;
  /** The allocation queues: Slurm jobs whose agents join when the queued work needs them. */
  readonly alloc: AllocManager;
  /** Who this coordinator is (welcomes and namespace claims name it). */
  readonly me: CoordinatorId;
  private readonly opts: CoordinatorOptions;
  private readonly subs: Array<{ unsubscribe(): void }> = [];
  /** The coordinator's own error rows (tasks out of attempts), on their way to the sink. */
  private readonly errors: Outbox<ResultGroup>;
  private readonly claim: NamespaceClaim;
  private readonly once = new OnceLog();
  private readonly drops: DropLog;
  private timer: NodeJS.Timeout | null = null;
  private readonly memory: MemoryGiver;
  /** Agents known at the last tick: fewer now means some were forgotten (memory to give back). */
  private agentsKnown = 0;
  private dirLock: OwnerLock | null = null;
  private stopped = false;
  private readonly host = hostname();
  private readonly log: Logger;

  constructor(
    private readonly bus: Bus,
    private readonly subj: Subjects,
    /** The process's logger: the coordinator's lines and the sink's each bind their own `component`. */
    log: Logger,
    opts: Partial<CoordinatorOptions> & { outDir: string },
  ) {
    this.log = log.child({ component: 'coordinator' });
    this.opts = { ...DEFAULT_COORDINATOR_OPTIONS, onConflict: () => undefined, ...opts, outDir: resolve(opts.outDir) };
    const maxDispatchBytes = Math.min(this.opts.scheduler.maxDispatchBytes ?? 512 * 1024, Math.floor(bus.maxPayload / 2));
    this.scheduler = new Scheduler({ ...this.opts.scheduler, maxDispatchBytes });
    this.me = { boot: randomBytes(6).toString('hex'), host: this.host, pid: process.pid, since: Date.now(), outDir: this.opts.outDir };
    this.sink = new Sink(bus, subj, log.child({ component: 'sink' }), this, this.opts.sink);
    this.errors = new Outbox<ResultGroup>({
      send: async (batch) => void (await this.sink.write(batch, COORDINATOR_SENDER)),
      sizeOf: (g) => g.text.length,
      highWater: 1 << 16,
    });
    this.cache = new ResultCache(log.child({ component: 'cache' }), { agent: COORDINATOR_SENDER, host: this.host });
    this.admission = new Admission({ cache: this.cache, ...(this.opts.cacheDir !== undefined ? { defaultCache: { dir: resolve(this.opts.cacheDir) } } : {}), outDir: this.opts.outDir, persist: this.opts.persist, jobMemory: this.opts.jobMemory, scheduler: this.scheduler, sink: this.sink, log: this.log, maxTaskBytes: Math.floor(maxDispatchBytes / 2), run: (c) => this.run(c), publish: (s, m) => this.publish(s, 'Event', m), subj });
    this.claim = new NamespaceClaim(bus, subj, this.opts.ns, this.me, this.log, (message) => {
      this.log.fatal({ ns: this.opts.ns }, message);
      this.opts.onConflict(message);
    });
    this.drops = new DropLog(this.log);
    this.memory = new MemoryGiver(this.log);
    const allocHost = { world: () => this.scheduler.demand(), drain: (agent: string) => this.run(this.scheduler.onDrain(agent, null, Date.now())) };
    this.alloc = new AllocManager(allocHost, log.child({ component: 'alloc' }), { ...this.opts.alloc, outDir: this.opts.outDir, ns: this.opts.ns });
  }

  /**
   * Claims the namespace and (with a registry) locks the out dir, subscribes (and waits until
   * the server has the subscriptions), resumes unfinished jobs from the registry and starts the
   * clock. Refuses (E_REFUSED, naming the owner) when another coordinator has either.
   */
  async start(): Promise<void> {
    await this.claim.take();
    if (this.opts.persist) {
      try {
        this.dirLock = await acquireOwnerLock(this.opts.outDir, {
          kind: 'dir',
          role: 'coordinator',
          detail: `namespace ${this.opts.ns}`,
          log: this.log,
          onLost: (err) => {
            this.log.fatal({ outDir: this.opts.outDir }, err.message);
            this.opts.onConflict(err.message);
          },
        });
      } catch (err) {
        this.claim.close();
        throw err;
      }
    }
    const unfinished = this.admission.unfinished();
    // Agents may say hello before these are loaded: keep what they hold of them.
    this.scheduler.expect(unfinished.map((r) => r.job));
    this.sink.start();
    this.serve(this.subj.ctlAll, 'CtlRequest', async (m, req) => m.respond(encodeAs('CtlReply', await ctlReply(this, req))), true);
    this.serve(this.subj.helloAll, 'Hello', (m, h) => this.agentSpeaks(m, h.agent) && this.onHello(m, h));
    this.serve(this.subj.pullAll, 'Pull', (m, p) => this.agentSpeaks(m, p.agent) && this.onPull(m, p));
    this.serve(this.subj.heartbeatAll, 'Heartbeat', (m, hb) => this.agentSpeaks(m, hb.agent) && this.onHeartbeat(hb));
    // Peers of protocol 1 still send here: the decoder refuses them naming both versions.
    for (const [subject, schema] of [[this.subj.legacy.hello, 'Hello'], [this.subj.legacy.pull, 'Pull'], [this.subj.legacy.results, 'ResultBatch']] as const) {
      this.serve(subject, schema, (m) => m.respond(encode(errorReply(ErrorCode.Refused, `${subject} is not a subject of protocol ${PROTOCOL_VERSION}`))));
    }
    // Subscriptions go out after these calls: once the server has them (a round trip after
    // them), a peer acting on this start (on 'coordinator ready') finds the coordinator listening.
    await this.bus.flush();
    this.bus.onStatus((s) => {
      if (s.type === 'disconnected') this.log.warn({ server: s.server }, 'lost the NATS connection; reconnecting');
      else if (s.type === 'reconnected') this.log.info({ server: s.server }, 'NATS connection back');
    });
    this.timer = setInterval(() => this.tick(), this.opts.tickMs);
    this.alloc.start();
    this.knowEndedUpstreams(unfinished);
    await this.admission.resume(unfinished);
  }

  /** The out dir the coordinator owns (job records are found there). */
  get outDir(): string {
    return this.opts.outDir;
  }

  /** Jobs resumed with `--after` may wait for jobs that ended before the restart: the scheduler learns how from their records. */
  private knowEndedUpstreams(recs: JobRecord[]): void {
    const resumed = new Set(recs.map((r) => r.job));
    for (const r of recs) {
      for (const name of r.after ?? []) {
        if (resumed.has(name)) continue;
        const end = endedJob(this.opts.outDir, name);
        if (end) this.scheduler.knowEnded(name, end);
        else this.log.warn({ job: r.job, after: name }, 'no record of an upstream job ended before the restart: the job waits for it');
      }
    }
  }

  /**
   * Subscribes to a subject, decodes and validates each message, and never lets a handler
   * crash the loop. A request that fails validation gets a refusal, not silence.
   */
  private serve<N extends SchemaName>(subject: string, schema: N, handle: (m: BusMsg, msg: MessageOf<N>) => unknown, concurrent = false): void {
    const sub = this.bus.subscribe(subject);
    this.subs.push(sub);
    void (async () => {
      for await (const m of sub) {
        const d = decode(schema, m.data);
        if (!d.ok) {
          // Keyed by the subscription, not the subject: subjects carry senders' names.
          this.drops.dropped(subject, d.reason, d.detail);
          if (m.reply) {
            const reply = d.reason === 'version' ? errorReply(ErrorCode.Protocol, versionMismatchMessage(d.version, 'peer')) : errorReply(subject === this.subj.ctlAll ? ErrorCode.Usage : ErrorCode.Input, d.detail);
            m.respond(encode(reply));
          }
          continue;
        }
        const handled = this.handled(m, () => handle(m, d.msg));
        // Requests that may wait (a submit expanding a job of millions) do not hold up the next
        // ones (a status): they are handled side by side. Agents' messages keep their order.
        if (!concurrent) await handled;
      }
    })();
  }

  /** Runs a handler; a failure becomes a refusal (or a logged error), never a crash. */
  private async handled(m: BusMsg, handle: () => unknown): Promise<void> {
    try {
      await handle();
    } catch (err) {
      const w = toWireError(err);
      // A refused request (bad input, unknown job) is the requester's problem, and the requester
      // is told: info here (`run` would print it twice); anything else is ours.
      if (err instanceof ShoalError && err.code !== ErrorCode.Internal) this.log.info({ subject: m.subject, code: w.code, err: w.message }, 'request refused');
      else this.log.error({ subject: m.subject, err: w.message, stack: (err as Error)?.stack }, 'handler failed');
      if (m.reply) m.respond(encode(errorReply(w.code, w.message)));
    }
  }

  /** Whether a message on an agent subject speaks for an agent of the subject's principal; refuses it when not. */
  private agentSpeaks(m: BusMsg, agent: string): boolean {
    const principal = principalOfSubject(m.subject, this.subj.prefix);
    if (principal !== null && speaksFor(principal, agent)) return true;
    if (this.once.changed(`impostor:${principal}`, agent)) this.log.warn({ principal, agent }, 'a message that speaks for another agent refused');
    if (m.reply) m.respond(encode(errorReply(ErrorCode.Refused, `principal '${principal}' may not speak for agent '${agent}'`)));
    return false;
  }

  private onHello(m: BusMsg, h: Hello): void {
    const now = Date.now();
    const refused = this.scheduler.refusesHello(h.agent, now);
    if (refused !== null) {
      if (this.once.changed('hello-refused', 'yes')) this.log.warn({ agent: h.agent, why: refused }, 'hello refused');
      m.respond(encode(errorReply(ErrorCode.Refused, refused)));
      return;
    }
    const r = this.scheduler.onHello(h.agent, h.info, h.held, now);
    const heartbeatMs = Math.max(100, Math.min(this.opts.heartbeatMs, Math.floor(this.scheduler.opts.agentTimeoutMs / 4)));
    m.respond(encodeAs('HelloReply', { kind: 'welcome', v: PROTOCOL_VERSION, agent: h.agent, epoch: r.epoch, boot: this.me.boot, heartbeatMs, seq: r.seq, coordinator: this.me }));
    this.run(r.commands);
  }

  private onPull(m: BusMsg, p: Pull): void {
    this.run(this.scheduler.onPull(p.agent, p, m, Date.now()));
  }

  private onHeartbeat(hb: Heartbeat): void {
    if (hb.state === 'left') return this.run(this.scheduler.onGoodbye(hb.agent, hb.epoch, Date.now()));
    const ok = this.scheduler.onHeartbeat(hb.agent, hb.epoch, hb.busySlots, hb.memory, hb.state === 'draining', Date.now(), hb.busyGpus ?? 0, hb.interpreters ?? []);
    // Told once per epoch (its next pull would learn it too, but a pull sent to a coordinator
    // that has since restarted waits for its timeout).
    if (!ok && this.once.changed(`hb:${hb.agent}`, String(hb.epoch))) {
      this.log.debug({ agent: hb.agent }, 'heartbeat from an agent that must rejoin');
      this.publish(this.subj.agentCmd(hb.agent), 'AgentCmd', { kind: 'rejoin', v: PROTOCOL_VERSION, reason: 'this coordinator does not know the agent (restarted, or took it for lost)' });
    }
  }

  // ───────────── SinkHost: the sink asks and tells, inside this process ─────────────

  writable(job: string, agent: string): ((task: string) => boolean) | null {
    // Open in the sink, not in the scheduler yet: admission is writing its record.
    if (this.scheduler.jobState(job) === null) return null;
    // A resumed job adopts what agents say they hold when they say hello: results from an agent
    // that has not said hello to this coordinator yet wait for it (refused, its agent would drop
    // them while its hello still lists them as held, and the tasks would stay leased to it).
    if (agent !== COORDINATOR_SENDER && !this.scheduler.knowsAgent(agent) && this.scheduler.adoptsHeld(job)) return null;
    // The coordinator writes the rows of tasks out of attempts; agents those they were leased.
    return agent === COORDINATOR_SENDER ? this.scheduler.failingOf(job) : this.scheduler.leasedTo(job, agent);
  }

  /** What a task was given (its error row's `input`): from its ref, which the scheduler holds from dispatch to commit. */
  inputOf(job: string, task: string): unknown {
    return this.admission.inputOf(job, this.scheduler.refOf(job, task));
  }

  committed(groups: CommitGroup[], texts: readonly string[]): void {
    const now = Date.now();
    for (const g of groups) this.run(this.scheduler.onCommitted(g, now));
    // Stages fed by these jobs' rows (--from) get their tasks once the rows are durable.
    this.admission.stages.committed(groups, texts);
    this.cache.committed(groups, texts, COORDINATOR_SENDER);
  }

  stalled(job: string, reason: string | null): void {
    this.run(this.scheduler.onStall(job, reason, Date.now()));
  }

  private tick(): void {
    this.run(this.scheduler.onTick(Date.now()));
    const known = this.scheduler.agentCount();
    if (known < this.agentsKnown) this.memory.released('agents forgotten');
    this.agentsKnown = known;
  }

  /** Carries out the scheduler's commands. */
  run(cmds: Command[]): void {
    for (const c of cmds) {
      switch (c.kind) {
        case 'reply-pull':
          (c.token as BusMsg).respond(encodeAs('PullReply', { kind: 'dispatch', v: PROTOCOL_VERSION, seq: c.seq, jobs: c.jobs, bundles: c.bundles }));
          break;
        case 'rejoin':
          (c.token as BusMsg).respond(encodeAs('PullReply', { kind: 'rejoin', v: PROTOCOL_VERSION, reason: c.reason }));
          break;
        case 'abort':
          this.publish(this.subj.agentCmd(c.agent), 'AgentCmd', { kind: 'abort', v: PROTOCOL_VERSION, job: c.job, ...(c.tasks ? { tasks: c.tasks } : {}), reason: c.reason });
          break;
        case 'drain-agent':
          this.publish(this.subj.agentCmd(c.agent), 'AgentCmd', { kind: 'drain', v: PROTOCOL_VERSION, ...(c.graceMs !== null ? { graceMs: c.graceMs } : {}) });
          break;
        case 'error-rows': {
          const kind = this.admission.kindOf(c.job);
          const now = Date.now();
          const g = new GroupBuilder(c.job);
          for (const r of c.rows) {
            const head = { job: c.job, task: r.id, kind, attempt: r.attempt, agent: COORDINATOR_SENDER, host: this.host, worker: null, start: now, end: now };
            g.add(r.id, r.attempt, false, 0, errorRow(head, r.error, undefined, this.inputOf(c.job, r.id)));
          }
          this.errors.push(g.build());
          break;
        }
        case 'job-ended':
          void this.admission.finish(c.job, c.state).then(() => this.memory.released(`job ${c.job} ended`));
          break;
        case 'log':
          this.log[c.level](c.fields, c.msg);
          break;
        default:
          assertNever(c);
      }
    }
  }

  private publish<N extends 'AgentCmd' | 'Event'>(subject: string, schema: N, msg: MessageOf<N>): void {
    try {
      this.bus.publish(subject, encodeAs(schema, msg));
    } catch (err) {
      this.log.warn({ subject, err: (err as Error).message }, 'publish failed');
    }
  }

  /** Stops timers and subscriptions, delivers the last error rows and closes every output. Idempotent. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.memory.stop();
    const allocStopped = this.alloc.stop();
    for (const s of this.subs.splice(0)) s.unsubscribe();
    this.claim.close();
    this.admission.stop();
    await this.errors.drain(2000);
    this.errors.close();
    await this.sink.stop();
    // Rows the sink made durable and the cache gathered but had not packed yet.
    await this.cache.close();
    await allocStopped;
    await this.dirLock?.release();
  }
}

function assertNever(x: never): never {
  throw new Error(`unexpected command ${JSON.stringify(x)}`);
}
