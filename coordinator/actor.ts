/**
 * The coordinator's actor shell: turns bus messages into scheduler events, carries out the
 * commands the scheduler returns, and keeps time (the only place with timers).
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import type { Bus, BusMsg } from '../src/bus/index.js';
import {
  decode,
  encode,
  errorReply,
  PROTOCOL_VERSION,
  versionMismatchMessage,
  type CtlRequest,
  type JobSpec,
  type Subjects,
  type JobStatus,
  type SchemaName,
} from '../protocol/index.js';
import { ErrorCode, ShoalError, toWireError } from '../src/errors.js';
import type { Logger } from '../src/log.js';
import { DropLog, OnceLog } from '../src/log.js';
import { errorRow, defaultOutPath, jobFilePathFor, ResultSender } from '../src/sink/index.js';
import { scanJournal } from '../src/sink/journal.js';
import { GroupBuilder } from '../src/sink/groups.js';
import { Scheduler, type Command, type SchedulerOptions } from './scheduler.js';
import { describeChange, expandJob, fingerprint, JobRegistry, kindOf, readJobRecord, splitterFor, writeJobRecord, type JobRecord } from './jobs.js';

export interface CoordinatorOptions {
  /** Where job outputs go by default, and the job registry. */
  outDir: string;
  /** Agents heartbeat this often (ms); told to them in the welcome. Default 2000. */
  heartbeatMs: number;
  /** Scheduler clock resolution (ms). Default 200. */
  tickMs: number;
  /** Keep a registry of jobs in the out dir so a restart resumes them. Default true. */
  persist: boolean;
  scheduler: Partial<SchedulerOptions>;
}

export const DEFAULT_COORDINATOR_OPTIONS: Omit<CoordinatorOptions, 'outDir'> = { heartbeatMs: 2000, tickMs: 200, persist: true, scheduler: {} };

export class Coordinator {
  readonly scheduler: Scheduler;
  private readonly opts: CoordinatorOptions;
  private readonly boot = randomBytes(6).toString('hex');
  private readonly subs: Array<{ unsubscribe(): void }> = [];
  private readonly errors: ResultSender;
  private readonly registry: JobRegistry;
  private readonly records = new Map<string, JobRecord>();
  private readonly expanding = new Map<string, JobRecord>();
  private readonly once = new OnceLog();
  private readonly drops: DropLog;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private readonly host = hostname();

  constructor(
    private readonly bus: Bus,
    private readonly subj: Subjects,
    private readonly log: Logger,
    opts: Partial<CoordinatorOptions> & { outDir: string },
  ) {
    this.opts = { ...DEFAULT_COORDINATOR_OPTIONS, ...opts, outDir: resolve(opts.outDir) };
    const maxDispatchBytes = Math.min(this.opts.scheduler.maxDispatchBytes ?? 512 * 1024, Math.floor(bus.maxPayload / 2));
    this.scheduler = new Scheduler({ ...this.opts.scheduler, maxDispatchBytes });
    this.errors = new ResultSender(bus, subj, 'coordinator', log.child({ component: 'coordinator-rows' }));
    this.registry = new JobRegistry(this.opts.outDir);
    this.drops = new DropLog(log);
  }

  /** Subscribes, resumes unfinished jobs from the registry and starts the clock. */
  async start(): Promise<void> {
    this.serve(this.subj.ctlAll, 'CtlRequest', (m, req) => this.onCtl(m, req));
    this.serve(this.subj.hello, 'Hello', (m, h) => this.onHello(m, h));
    this.serve(this.subj.pull, 'Pull', (m, p) => this.onPull(m, p));
    this.serve(this.subj.heartbeat, 'Heartbeat', (_m, hb) => {
      const ok = this.scheduler.heartbeat(hb.agent, hb.epoch, hb.busySlots, hb.memory, hb.state === 'draining', Date.now());
      if (!ok && this.once.changed(`hb:${hb.agent}`, String(hb.epoch))) this.log.debug({ agent: hb.agent }, 'heartbeat from an agent that must rejoin');
    });
    this.serve(this.subj.committed, 'Committed', (m, c) => {
      const now = Date.now();
      for (const g of c.groups) this.run(this.scheduler.committed(g, now));
      m.respond(encode({ kind: 'ok', v: PROTOCOL_VERSION, seq: c.seq }));
    });
    this.bus.onStatus((s) => {
      if (s.type === 'disconnected') this.log.warn({ server: s.server }, 'lost the NATS connection; reconnecting');
      else if (s.type === 'reconnected') {
        this.log.info({ server: s.server }, 'NATS connection back');
        this.errors.outbox.resend();
      }
    });
    this.timer = setInterval(() => this.run(this.scheduler.tick(Date.now())), this.opts.tickMs);
    if (this.opts.persist) {
      const unfinished = this.registry.unfinished((f, err) => this.log.error({ file: f, err: err.message }, 'skipping an unreadable job record'));
      for (const rec of unfinished) {
        this.log.info({ job: rec.job, out: rec.out }, 'resuming job after restart');
        try {
          await this.admit(rec);
        } catch (err) {
          this.log.error({ job: rec.job, err: toWireError(err).message }, 'cannot resume job');
        }
      }
    }
  }

  /** Subscribes to a subject, decodes and validates each message, and never lets a handler crash the loop. */
  private serve<N extends SchemaName>(subject: string, schema: N, handle: (m: BusMsg, msg: any) => unknown): void {
    const sub = this.bus.subscribe(subject);
    this.subs.push(sub);
    void (async () => {
      for await (const m of sub) {
        const d = decode(schema, m.data);
        if (!d.ok) {
          this.drops.dropped(m.subject, d.reason, d.detail);
          if (d.reason === 'version' && m.reply) m.respond(encode(errorReply(ErrorCode.Protocol, versionMismatchMessage(d.version, 'peer'))));
          else if (m.reply && d.reason === 'shape' && subject === this.subj.ctlAll) m.respond(encode(errorReply(ErrorCode.Usage, d.detail)));
          continue;
        }
        try {
          await handle(m, d.msg);
        } catch (err) {
          const w = toWireError(err);
          // A refused request (bad input, unknown job) is the requester's problem; anything else is ours.
          if (err instanceof ShoalError && err.code !== ErrorCode.Internal) this.log.warn({ subject: m.subject, code: w.code, err: w.message }, 'request refused');
          else this.log.error({ subject: m.subject, err: w.message, stack: (err as Error)?.stack }, 'handler failed');
          if (m.reply) m.respond(encode(errorReply(w.code, w.message)));
        }
      }
    })();
  }

  private onHello(m: BusMsg, h: { agent: string; info: any; held: any[] }): void {
    const { epoch, seq, commands } = this.scheduler.hello(h.agent, h.info, h.held, Date.now());
    m.respond(encode({ kind: 'welcome', v: PROTOCOL_VERSION, agent: h.agent, epoch, boot: this.boot, heartbeatMs: this.opts.heartbeatMs, seq }));
    this.run(commands);
  }

  private onPull(m: BusMsg, p: { agent: string } & Parameters<Scheduler['pull']>[1]): void {
    this.run(this.scheduler.pull(p.agent, p, m, Date.now()));
  }

  private async onCtl(m: BusMsg, req: CtlRequest): Promise<void> {
    switch (req.kind) {
      case 'submit': {
        const r = await this.submit(req.spec);
        m.respond(encode({ kind: 'submitted', v: PROTOCOL_VERSION, ...r }));
        return;
      }
      case 'status': {
        const now = Date.now();
        const st = this.scheduler.status(now, req.job);
        // A finished job counts as done once its output is closed and its summary written
        // (so `--wait` returns with the summary there); a cancel shows at once.
        for (const j of st.jobs) if (j.state !== 'running' && j.state !== 'cancelled' && !this.finished.has(j.job)) j.state = 'running';
        for (const rec of this.expanding.values()) if (!req.job || req.job === rec.job) st.jobs.push(expandingStatus(rec));
        if (req.job && st.jobs.length === 0) {
          m.respond(encode(errorReply(ErrorCode.NotFound, `no job named '${req.job}' (known: ${this.scheduler.jobNames().join(', ') || 'none'})`)));
          return;
        }
        m.respond(encode({ kind: 'status', v: PROTOCOL_VERSION, now, ...st }));
        return;
      }
      case 'cancel': {
        const state = this.scheduler.jobState(req.job);
        if (state === null) {
          m.respond(encode(errorReply(ErrorCode.NotFound, `no job named '${req.job}'`)));
          return;
        }
        this.run(this.scheduler.cancel(req.job, Date.now()));
        m.respond(encode({ kind: 'cancelled', v: PROTOCOL_VERSION, job: req.job, state: this.scheduler.jobState(req.job)! }));
        return;
      }
      case 'drain': {
        const cmds = this.scheduler.drain(req.agent, req.graceMs ?? null, Date.now());
        if (cmds.length === 0) {
          m.respond(encode(errorReply(ErrorCode.NotFound, `no active agent named '${req.agent}'`)));
          return;
        }
        this.run(cmds);
        m.respond(encode({ kind: 'draining', v: PROTOCOL_VERSION, agent: req.agent }));
        return;
      }
    }
  }

  /** Validates, fingerprints, opens the output and hands the job to the scheduler. */
  async submit(spec: JobSpec): Promise<{ job: string; tasks: number; alreadyDone: number; out: string }> {
    const { kind } = kindOf(spec);
    if (kind) kind.checkParams(spec.params);
    const state = this.scheduler.jobState(spec.job);
    if (state === 'running' || this.expanding.has(spec.job)) throw new ShoalError(ErrorCode.Usage, `job '${spec.job}' is already running`);
    const out = resolve(spec.out ?? defaultOutPath(this.opts.outDir, spec.job));
    const fp = fingerprint(spec.kind, spec.params, kind ? kind.inputs(kind.checkParams(spec.params)) : []);
    const prior = readJobRecord(jobFilePathFor(out));
    if (prior) {
      if (prior.job !== spec.job) {
        throw new ShoalError(ErrorCode.Fingerprint, `output ${out} belongs to job '${prior.job}', not '${spec.job}': resume it with --job ${prior.job}, or choose another --out`);
      }
      if (prior.fingerprint !== fp.hash) {
        throw new ShoalError(
          ErrorCode.Fingerprint,
          `refusing to resume job '${spec.job}' into ${out}: ${describeChange(prior, spec.kind, spec.params, fp.inputs)}. Use another --out (or --job), or remove the old output to start over`,
        );
      }
    }
    if (state !== null) this.scheduler.forget(spec.job);
    const rec: JobRecord = {
      ...(prior?.expandSlots !== undefined ? { expandSlots: prior.expandSlots, expandMaxAgentSlots: prior.expandMaxAgentSlots ?? 0 } : {}),
      job: spec.job,
      kind: spec.kind,
      params: spec.params,
      out,
      fingerprint: fp.hash,
      inputs: fp.inputs,
      state: 'running',
      submittedAt: Date.now(),
      ...(spec.maxAttempts !== undefined ? { maxAttempts: spec.maxAttempts } : {}),
      ...(spec.granularity !== undefined ? { granularity: spec.granularity } : {}),
      ...(spec.speculate !== undefined ? { speculate: spec.speculate } : {}),
    };
    return this.admit(rec);
  }

  /** Expands, opens the output (repairing it), reads what is done and schedules. */
  private async admit(rec: JobRecord): Promise<{ job: string; tasks: number; alreadyDone: number; out: string }> {
    const spec: JobSpec = { job: rec.job, kind: rec.kind, params: rec.params, out: rec.out };
    if (rec.maxAttempts !== undefined) spec.maxAttempts = rec.maxAttempts;
    this.expanding.set(rec.job, rec);
    try {
      const { kind, opts } = kindOf(spec);
      // The first expansion fixes the slot count for every later one (task ids are the journal).
      const cap = this.scheduler.capacity();
      rec.expandSlots ??= cap.slots;
      rec.expandMaxAgentSlots ??= cap.maxAgentSlots;
      const tasks = await expandJob(spec, kind, { slots: rec.expandSlots, maxAgentSlots: rec.expandMaxAgentSlots }, (msg, f) => this.log.info({ job: rec.job, ...f }, msg));
      // Expanded first: a job refused here leaves no output file and no open writer behind.
      const opened = decode('SinkCtlReply', await this.bus.request(this.subj.sinkCtl, encode({ kind: 'open', v: PROTOCOL_VERSION, job: rec.job, jobKind: rec.kind, params: rec.params, out: rec.out }), { timeoutMs: 60_000 }));
      if (!opened.ok) throw new ShoalError(ErrorCode.Internal, `sink answered badly: ${opened.detail}`);
      if (opened.msg.kind === 'error') throw new ShoalError(opened.msg.code as ErrorCode, opened.msg.message);
      const journal = await scanJournal(rec.out, rec.job, false);
      this.records.set(rec.job, rec);
      if (this.opts.persist) this.registry.save(rec);
      else persistBesideOutput(rec);
      this.expanding.delete(rec.job);
      const split = splitterFor(spec, kind);
      const jobOpts = { ...opts, granularity: rec.granularity ?? 'auto', ...(rec.speculate !== undefined ? { speculate: rec.speculate } : {}), ...(split ? { split } : {}), ...(kind?.secondsPerCost ? { secondsPerCost: kind.secondsPerCost } : {}) };
      this.run(this.scheduler.submit(spec, tasks, journal.done, jobOpts, Date.now()));
      // Counted by the scheduler: a resumed job's split tasks are done as halves.
      const st = this.scheduler.status(Date.now(), rec.job).jobs[0];
      return { job: rec.job, tasks: st?.total ?? tasks.length, alreadyDone: st?.done ?? 0, out: rec.out };
    } finally {
      this.expanding.delete(rec.job);
    }
  }

  /** Carries out the scheduler's commands. */
  private run(cmds: Command[]): void {
    for (const c of cmds) {
      switch (c.kind) {
        case 'reply-pull':
          (c.token as BusMsg).respond(encode({ kind: 'dispatch', v: PROTOCOL_VERSION, seq: c.seq, jobs: c.jobs, bundles: c.bundles }));
          break;
        case 'rejoin':
          (c.token as BusMsg).respond(encode({ kind: 'rejoin', v: PROTOCOL_VERSION, reason: c.reason }));
          break;
        case 'abort':
          this.publish(this.subj.agentCmd(c.agent), { kind: 'abort', v: PROTOCOL_VERSION, job: c.job, ...(c.tasks ? { tasks: c.tasks } : {}), reason: c.reason });
          break;
        case 'drain-agent':
          this.publish(this.subj.agentCmd(c.agent), { kind: 'drain', v: PROTOCOL_VERSION, ...(c.graceMs !== null ? { graceMs: c.graceMs } : {}) });
          break;
        case 'error-rows': {
          const rec = this.records.get(c.job);
          const now = Date.now();
          const g = new GroupBuilder(c.job);
          for (const r of c.rows) {
            g.add(r.id, r.attempt, false, 0, errorRow({ job: c.job, task: r.id, kind: rec?.kind ?? 'unknown', attempt: r.attempt, agent: 'coordinator', host: this.host, worker: null, start: now, end: now }, r.error));
          }
          this.errors.push(g.build());
          break;
        }
        case 'job-ended':
          void this.finish(c.job, c.state);
          break;
        case 'log':
          this.log[c.level](c.fields, c.msg);
          break;
      }
    }
  }

  private publish(subject: string, msg: object): void {
    try {
      this.bus.publish(subject, encode(msg));
    } catch (err) {
      this.log.warn({ subject, err: (err as Error).message }, 'publish failed');
    }
  }

  /** Closes the job's output (the sink writes the summary), records the end, tells listeners. */
  private async finish(job: string, state: JobStatus['state']): Promise<void> {
    const rec = this.records.get(job);
    let summary: string | null = null;
    for (let attempt = 0; attempt < 5 && !this.stopped; attempt++) {
      try {
        const r = decode('SinkCtlReply', await this.bus.request(this.subj.sinkCtl, encode({ kind: 'close', v: PROTOCOL_VERSION, job, state }), { timeoutMs: 120_000 }));
        if (r.ok && r.msg.kind === 'closed') summary = r.msg.summary;
        break;
      } catch (err) {
        this.log.warn({ job, err: (err as Error).message }, 'closing the output failed; retrying');
        await new Promise((r) => setTimeout(r, 500 * (attempt + 1)));
      }
    }
    if (rec) {
      rec.state = state;
      try {
        if (this.opts.persist) this.registry.save(rec);
        else persistBesideOutput(rec);
      } catch (err) {
        this.log.error({ job, err: (err as Error).message }, 'cannot record the job end');
      }
    }
    this.finished.set(job, { state, summary });
    this.publish(this.subj.events, { kind: 'job-ended', v: PROTOCOL_VERSION, job, state });
  }

  /** Jobs whose end has been fully recorded (output closed, summary written). */
  readonly finished = new Map<string, { state: JobStatus['state']; summary: string | null }>();

  /** Stops timers and subscriptions. Idempotent. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    for (const s of this.subs.splice(0)) s.unsubscribe();
    await this.errors.outbox.drain(2000);
    this.errors.outbox.close();
  }
}

function persistBesideOutput(rec: JobRecord): void {
  writeJobRecord(jobFilePathFor(rec.out), rec);
}

function expandingStatus(rec: JobRecord): JobStatus {
  return {
    job: rec.job,
    kind: rec.kind,
    state: 'expanding',
    total: 0,
    done: 0,
    failed: 0,
    running: 0,
    queued: 0,
    retried: 0,
    speculated: 0,
    rate: 0,
    etaS: null,
    startedAt: rec.submittedAt,
    endedAt: null,
    out: rec.out,
    notes: [],
  };
}
