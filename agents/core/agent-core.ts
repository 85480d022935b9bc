/**
 * The agent's pure core: its session, its bundles and slots, the reports it owes the
 * coordinator, and the drain. Events come in as method calls (with `now` where time matters)
 * and commands go out for the shell to carry out on the bus, the pool and the timers. No I/O
 * here: the only memory it shares is each bundle's flags (flags.ts), which the workers write.
 */
import type { HeldTask, InterpreterMemory, JobInfo, ResultGroup, TaskMsg, TaskReport, Welcome } from '../../protocol/index.js';
import { ErrorCode } from '../../src/errors.js';
import { errorRow, GroupBuilder, taskText } from '../../src/rows/index.js';
import { CoordinatorWatch } from '../coordinators.js';
import { abortBundle, abortTask, handBackTask, isMarked, runningIndex, taskCount } from '../flags.js';
import type { BundleEnd } from '../worker-types.js';
import { BundleBook, type Bundle } from './bundle-book.js';
import { MemoryBook, type InterpreterRss } from './memory-book.js';
import { linkOf, moveSession, type Link, type Session, type SessionName } from './session.js';

const NO_INPUTS: ReadonlyMap<string, unknown> = new Map();

/** What the shell is to do. */
export type AgentCommand =
  /** Run the bundle on the pool; tell `bundleEnded` how it ended. */
  | { readonly kind: 'run'; readonly bundle: Bundle }
  /** Abort the bundle on the pool (its flags are marked already). */
  | { readonly kind: 'abort'; readonly bundle: Bundle }
  /** Send a result group to the sink (through the outbox). */
  | { readonly kind: 'send'; readonly group: ResultGroup }
  /** Something the pull loop waits on changed: wake it. */
  | { readonly kind: 'wake' }
  /** Reports are waiting: if a pull is parked at the coordinator, send them now, not when it returns. */
  | { readonly kind: 'report-if-parked' }
  /** Send the waiting reports now, with a pull that asks for nothing. */
  | { readonly kind: 'report' }
  /** Send a heartbeat now. */
  | { readonly kind: 'heartbeat' }
  /** Send heartbeats every `ms` from now on. */
  | { readonly kind: 'heartbeat-every'; readonly ms: number }
  /** Call `graceOver` after `ms` unless the drain ends first. */
  | { readonly kind: 'grace'; readonly ms: number }
  /** Nothing runs any more: hand the rest back, flush the outbox, exit 0. */
  | { readonly kind: 'flush' }
  /** Stop at once with this exit code. */
  | { readonly kind: 'exit'; readonly code: number; readonly why: string }
  /** Free memory crossed --min-free-memory: pulling stops (low) or resumes. */
  | { readonly kind: 'memory'; readonly low: boolean; readonly free: number };

/** What the core needs to know of its agent. */
export interface CoreOptions {
  agent: string;
  host: string;
  /** Worker threads. */
  slots: number;
  /** Bundles held beyond the running ones. */
  prefetch: number;
  /** Bundles one pool thread holds at once. */
  depth: number;
  /** Memory this agent may use, bytes. */
  memoryLimit: number;
  /** Stop pulling while free memory is below this, bytes (0 = never). */
  minFreeMemory: number;
  /** Free memory when the agent starts, bytes. */
  freeMemory: number;
  /** The indices of the GPUs tasks may be given (default none). */
  gpus?: readonly number[];
  /** Kinds that run in interpreters the shell measures (memory-book.ts; default python). */
  interpreterKinds?: readonly string[];
}

/** The figures of a pull or a heartbeat. */
export interface LoadFacts {
  busySlots: number;
  freeSlots: number;
  memory: number;
  /** GPUs running bundles hold, and GPUs free for new ones (neither counts queued bundles' GPUs as free). */
  busyGpus: number;
  freeGpus: number;
  state: 'active' | 'draining' | 'paused';
  done: number;
  /** The live interpreters' memory, per job. */
  interpreters: InterpreterMemory[];
}

export class AgentCore {
  private session: Session = { s: 'starting' };
  private readonly book: BundleBook;
  private readonly memory: MemoryBook;
  private readonly jobs = new Map<string, JobInfo>();
  private reports: TaskReport[] = [];
  private readonly coordinators = new CoordinatorWatch();
  private freeMemory: number;
  /** Free memory is below --min-free-memory (a measurement, not a session state: it only stops pulls). */
  private memoryLow = false;
  private lastRejoin = -Infinity;
  private rejoinDelay = 0;
  /** Tasks run to an end. */
  done = 0;

  constructor(private readonly opts: CoreOptions) {
    this.book = new BundleBook(opts.slots, opts.depth, opts.gpus ?? []);
    this.freeMemory = opts.freeMemory;
    this.memory = new MemoryBook(new Set(opts.interpreterKinds ?? ['python']));
  }

  private to(next: Session, event: string): void {
    this.session = moveSession(this.session, next, event);
  }

  /** The session's state. */
  get state(): SessionName {
    return this.session.s;
  }

  /** The link to the coordinator, or null while (re)joining. */
  get link(): Link | null {
    return linkOf(this.session);
  }

  get bundles(): BundleBook {
    return this.book;
  }

  // ---- events ----

  /** The shell has started its loops. */
  start(): AgentCommand[] {
    if (this.session.s === 'starting') this.to({ s: 'joining' }, 'start');
    return [];
  }

  /** A coordinator welcomed the agent. */
  welcomed(w: Pick<Welcome, 'coordinator' | 'epoch' | 'seq' | 'heartbeatMs'>, now: number): AgentCommand[] {
    const s = this.session.s;
    // Stopped while the hello was on its way: starting heartbeats now would keep the process alive.
    if (s === 'stopped') return [];
    const conflict = this.coordinators.welcomed(w.coordinator, now);
    if (conflict) return [{ kind: 'exit', code: 2, why: conflict }];
    const link: Link = { epoch: w.epoch, seq: w.seq };
    if (s === 'draining' || s === 'stopping') this.to({ s, link }, 'welcome');
    else this.to({ s: 'active', link }, 'welcome');
    return [{ kind: 'heartbeat-every', ms: w.heartbeatMs }];
  }

  /**
   * The coordinator asked the agent to join again. Returns how long to wait before the hello:
   * asked again and again (a coordinator in trouble), the agent joins no faster than this.
   */
  rejoinAsked(now: number): number {
    const s = this.session.s;
    if (s === 'active') this.to({ s: 'joining' }, 'rejoin');
    else if (s === 'draining' || s === 'stopping') this.to({ s, link: null }, 'rejoin');
    this.rejoinDelay = now - this.lastRejoin < 2000 ? Math.min(5000, Math.max(100, this.rejoinDelay * 2)) : 0;
    this.lastRejoin = now;
    return this.rejoinDelay;
  }

  /** A pull brought bundles. */
  dispatched(seq: number, jobs: readonly JobInfo[], bundles: ReadonlyArray<{ job: string; threads: number; gpus?: number; tasks: TaskMsg[] }>): AgentCommand[] {
    const link = this.link;
    if (link) link.seq = seq;
    for (const j of jobs) this.jobs.set(j.job, j);
    for (const b of bundles) {
      const info = this.jobs.get(b.job);
      // Cannot happen with a sane coordinator; hand the tasks back rather than lose them (or
      // hold them forever: a bundle needing more GPUs than the agent has would never start).
      if (!info || (b.gpus ?? 0) > this.book.gpus) for (const t of b.tasks) this.handBack(b.job, t);
      else this.book.add(b.job, info, b.threads, b.tasks, b.gpus ?? 0);
    }
    return this.feed();
  }

  /**
   * The pool says how a bundle ended; `maxText`: the most text one result may carry on the bus;
   * `inputs`: what the tasks whose error rows the core writes were given, by id (error-inputs.ts).
   */
  bundleEnded(b: Bundle, end: BundleEnd, now: number, maxText: number, inputs: ReadonlyMap<string, unknown> = NO_INPUTS): AgentCommand[] {
    const cancelled = b.state === 'cancelled';
    this.book.ended(b);
    const out: AgentCommand[] = [];
    const giveBack = (t: TaskMsg, i: number): void => {
      if (!cancelled && !isMarked(b.flags, i)) this.handBack(b.job, t);
    };
    switch (end.kind) {
      case 'done': {
        const g = end.out.group;
        if (!cancelled) out.push({ kind: 'send', group: g.text.length > maxText ? this.withoutOversize(g, b, end.out.threadId, now, maxText, inputs) : g });
        this.done += g.ids.length;
        for (const f of end.out.failures) if (!cancelled) this.reports.push({ job: b.job, id: f.id, attempt: f.attempt, error: f.error });
        // The worker answers each task at most once: when the counts add up, none is left over.
        if (g.ids.length + end.out.failures.length === b.tasks.length) break;
        const accounted = new Set<string>(g.ids);
        for (const f of end.out.failures) accounted.add(f.id);
        b.tasks.forEach((t, i) => accounted.has(t.id) || giveBack(t, i));
        break;
      }
      case 'aborted':
      case 'requeue':
        b.tasks.forEach(giveBack);
        break;
      case 'died': {
        const culprit = b.tasks[end.runningIndex];
        for (const [i, t] of b.tasks.entries()) {
          if (t !== culprit) giveBack(t, i);
          else if (cancelled) continue;
          else if (t.final) {
            const g = new GroupBuilder(b.job);
            g.add(t.id, t.attempt, false, 0, errorRow({ job: b.job, task: t.id, kind: b.info.kind, attempt: t.attempt, agent: this.opts.agent, host: this.opts.host, worker: null, start: now, end: now }, end.error, undefined, inputs.get(t.id)));
            out.push({ kind: 'send', group: g.build() });
          } else this.reports.push({ job: b.job, id: t.id, attempt: t.attempt, error: end.error });
        }
        break;
      }
    }
    out.push(...this.feed(), { kind: 'wake' });
    // A pull waiting at the coordinator would carry failures only when it returns (up to
    // pullWaitMs later, long enough to look like a straggler): report them now.
    if (this.reports.length > 0 && this.session.s === 'active') out.push({ kind: 'report-if-parked' });
    if (this.session.s === 'draining' && this.book.running.size === 0) out.push(...this.endGrace('last bundle ended'));
    return out;
  }

  /** The coordinator aborts a job's tasks (`ids`), or the whole job (`ids` null: it was cancelled). */
  abort(job: string, ids: readonly string[] | null): AgentCommand[] {
    const only = ids ? new Set(ids) : null;
    // Not started yet: drop.
    this.book.dropQueued(job, only);
    const out: AgentCommand[] = [];
    for (const b of this.book.running) {
      if (b.job !== job) continue;
      if (!only) {
        this.book.cancel(b);
        abortBundle(b.flags);
        out.push({ kind: 'abort', bundle: b });
        continue;
      }
      b.tasks.forEach((t, i) => only.has(t.id) && abortTask(b.flags, i));
      if (b.tasks.every((_, i) => isMarked(b.flags, i))) out.push({ kind: 'abort', bundle: b });
    }
    return out;
  }

  /**
   * Drain: stop pulling, hand unstarted work back at once, let running tasks finish within
   * `graceMs`, then flush and exit. A second drain ends the grace period now.
   */
  drain(graceMs: number): AgentCommand[] {
    const s = this.session;
    if (s.s === 'draining' || s.s === 'stopping') return this.abortRunning();
    if (s.s === 'stopped') return [];
    this.to({ s: 'draining', link: linkOf(s) }, 'drain');
    for (const b of this.book.takeQueue()) for (const t of b.tasks) this.handBack(b.job, t);
    // Tasks of running bundles that have not started are unstarted leases too: hand them back
    // now, not after the bundle's running task (the worker skips a marked task).
    for (const b of this.book.running) {
      const n = taskCount(b.flags);
      for (let i = runningIndex(b.flags) + 1; i < n; i++) {
        const t = b.tasks[i]!;
        if (handBackTask(b.flags, i)) this.handBack(b.job, t);
      }
    }
    const out: AgentCommand[] = [{ kind: 'heartbeat' }, { kind: 'report' }];
    if (this.book.running.size > 0) out.push({ kind: 'grace', ms: graceMs });
    else out.push(...this.endGrace('nothing running'));
    return out;
  }

  /** The grace period is over: abort what still runs (its tasks are handed back as it ends). */
  graceOver(): AgentCommand[] {
    return this.session.s === 'draining' ? this.abortRunning() : [];
  }

  /** Free memory was measured. */
  memoryMeasured(free: number): AgentCommand[] {
    this.freeMemory = free;
    // Bundles waiting for memory may fit now.
    const fed = this.book.heldForMemory > 0 ? this.feed() : [];
    const low = this.opts.minFreeMemory > 0 && free < this.opts.minFreeMemory;
    if (low === this.memoryLow) return fed;
    this.memoryLow = low;
    return [...fed, { kind: 'memory', low, free }, { kind: 'wake' }];
  }

  /** The live interpreters were measured (each second, and as one starts). */
  interpretersMeasured(list: readonly InterpreterRss[]): AgentCommand[] {
    return this.memory.measured(list) ? [...this.feed(), { kind: 'wake' }] : [];
  }

  /** Bytes the agent's interpreters may hold together: its limit, and what the node has free. */
  private get memoryBudget(): number {
    return Math.min(this.opts.memoryLimit, this.freeMemory + this.memory.total);
  }

  /** The shell has stopped (drained, refused, or told to stop). */
  stopped(): void {
    if (this.session.s !== 'stopped') this.to({ s: 'stopped' }, 'stop');
  }

  private endGrace(event: string): AgentCommand[] {
    this.to({ s: 'stopping', link: this.link }, event);
    return [{ kind: 'flush' }];
  }

  private abortRunning(): AgentCommand[] {
    const out: AgentCommand[] = [];
    for (const b of this.book.running) {
      abortBundle(b.flags);
      out.push({ kind: 'abort', bundle: b });
    }
    return out;
  }

  private feed(): AgentCommand[] {
    if (this.session.s === 'stopped') return [];
    return this.book.start((b) => this.memory.admits(b, this.book.running, this.memoryBudget)).map((bundle) => ({ kind: 'run', bundle }) as const);
  }

  /** Replaces the rows of tasks whose result alone is too large for the bus with an error row. */
  private withoutOversize(g: ResultGroup, b: Bundle, worker: number, now: number, max: number, inputs: ReadonlyMap<string, unknown>): ResultGroup {
    const out = new GroupBuilder(g.job);
    for (let i = 0; i < g.ids.length; i++) {
      const text = taskText(g, i);
      if (text.length <= max) {
        out.add(g.ids[i]!, g.attempts[i]!, g.status[i] === 'o', g.ms[i]!, text);
        continue;
      }
      const head = { job: b.job, task: g.ids[i]!, kind: b.info.kind, attempt: g.attempts[i]!, agent: this.opts.agent, host: this.opts.host, worker, start: now, end: now };
      out.add(g.ids[i]!, g.attempts[i]!, false, g.ms[i]!, errorRow(head, { code: ErrorCode.TooLarge, message: `result of ${text.length} characters exceeds the bus limit of ${max}` }, undefined, inputs.get(g.ids[i]!)));
    }
    return out.build();
  }

  /** Asserts the core's invariants (tests call it after every step). */
  check(): void {
    this.book.check();
    this.memory.check();
  }

  // ---- questions the shell asks ----

  /** Whether the pull loop goes on: while it may pull, or while it owes reports. */
  get pulling(): boolean {
    const s = this.session.s;
    return s === 'joining' || s === 'active' || ((s === 'draining' || s === 'stopping') && this.reports.length > 0);
  }

  /** Whether a hello is worth sending (the agent is not stopped, nor unstarted). */
  get joinable(): boolean {
    const s = this.session.s;
    return s === 'joining' || s === 'active' || s === 'draining' || s === 'stopping';
  }

  /** Bundles to ask for now (0 = none). */
  want(outboxFull: boolean): number {
    // A bundle waiting for memory: more would only wait behind it (another agent may run them).
    if (this.session.s !== 'active' || this.memoryLow || outboxFull || this.book.heldForMemory > 0) return 0;
    return Math.max(0, this.opts.slots + this.opts.prefetch - this.book.held);
  }

  get hasReports(): boolean {
    return this.reports.length > 0;
  }

  /** Takes the waiting reports to send them. */
  takeReports(): TaskReport[] {
    const r = this.reports;
    this.reports = [];
    return r;
  }

  /** Puts reports back (their send failed), ahead of newer ones. */
  putBackReports(r: TaskReport[]): void {
    this.reports = r.concat(this.reports);
  }

  /** Every task of a queued or running bundle (the shell adds the outbox's to its hello). */
  heldTasks(): HeldTask[] {
    return this.book.heldTasks();
  }

  /** What a heartbeat or a pull tells of the agent's load. */
  load(): LoadFacts {
    const s = this.session.s;
    return {
      busySlots: this.book.busy,
      freeSlots: this.book.freeSlots,
      memory: Math.max(0, Math.min(this.freeMemory, this.opts.memoryLimit - this.memory.total)),
      busyGpus: this.book.busyGpus,
      freeGpus: this.book.freeGpus,
      state: s === 'draining' || s === 'stopping' ? 'draining' : this.memoryLow ? 'paused' : 'active',
      done: this.done,
      interpreters: this.memory.byJob(),
    };
  }

  /** The coordinator is to have task `t` back, unstarted (no attempt spent). */
  private handBack(job: string, t: TaskMsg): void {
    this.reports.push({ job, id: t.id, attempt: t.attempt });
  }
}
