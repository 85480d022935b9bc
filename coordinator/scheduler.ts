/**
 * The scheduling core: a pure state machine. Events come in as method calls carrying `now`
 * (epoch ms); each returns the commands the actor shell must carry out. No bus, no timers,
 * no clock: the unit tests drive thousands of agents with a simulated clock.
 *
 * Events: submit, hello, pull, heartbeat, committed, cancel, drain, tick.
 * Commands: reply to a pull, abort tasks on an agent, drain an agent, write error rows,
 * a job ended, log lines.
 */
import type { AgentInfo, Bundle, HeldTask, JobInfo, JobSpec, JobState, JobStatus, AgentStatus, TaskReport, CommitGroup, TaskMsg } from '../protocol/index.js';
import type { WireError } from '../src/errors.js';
import { ErrorCode } from '../src/errors.js';
import { moveTask, holders, QUEUED, TransitionLog, wasLeasedTo, type Task, type TaskState } from './task-state.js';
import { Throughput } from './throughput.js';

/** Scheduler options; every field has a default in DEFAULT_SCHEDULER_OPTIONS. */
export interface SchedulerOptions {
  /** An agent silent this long is lost and its tasks are requeued. Default 10,000 ms. */
  agentTimeoutMs: number;
  /** Attempts per task before it becomes an error row. Default 3. */
  maxAttempts: number;
  /** Target work per bundle, in ms of measured task time. Default 50. */
  dispatchMs: number;
  /** Most tasks in one bundle. Default 2048. */
  maxBundleTasks: number;
  /** Most encoded task bytes in one dispatch (kept under the bus's max_payload). Default 512 KiB. */
  maxDispatchBytes: number;
  /** Longest a pull may be parked when there is no work. Default 5,000 ms. */
  maxPullWaitMs: number;
  /** Run a second copy of a straggler when the queue is empty and slots are idle. Default true. */
  speculate: boolean;
  /** A task is a straggler when it has run this many times its expected duration. Default 3. */
  speculateFactor: number;
  /**
   * A splittable task is split while dispatching when it exceeds a fair share (1/slots) of its
   * job's queued work and is expected to run at least this many seconds (so each half runs a
   * second or more). 0 = never split. Default 2.
   */
  splitMinS: number;
  /**
   * A gap between two ticks longer than this means the coordinator itself was paused or
   * blocked: every agent's last sign of life moves on by the gap before anyone is judged
   * lost (they could not be heard meanwhile). Default 1,000 ms.
   */
  tickGapMs: number;
  /** A lost agent is forgotten (no longer listed) this long after it was lost; it may join again. Default 300,000 ms. */
  lostRetentionMs: number;
  /** Most agents known at once, lost ones included; a hello beyond that is refused. Default 100,000. */
  maxAgents: number;
  /** Most tasks agents may say they hold for jobs a restarted coordinator has not loaded yet. Default 1,000,000. */
  maxHeldEarly: number;
  /** Bundles one pull may take, per slot of the agent (its free slots plus prefetch). Default 3. */
  maxBundlesPerSlot: number;
}

export const DEFAULT_SCHEDULER_OPTIONS: SchedulerOptions = {
  agentTimeoutMs: 10_000,
  maxAttempts: 3,
  dispatchMs: 50,
  maxBundleTasks: 2048,
  maxDispatchBytes: 512 * 1024,
  maxPullWaitMs: 5_000,
  speculate: true,
  speculateFactor: 3,
  splitMinS: 2,
  tickGapMs: 1_000,
  lostRetentionMs: 300_000,
  maxAgents: 100_000,
  maxHeldEarly: 1_000_000,
  maxBundlesPerSlot: 3,
};

/** A task as a kind's expand gives it, plus its encoded size. */
export interface NewTask {
  id: string;
  cost: number;
  memory?: number;
  threads?: number;
  bytes?: number;
  ref: unknown;
}

/** What the shell must do. */
export type Command =
  | { kind: 'reply-pull'; token: unknown; agent: string; seq: number; jobs: JobInfo[]; bundles: Bundle[] }
  | { kind: 'rejoin'; token: unknown; agent: string; reason: string }
  | { kind: 'abort'; agent: string; job: string; tasks: string[] | null; reason: string }
  | { kind: 'drain-agent'; agent: string; graceMs: number | null }
  | { kind: 'error-rows'; job: string; rows: Array<{ id: string; attempt: number; error: WireError }> }
  | { kind: 'job-ended'; job: string; state: JobState }
  | { kind: 'log'; level: 'info' | 'warn' | 'debug'; msg: string; fields: Record<string, unknown> };

/** Granularity a job asks for: adaptive, or a fixed number of tasks per bundle. */
export type Granularity = 'auto' | number;

export interface JobOptions {
  granularity: Granularity;
  /** Second copies of stragglers for this job (default: the scheduler's option). */
  speculate?: boolean;
  /** Kinds only agents started with --allow-command may run. */
  needsCommand: boolean;
  /** Whether the kind is built in (any agent) or comes from handler modules (agents that list it). */
  builtin: boolean;
  /**
   * Splits a task that has not started into two (ids `<id>/0` and `<id>/1`) doing exactly its
   * work, or returns null; absent for kinds that cannot split. Deterministic (see submit).
   */
  split?: (t: NewTask) => [NewTask, NewTask] | null;
  /** The kind's rough seconds per cost unit, used until the job's first results are measured. */
  secondsPerCost?: number;
  /**
   * The job continues earlier work (a coordinator restart, or a job submitted again into its
   * output): tasks agents say they hold are adopted. A fresh job adopts nothing an agent
   * claims unless it was leased to that agent.
   */
  adoptHeld?: boolean;
  /** Error records already in the output (a resumed job), so status counts them too. */
  errorRecords?: number;
}

interface Job {
  readonly spec: JobSpec;
  readonly name: string;
  readonly opts: JobOptions;
  readonly maxAttempts: number;
  state: JobState;
  readonly tasks: Map<string, Task>;
  /** Largest first; queued tasks at index >= qpos (others are skipped lazily). */
  readonly order: Task[];
  qpos: number;
  /** Requeued tasks, served before the ordered queue. */
  retry: Task[];
  readonly counts: Record<TaskState['s'], number>;
  errors: number;
  /** Error rows among the records of committed tasks. */
  errorRecords: number;
  /** Why the job's output cannot be written now (dispatch waits); null while it can. */
  stalled: string | null;
  retried: number;
  speculated: number;
  /** Tasks split in two while dispatching. */
  splits: number;
  queuedCost: number;
  readonly throughput: Throughput;
  readonly startedAt: number;
  endedAt: number | null;
  readonly notes: Set<string>;
  readonly info: JobInfo;
  /** [time, committed] samples for the recent rate. */
  readonly samples: Array<[number, number]>;
}

type AgentState = 'active' | 'draining' | 'lost';

interface ParkedPull {
  token: unknown;
  want: number;
  freeSlots: number;
  memory: number;
  until: number;
}

interface Agent {
  readonly id: string;
  info: AgentInfo;
  epoch: number;
  state: AgentState;
  lastSeen: number;
  /** When it was declared lost (0 while it is not). */
  lostAt: number;
  readonly leases: Set<Task>;
  /** Dispatch seq → its tasks, until the agent confirms receipt with a later pull. */
  readonly dispatches: Map<number, Task[]>;
  seq: number;
  busy: number;
  memory: number;
  done: number;
  /** Jobs whose params this agent has been sent. */
  readonly knows: Set<string>;
  pull: ParkedPull | null;
}

export interface PullParams {
  epoch: number;
  seq: number;
  want: number;
  freeSlots: number;
  memory: number;
  waitMs: number;
  reports: TaskReport[];
  /** Reports sent beside a parked pull (see the Pull message): no seq check, no new parking. */
  reportsOnly?: boolean;
}

const DONE_OK: TaskState = { s: 'done', status: 'ok' };
const DONE_ERROR: TaskState = { s: 'done', status: 'error' };

/** Fixed per-task overhead assumed when sizing bundles (framework time not in `ms`). */
const TASK_OVERHEAD_S = 5e-6;
/** Bundle size while a job has neither a measurement nor its kind's estimate of speed. */
const INITIAL_BUNDLE_TASKS = 1;
/** How far past the queue head one pull looks for a task that fits the agent. */
const MAX_SCAN = 512;

export class Scheduler {
  readonly opts: SchedulerOptions;
  private readonly jobs = new Map<string, Job>();
  private readonly running: Job[] = [];
  private readonly agents = new Map<string, Agent>();
  private nextEpoch = 1;
  private event = 0;
  private activeSlots = 0;
  private lastSample = 0;
  /** Recent task moves, for the message of an illegal one. */
  private readonly transitions = new TransitionLog();
  /** Tasks agents hold for jobs not loaded yet (job → task → holder). */
  private readonly heldEarly = new Map<string, Map<string, { agent: string; attempt: number }>>();
  /** Agents whose pull is parked, waiting for work. */
  private readonly parked = new Set<Agent>();
  /** Jobs a restarted coordinator is loading: only their held tasks are kept in heldEarly. */
  private readonly expected = new Set<string>();
  private heldEarlyCount = 0;
  private lastTick = 0;
  /** No speculative copies before this time (right after the coordinator was paused). */
  private speculateAfter = 0;

  constructor(opts: Partial<SchedulerOptions> = {}) {
    this.opts = { ...DEFAULT_SCHEDULER_OPTIONS, ...opts };
  }

  // ───────────────────────────── events ─────────────────────────────

  /** A new (or resumed) job. `done` lists tasks already committed in the output. */
  submit(spec: JobSpec, tasks: NewTask[], done: ReadonlyMap<string, 'ok' | 'error'>, jobOpts: JobOptions, now: number): Command[] {
    const ev = ++this.event;
    const out: Command[] = [];
    if (this.jobs.has(spec.job)) throw new Error(`job ${spec.job} already exists`);
    const job: Job = {
      spec,
      name: spec.job,
      opts: jobOpts,
      maxAttempts: spec.maxAttempts ?? this.opts.maxAttempts,
      state: 'running',
      tasks: new Map(),
      order: [],
      qpos: 0,
      retry: [],
      counts: { queued: 0, leased: 0, failing: 0, done: 0, cancelled: 0 },
      errors: 0,
      errorRecords: jobOpts.errorRecords ?? 0,
      stalled: null,
      retried: 0,
      speculated: 0,
      splits: 0,
      queuedCost: 0,
      throughput: new Throughput(),
      startedAt: now,
      endedAt: null,
      notes: new Set(),
      info: { job: spec.job, kind: spec.kind, params: spec.params },
      samples: [[now, 0]],
    };
    // Tasks split before the job stopped: their halves' ids are in the output (or held by agents).
    const wasSplit = splitParents([done.keys(), this.heldEarly.get(spec.job)?.keys() ?? []]);
    const add = (t: NewTask): void => {
      const halves = wasSplit.has(t.id) && !done.has(t.id) ? jobOpts.split?.(t) : null;
      if (halves) {
        job.splits++;
        for (const h of halves) add(h);
        return;
      }
      if (job.tasks.has(t.id)) throw new Error(`job ${spec.job}: task id ${t.id} is not unique`);
      const prior = done.get(t.id);
      const task = newTask(spec.job, t, prior ? (prior === 'ok' ? DONE_OK : DONE_ERROR) : QUEUED);
      job.tasks.set(t.id, task);
      job.counts[task.state.s]++;
      if (prior === 'error') job.errors++;
      if (!prior) {
        job.order.push(task);
        job.queuedCost += task.cost;
      }
    };
    for (const t of tasks) add(t);
    job.order.sort((a, b) => b.cost - a.cost);
    job.samples[0] = [now, job.counts.done];
    this.adoptEarly(job, now, ev);
    this.jobs.set(job.name, job);
    this.running.push(job);
    out.push(log('info', 'job submitted', { job: job.name, kind: spec.kind, tasks: job.tasks.size, resplit: job.splits, alreadyDone: job.counts.done, event: ev }));
    this.maybeEnd(job, now, out);
    this.wake(now, out);
    return out;
  }

  /**
   * Why a hello from agent `id` must be refused (null: it may join): the coordinator knows
   * `maxAgents` agents already, lost ones forgotten first to make room.
   */
  refusesHello(id: string, now: number): string | null {
    if (this.agents.has(id) || this.agents.size < this.opts.maxAgents) return null;
    this.prune(now, true);
    return this.agents.size < this.opts.maxAgents ? null : `the coordinator knows ${this.agents.size} agents, its limit: agent ${id} is refused`;
  }

  /** An agent introduces itself (first time, or again after a restart or a loss). */
  hello(id: string, info: AgentInfo, held: HeldTask[], now: number): { epoch: number; seq: number; commands: Command[] } {
    let a = this.agents.get(id);
    const ev = ++this.event;
    const out: Command[] = [];
    const epoch = this.nextEpoch++;
    if (a) {
      const heldKeys = new Set(held.map(([job, task]) => `${job}\u0000${task}`));
      // A known agent again: leases it no longer holds were lost on the way.
      if (a.state === 'active') this.activeSlots -= a.info.slots;
      for (const t of [...a.leases]) {
        if (!heldKeys.has(`${t.job}\u0000${t.id}`)) this.unlease(t, a, 'handback', now, ev, out);
      }
      a.info = info;
      a.epoch = epoch;
      a.state = 'active';
      a.lastSeen = now;
      a.lostAt = 0;
      a.dispatches.clear();
      a.knows.clear();
      this.unpark(a);
    } else {
      a = {
        id,
        info,
        epoch,
        state: 'active',
        lastSeen: now,
        lostAt: 0,
        leases: new Set(),
        dispatches: new Map(),
        seq: 0,
        busy: 0,
        memory: info.memory.available,
        done: 0,
        knows: new Set(),
        pull: null,
      };
      this.agents.set(id, a);
    }
    this.activeSlots += info.slots;
    const adopted = this.adoptHeld(a, held, now, ev, out);
    out.push(
      log('info', 'agent joined', {
        agent: id,
        host: info.host,
        slots: info.slots,
        cores: info.cpus.usable,
        memoryGB: +(info.memory.limit / 2 ** 30).toFixed(1),
        spot: info.spot,
        epoch,
        adopted,
        event: ev,
      }),
    );
    this.wake(now, out);
    return { epoch, seq: a.seq, commands: out };
  }

  /**
   * Tasks an agent says it still holds. Kept leased to it where that is believable: the task
   * was leased to it in this coordinator's life, or its job continues earlier work and nobody
   * here has run the task yet. Held tasks of a job being loaded after a restart wait in
   * heldEarly (bounded); other claims are told to stop. Returns how many were adopted.
   */
  private adoptHeld(a: Agent, held: HeldTask[], now: number, ev: number, out: Command[]): number {
    let adopted = 0;
    let unknown = 0;
    const refused = new Map<string, string[]>();
    for (const [jobName, taskId, attempt] of held) {
      const job = this.jobs.get(jobName);
      if (!job) {
        if (!this.expected.has(jobName)) {
          unknown++;
          continue;
        }
        let m = this.heldEarly.get(jobName);
        if (!m) this.heldEarly.set(jobName, (m = new Map()));
        if (!m.has(taskId)) {
          if (this.heldEarlyCount >= this.opts.maxHeldEarly) {
            unknown++;
            continue;
          }
          this.heldEarlyCount++;
        }
        m.set(taskId, { agent: a.id, attempt });
        continue;
      }
      const t = job.tasks.get(taskId) ?? (job.opts.adoptHeld ? this.materialize(job, taskId, ev, out) : null);
      const mine = t !== null && t !== undefined && wasLeasedTo(t, a.id);
      if (!t || (!mine && !job.opts.adoptHeld)) {
        if (job.state === 'running') push(refused, jobName, taskId);
        continue;
      }
      if (t.state.s === 'done' || t.state.s === 'cancelled') {
        out.push({ kind: 'abort', agent: a.id, job: jobName, tasks: [taskId], reason: 'already committed' });
      } else if (t.state.s === 'queued' && (mine || !t.started)) {
        this.setState(job, t, { s: 'leased', agent: a.id, since: now, dispatch: 0, copy: null }, ev);
        job.queuedCost -= t.cost;
        t.attempt = Math.max(t.attempt, attempt);
        a.leases.add(t);
        adopted++;
      } else if (t.state.s === 'leased' && holders(t.state).includes(a.id)) {
        adopted++;
      }
    }
    for (const [job, tasks] of refused) out.push({ kind: 'abort', agent: a.id, job, tasks, reason: 'not leased to this agent' });
    if (unknown > 0 || refused.size > 0) {
      out.push(log('warn', 'an agent holds tasks this coordinator did not lease to it; ignored', { agent: a.id, unknownJobs: unknown, notLeased: [...refused.values()].reduce((n, x) => n + x.length, 0), event: ev }));
    }
    return adopted;
  }

  /** An agent asks for work (and reports failures and hand-backs). */
  pull(id: string, p: PullParams, token: unknown, now: number): Command[] {
    const ev = ++this.event;
    const out: Command[] = [];
    const a = this.agents.get(id);
    if (!a || a.state === 'lost' || a.epoch !== p.epoch) {
      out.push({ kind: 'rejoin', token, agent: id, reason: !a ? 'unknown agent' : a.state === 'lost' ? 'agent was declared lost' : 'stale epoch' });
      return out;
    }
    a.lastSeen = now;
    // What an agent asks for is bounded by what it said it has, whatever it asks.
    const want = Math.min(p.want, a.info.slots * this.opts.maxBundlesPerSlot);
    const freeSlots = Math.min(p.freeSlots, a.info.slots);
    const memory = Math.min(p.memory, a.info.memory.limit);
    if (p.reportsOnly) {
      for (const r of p.reports) this.report(a, r, now, ev, out);
      out.push({ kind: 'reply-pull', token, agent: id, seq: a.seq, jobs: [], bundles: [] });
      this.wake(now, out);
      return out;
    }
    a.memory = memory;
    // Dispatches the agent never received (its seq is behind) go back to the queue.
    for (const [seq, tasks] of a.dispatches) {
      if (seq <= p.seq) {
        a.dispatches.delete(seq);
        continue;
      }
      for (const t of tasks) {
        if (t.state.s === 'leased' && t.state.agent === id && t.state.dispatch === seq) this.unlease(t, a, 'handback', now, ev, out);
      }
      a.dispatches.delete(seq);
      out.push(log('warn', 'dispatch lost on the way; tasks requeued', { agent: id, seq, tasks: tasks.length, event: ev }));
    }
    for (const r of p.reports) this.report(a, r, now, ev, out);
    if (a.pull) out.push({ kind: 'reply-pull', token: a.pull.token, agent: id, seq: a.seq, jobs: [], bundles: [] });
    a.pull = { token, want, freeSlots, memory, until: now + Math.min(p.waitMs, this.opts.maxPullWaitMs) };
    this.parked.add(a);
    if (a.state === 'draining' || want === 0) {
      if (p.waitMs === 0 || want === 0) this.answer(a, [], [], out);
      this.wake(now, out);
      return out;
    }
    this.serve(a, now, ev, out);
    if (a.pull && p.waitMs === 0) this.answer(a, [], [], out);
    this.wake(now, out);
    return out;
  }

  /** Liveness and load. Returns false when the agent must say hello again. */
  heartbeat(id: string, epoch: number, busy: number, memory: number, draining: boolean, now: number): boolean {
    const a = this.agents.get(id);
    if (!a || a.state === 'lost' || a.epoch !== epoch) return false;
    a.lastSeen = now;
    a.busy = Math.min(busy, a.info.slots);
    a.memory = Math.min(memory, a.info.memory.limit);
    if (draining && a.state === 'active') this.setDraining(a);
    return true;
  }

  /** The sink committed rows for these tasks (first result wins; later copies were dropped). */
  committed(g: CommitGroup, now: number): Command[] {
    const ev = ++this.event;
    const out: Command[] = [];
    const job = this.jobs.get(g.job);
    if (!job) return out;
    const from = g.from;
    // Consecutive tasks usually share their holder: look it up once per run of them.
    let holderId = '';
    let holder: Agent | undefined;
    let sumMs = 0;
    let sumCost = 0;
    let measured = 0;
    let committed = 0;
    for (let i = 0; i < g.ids.length; i++) {
      const t = job.tasks.get(g.ids[i]!) ?? this.materialize(job, g.ids[i]!, ev, out);
      if (!t) continue;
      const st = t.state;
      if (st.s === 'done') continue;
      if (st.s === 'leased') {
        if (st.agent !== holderId) {
          holderId = st.agent;
          holder = this.agents.get(holderId);
        }
        holder?.leases.delete(t);
        if (st.agent !== from) this.abortCopy(st.agent, t, out);
        if (st.copy) {
          this.agents.get(st.copy.agent)?.leases.delete(t);
          if (st.copy.agent !== from) this.abortCopy(st.copy.agent, t, out);
        }
      } else if (st.s === 'queued') {
        job.queuedCost -= t.cost;
      }
      const status = g.status.charCodeAt(i) === 101 /* e */ ? 'error' : 'ok';
      this.setState(job, t, status === 'ok' ? DONE_OK : DONE_ERROR, ev);
      committed++;
      if (status === 'error') job.errors++;
      const ms = g.ms[i]!;
      if (status === 'ok' && ms > 0) {
        sumMs += ms;
        sumCost += t.cost;
        measured++;
      }
    }
    job.errorRecords += g.errorRecords;
    const a = this.agents.get(from);
    if (a) a.done += committed;
    if (measured > 0) job.throughput.add(sumMs / 1000, sumCost, measured);
    this.maybeEnd(job, now, out);
    // A pull parked while the agent's slots were busy said it had no free slot; its leases now
    // say a slot is free (long tasks, one per slot), so serve it rather than wait for its expiry.
    if (a?.pull && a.state === 'active' && committed > 0 && a.info.slots - a.leases.size > a.pull.freeSlots) {
      a.pull.freeSlots = a.info.slots - a.leases.size;
      this.serve(a, now, ev, out);
    }
    return out;
  }

  private abortCopy(agentId: string, t: Task, out: Command[]): void {
    const holder = this.agents.get(agentId);
    if (holder && holder.state !== 'lost') out.push({ kind: 'abort', agent: agentId, job: t.job, tasks: [t.id], reason: 'another copy was committed first' });
  }

  /** Stops dispatch of the job at once and aborts its running tasks everywhere. */
  cancel(jobName: string, now: number): Command[] {
    const ev = ++this.event;
    const out: Command[] = [];
    const job = this.jobs.get(jobName);
    if (!job || job.state !== 'running') return out;
    const agentsToAbort = new Set<string>();
    for (const t of job.tasks.values()) {
      const st = t.state;
      if (st.s === 'done' || st.s === 'cancelled') continue;
      for (const h of holders(st)) {
        this.agents.get(h)?.leases.delete(t);
        agentsToAbort.add(h);
      }
      this.setState(job, t, { s: 'cancelled' }, ev);
    }
    job.queuedCost = 0;
    job.retry = [];
    job.qpos = job.order.length;
    for (const a of agentsToAbort) out.push({ kind: 'abort', agent: a, job: jobName, tasks: null, reason: 'job cancelled' });
    // Agents may hold prefetched bundles of the job that no lease tracks any more.
    for (const a of this.agents.values()) {
      if (a.state !== 'lost' && !agentsToAbort.has(a.id) && a.knows.has(jobName)) {
        out.push({ kind: 'abort', agent: a.id, job: jobName, tasks: null, reason: 'job cancelled' });
      }
    }
    this.end(job, 'cancelled', now, ev, out);
    return out;
  }

  /** Stops an agent pulling; it finishes what it runs and hands the rest back. */
  drain(id: string, graceMs: number | null, _now: number): Command[] {
    const out: Command[] = [];
    const a = this.agents.get(id);
    if (!a || a.state === 'lost') return out;
    this.setDraining(a);
    out.push({ kind: 'drain-agent', agent: id, graceMs });
    out.push(log('info', 'agent draining', { agent: id, leases: a.leases.size }));
    return out;
  }

  /** Time passes: lost agents, expired long-polls, rate samples, speculative copies. */
  tick(now: number): Command[] {
    const ev = ++this.event;
    const out: Command[] = [];
    const gap = this.lastTick > 0 ? now - this.lastTick : 0;
    this.lastTick = now;
    if (gap > this.opts.tickGapMs) {
      // Paused (SIGSTOP, swapping) or blocked: the agents' messages could not be heard meanwhile.
      for (const a of this.agents.values()) if (a.state !== 'lost') a.lastSeen = Math.min(now, a.lastSeen + gap);
      this.speculateAfter = now + this.opts.agentTimeoutMs;
      out.push(log('warn', 'the coordinator was paused or blocked; agents get the time back before anyone is judged lost', { gapMs: gap, event: ev }));
    }
    this.prune(now, false);
    for (const a of this.agents.values()) {
      if (a.state === 'lost') continue;
      if (now - a.lastSeen > this.opts.agentTimeoutMs) {
        this.lose(a, now, ev, out);
        continue;
      }
      if (a.pull && a.pull.until <= now) this.answer(a, [], [], out);
    }
    if (now - this.lastSample >= 1000) {
      this.lastSample = now;
      for (const job of this.running) {
        job.samples.push([now, job.counts.done]);
        if (job.samples.length > 30) job.samples.shift();
      }
    }
    if (this.opts.speculate && now >= this.speculateAfter) this.speculate(now, ev, out);
    return out;
  }

  /** Forgets agents lost longer than lostRetentionMs (with `all`, every lost agent: room for a new one). */
  private prune(now: number, all: boolean): void {
    for (const a of this.agents.values()) {
      if (a.state === 'lost' && (all || now - a.lostAt > this.opts.lostRetentionMs)) this.agents.delete(a.id);
    }
  }

  /**
   * A job's output cannot be written (`reason`) or can again (null). While stalled the job
   * gets no dispatches; its running tasks finish and their results wait with the agents.
   */
  stall(jobName: string, reason: string | null, now: number): Command[] {
    const out: Command[] = [];
    const job = this.jobs.get(jobName);
    if (!job || job.stalled === reason) return out;
    job.stalled = reason;
    out.push(log('debug', reason ? 'job stalled: its output cannot be written' : 'job continues: its output can be written again', { job: jobName, reason, event: this.event }));
    if (!reason) this.wake(now, out);
    return out;
  }

  /** Jobs a restarting coordinator is about to load: agents' held tasks of these are kept until they are. */
  expect(jobNames: Iterable<string>): void {
    for (const j of jobNames) this.expected.add(j);
  }

  /** A job expected after a restart that will not be loaded: drop what agents said they hold of it. */
  unexpect(jobName: string): void {
    this.expected.delete(jobName);
    this.heldEarlyCount -= this.heldEarly.get(jobName)?.size ?? 0;
    this.heldEarly.delete(jobName);
  }

  /** Leases to their agents the tasks they said they held before the job was loaded. */
  private adoptEarly(job: Job, now: number, ev: number): void {
    this.expected.delete(job.name);
    const early = this.heldEarly.get(job.name);
    if (!early) return;
    this.heldEarly.delete(job.name);
    this.heldEarlyCount -= early.size;
    for (const [taskId, h] of early) {
      const t = job.tasks.get(taskId);
      const a = this.agents.get(h.agent);
      if (!t || !a || a.state !== 'active' || t.state.s !== 'queued') continue;
      this.setState(job, t, { s: 'leased', agent: a.id, since: now, dispatch: 0, copy: null }, ev);
      job.queuedCost -= t.cost;
      t.attempt = Math.max(t.attempt, h.attempt);
      a.leases.add(t);
    }
  }

  /** Drops an ended job (before it is submitted again under the same name). */
  forget(jobName: string): void {
    const job = this.jobs.get(jobName);
    if (!job) return;
    if (job.state === 'running') throw new Error(`job ${jobName} is still running`);
    this.jobs.delete(jobName);
    for (const a of this.agents.values()) a.knows.delete(jobName);
  }

  // ───────────────────────────── queries ─────────────────────────────

  /** Which tasks of the job agent `agent` holds or held the lease of (or were adopted from it) in this life. */
  leasedTo(jobName: string, agent: string): (taskId: string) => boolean {
    const tasks = this.jobs.get(jobName)?.tasks;
    if (!tasks) return () => false;
    return (taskId) => {
      const t = tasks.get(taskId);
      return t !== undefined && wasLeasedTo(t, agent);
    };
  }

  /** Which tasks of the job are out of attempts (or unschedulable) and wait for the coordinator's error row. */
  failingOf(jobName: string): (taskId: string) => boolean {
    const tasks = this.jobs.get(jobName)?.tasks;
    return (taskId) => tasks?.get(taskId)?.state.s === 'failing';
  }

  isKnown(id: string, epoch: number): boolean {
    const a = this.agents.get(id);
    return !!a && a.state !== 'lost' && a.epoch === epoch;
  }

  jobState(name: string): JobState | null {
    return this.jobs.get(name)?.state ?? null;
  }

  /** Slots of active agents: in all, and of the largest one. */
  capacity(): { slots: number; maxAgentSlots: number } {
    let max = 0;
    for (const a of this.agents.values()) if (a.state === 'active') max = Math.max(max, a.info.slots);
    return { slots: this.activeSlots, maxAgentSlots: max };
  }

  jobNames(): string[] {
    return [...this.jobs.keys()];
  }

  /** Status of one job or all, and of the agents. */
  status(now: number, jobName?: string): { jobs: JobStatus[]; agents: AgentStatus[] } {
    const jobs: JobStatus[] = [];
    for (const job of this.jobs.values()) {
      if (jobName !== undefined && job.name !== jobName) continue;
      const rate = recentRate(job.samples, now, job.counts.done);
      const remaining = job.counts.queued + job.counts.leased + job.counts.failing;
      jobs.push({
        job: job.name,
        kind: job.spec.kind,
        state: job.state === 'running' && job.stalled !== null ? 'stalled' : job.state,
        total: job.tasks.size,
        done: job.counts.done,
        failed: job.errors,
        running: job.counts.leased,
        queued: job.counts.queued,
        retried: job.retried,
        speculated: job.speculated,
        split: job.splits,
        rate,
        etaS: job.state !== 'running' ? 0 : rate > 0 ? remaining / rate : null,
        startedAt: job.startedAt,
        endedAt: job.endedAt,
        out: job.spec.out ?? '',
        notes: [...job.notes],
        failedRecords: job.errorRecords,
        ...(job.stalled !== null && job.state === 'running' ? { stalled: job.stalled } : {}),
      });
    }
    const agents: AgentStatus[] = [];
    for (const a of this.agents.values()) {
      agents.push({
        agent: a.id,
        host: a.info.host,
        state: a.state,
        slots: a.info.slots,
        busy: a.busy,
        memory: a.memory,
        done: a.done,
        lastSeenMs: now - a.lastSeen,
        spot: a.info.spot,
      });
    }
    return { jobs, agents };
  }

  /** Asserts every invariant; throws naming the first broken one. For tests (O(tasks)). */
  check(): void {
    for (const job of this.jobs.values()) {
      const counts: Record<string, number> = { queued: 0, leased: 0, failing: 0, done: 0, cancelled: 0 };
      let queuedCost = 0;
      const reachable = new Set<Task>([...job.retry, ...job.order.slice(job.qpos)]);
      for (const t of job.tasks.values()) {
        counts[t.state.s]!++;
        if (t.state.s === 'queued') {
          queuedCost += t.cost;
          if (!reachable.has(t)) throw new Error(`invariant: queued task ${job.name}/${t.id} is not in the queue`);
        }
        if (t.state.s === 'leased') {
          for (const h of holders(t.state)) {
            const a = this.agents.get(h);
            if (!a || a.state === 'lost') throw new Error(`invariant: task ${job.name}/${t.id} leased to lost or unknown agent ${h}`);
            if (!a.leases.has(t)) throw new Error(`invariant: agent ${h} does not list its lease on ${job.name}/${t.id}`);
            if (!wasLeasedTo(t, h)) throw new Error(`invariant: task ${job.name}/${t.id} is leased to ${h} but does not list it among its lessees`);
          }
        }
        if (t.attempt > job.maxAttempts && t.state.s !== 'done' && t.state.s !== 'failing' && t.state.s !== 'cancelled') {
          throw new Error(`invariant: task ${job.name}/${t.id} at attempt ${t.attempt} > ${job.maxAttempts} is ${t.state.s}`);
        }
      }
      for (const k of Object.keys(counts)) {
        if (counts[k] !== job.counts[k as TaskState['s']]) throw new Error(`invariant: job ${job.name} counts ${k}=${job.counts[k as TaskState['s']]} but ${counts[k]} tasks are ${k}`);
      }
      if (Math.abs(queuedCost - job.queuedCost) > 1e-6 * Math.max(1, queuedCost)) {
        throw new Error(`invariant: job ${job.name} queued cost ${job.queuedCost} but tasks add up to ${queuedCost}`);
      }
      const ended = job.state !== 'running';
      if (ended !== (counts.queued! + counts.leased! + counts.failing! === 0 && (job.state !== 'running' || job.tasks.size === 0))) {
        if (!(job.state === 'running' && counts.queued! + counts.leased! + counts.failing! > 0)) {
          throw new Error(`invariant: job ${job.name} is ${job.state} with ${counts.queued} queued, ${counts.leased} leased, ${counts.failing} failing`);
        }
      }
    }
    let slots = 0;
    for (const a of this.agents.values()) {
      if (a.state === 'active') slots += a.info.slots;
      if (a.state === 'lost' && a.leases.size > 0) throw new Error(`invariant: lost agent ${a.id} still holds ${a.leases.size} leases`);
      for (const t of a.leases) {
        if (!holders(t.state).includes(a.id)) throw new Error(`invariant: agent ${a.id} lists ${t.job}/${t.id} but the task is ${t.state.s}`);
      }
    }
    if (slots !== this.activeSlots) throw new Error(`invariant: active slots ${this.activeSlots}, agents add up to ${slots}`);
  }

  // ───────────────────────────── internals ─────────────────────────────

  private setState(job: Job, t: Task, next: TaskState, ev: number): void {
    job.counts[t.state.s]--;
    moveTask(t, next, ev, this.transitions);
    job.counts[next.s]++;
  }

  private setDraining(a: Agent): void {
    if (a.state !== 'active') return;
    a.state = 'draining';
    // Only active agents count: a draining one takes no new work.
    this.activeSlots -= a.info.slots;
  }

  private report(a: Agent, r: TaskReport, now: number, ev: number, out: Command[]): void {
    const job = this.jobs.get(r.job);
    const t = job?.tasks.get(r.id);
    if (!job || !t || t.state.s !== 'leased' || !holders(t.state).includes(a.id)) return;
    if (!r.error) {
      this.unlease(t, a, 'handback', now, ev, out);
      return;
    }
    t.avoid = a.id;
    out.push(log('info', 'task failed; retrying elsewhere', { job: job.name, task: t.id, agent: a.id, attempt: t.attempt, code: r.error.code, event: ev }));
    this.unlease(t, a, 'failed', now, ev, out, r.error);
  }

  /**
   * Takes a task back from an agent. 'handback' keeps the attempt; 'failed' and 'lost' cost one,
   * and a task out of attempts moves to failing (the shell writes its error row).
   */
  private unlease(t: Task, a: Agent, why: 'handback' | 'failed' | 'lost', _now: number, ev: number, out: Command[], error?: WireError): void {
    const job = this.jobs.get(t.job)!;
    const st = t.state;
    if (st.s !== 'leased') return;
    a.leases.delete(t);
    // A failure or a loss uses up an attempt even when another copy keeps running.
    if (why !== 'handback') {
      t.attempt++;
      job.retried++;
    }
    if (st.copy) {
      // The other copy keeps running: the task stays leased to it alone.
      const other = st.agent === a.id ? st.copy : { agent: st.agent, since: st.since, dispatch: st.dispatch };
      if (other.agent !== a.id) {
        this.setState(job, t, { s: 'leased', agent: other.agent, since: other.since, dispatch: other.dispatch, copy: null }, ev);
        return;
      }
    }
    if (t.attempt > job.maxAttempts) {
      const err: WireError =
        why === 'lost'
          ? { code: ErrorCode.Lost, message: `task lost with its agent ${job.maxAttempts} times (last: ${a.id})` }
          : { code: error?.code ?? ErrorCode.Task, message: error?.message ?? 'failed' };
      t.attempt = job.maxAttempts;
      this.fail(job, t, err, ev, out);
      return;
    }
    this.setState(job, t, QUEUED, ev);
    job.retry.push(t);
    job.queuedCost += t.cost;
  }

  private fail(job: Job, t: Task, error: WireError, ev: number, out: Command[]): void {
    if (t.state.s === 'queued') job.queuedCost -= t.cost;
    this.setState(job, t, { s: 'failing', error }, ev);
    out.push({ kind: 'error-rows', job: job.name, rows: [{ id: t.id, attempt: t.attempt, error }] });
  }

  private lose(a: Agent, now: number, ev: number, out: Command[]): void {
    if (a.state === 'active') this.activeSlots -= a.info.slots;
    a.state = 'lost';
    a.lostAt = now;
    const n = a.leases.size;
    for (const t of [...a.leases]) this.unlease(t, a, 'lost', now, ev, out);
    a.dispatches.clear();
    this.unpark(a);
    out.push(log('warn', 'agent lost; its tasks requeued', { agent: a.id, host: a.info.host, silentMs: now - a.lastSeen, requeued: n, event: ev }));
    this.wake(now, out);
  }

  /** Answers the agent's parked pull. */
  private answer(a: Agent, jobs: JobInfo[], bundles: Bundle[], out: Command[]): void {
    if (!a.pull) return;
    out.push({ kind: 'reply-pull', token: a.pull.token, agent: a.id, seq: a.seq, jobs, bundles });
    this.unpark(a);
  }

  private unpark(a: Agent): void {
    a.pull = null;
    this.parked.delete(a);
  }

  /** Serves parked pulls while there is work. */
  private wake(now: number, out: Command[]): void {
    if (!this.running.some((j) => j.counts.queued > 0 && j.stalled === null)) return;
    const ev = this.event;
    for (const a of [...this.parked]) {
      if (a.pull && a.state === 'active') this.serve(a, now, ev, out);
    }
  }

  /** Fills the agent's parked pull with bundles, if there is work for it. */
  private serve(a: Agent, now: number, ev: number, out: Command[]): void {
    const p = a.pull;
    if (!p || a.state !== 'active') return;
    const bundles: Bundle[] = [];
    const jobs: JobInfo[] = [];
    const taken: Task[] = [];
    const seq = a.seq + 1;
    let bytes = 0;
    let memory = p.memory;
    let slots = 0;
    for (const job of this.running) {
      if (bundles.length >= p.want || bytes >= this.opts.maxDispatchBytes) break;
      if (job.counts.queued === 0 || job.stalled !== null) continue;
      if (!this.mayRun(a, job)) continue;
      const before = bundles.length;
      // Long bundles (or ones of unknown length) only fill the agent's free slots: prefetching
      // them would hoard work that another agent, or a split, would do sooner.
      const long = this.opts.dispatchMs / 500;
      const spc = secondsPerCost(job);
      const next = nextQueued(job);
      let heavy = spc === null || (next !== undefined && next.cost * spc > long);
      while (bundles.length < p.want && bytes < this.opts.maxDispatchBytes) {
        if (heavy && slots >= p.freeSlots) break;
        const b = this.bundle(job, a, seq, now, memory, this.opts.maxDispatchBytes - bytes, ev, out);
        if (!b) break;
        heavy = b.seconds === null || b.seconds > long;
        slots += b.threads;
        bundles.push({ job: job.name, threads: b.threads, tasks: b.tasks.map((t) => taskMsg(t, job)) });
        for (const t of b.tasks) taken.push(t);
        bytes += b.bytes;
        memory -= b.memory;
      }
      if (bundles.length > before && !a.knows.has(job.name)) {
        a.knows.add(job.name);
        jobs.push(job.info);
      }
    }
    if (bundles.length === 0) return;
    a.seq = seq;
    a.dispatches.set(seq, taken);
    this.answer(a, jobs, bundles, out);
  }

  /** Whether the agent may run the job's kind at all (records why not in the job's notes). */
  private mayRun(a: Agent, job: Job): boolean {
    if (job.opts.needsCommand && !a.info.allowCommand) {
      job.notes.add(`agent ${a.id} declines ${job.spec.kind} tasks (started without --allow-command)`);
      return false;
    }
    if (!job.opts.builtin && !a.info.kinds.includes(job.spec.kind)) {
      job.notes.add(`agent ${a.id} has no handler for kind '${job.spec.kind}' (--handlers)`);
      return false;
    }
    return true;
  }

  /** Cost budget of one bundle: about dispatchMs of measured work, never more than a fair share of what is left. */
  private bundleBudget(job: Job): { seconds: number; maxTasks: number } {
    if (typeof job.opts.granularity === 'number') return { seconds: Infinity, maxTasks: job.opts.granularity };
    const slots = Math.max(1, this.activeSlots);
    const spc = secondsPerCost(job);
    if (spc === null) return { seconds: Infinity, maxTasks: INITIAL_BUNDLE_TASKS };
    const fairSeconds = (job.queuedCost * spc + job.counts.queued * TASK_OVERHEAD_S) / (2 * slots);
    return { seconds: Math.min(this.opts.dispatchMs / 1000, fairSeconds), maxTasks: this.opts.maxBundleTasks };
  }

  /**
   * Takes the next bundle of queued tasks of `job` that fit agent `a` and leases them to it
   * under dispatch `seq` at once (so no later scan in the same pull can take them again).
   */
  private bundle(
    job: Job,
    a: Agent,
    seq: number,
    now: number,
    memory: number,
    byteRoom: number,
    ev: number,
    out: Command[],
  ): { tasks: Task[]; threads: number; bytes: number; memory: number; seconds: number | null } | null {
    const budget = this.bundleBudget(job);
    const known = secondsPerCost(job);
    const spc = known ?? 0;
    const soleAgent = this.activeSlots <= a.info.slots;
    const tasks: Task[] = [];
    let seconds = 0;
    let bytes = 0;
    let mem = 0;
    let scanned = 0;
    let threads = 1;
    /** 'take', 'skip' (leave for another agent) or 'stop' (the bundle is full). */
    const consider = (t: Task): 'take' | 'skip' | 'stop' | 'gone' => {
      if (t.state.s !== 'queued') return 'gone';
      scanned++;
      if (t.avoid === a.id && !soleAgent) return 'skip';
      const r = this.fits(job, t, a, memory - mem, ev, out);
      if (r === 'never') return 'gone';
      if (r === 'yes' && endsBefore(a, t, spc, now)) return 'skip';
      if (r === 'no') return 'skip';
      if (t.threads > 1) return tasks.length > 0 ? 'stop' : 'take';
      if (tasks.length > 0 && (seconds + t.cost * spc > budget.seconds || bytes + t.bytes > byteRoom)) return 'stop';
      return 'take';
    };
    const take = (t: Task): boolean => {
      this.setState(job, t, { s: 'leased', agent: a.id, since: now, dispatch: seq, copy: null }, ev);
      job.queuedCost -= t.cost;
      a.leases.add(t);
      tasks.push(t);
      seconds += t.cost * spc + TASK_OVERHEAD_S;
      bytes += t.bytes;
      mem += t.memory;
      // A task asking for more threads than the agent has runs with what it has.
      threads = Math.min(t.threads, a.info.slots);
      return t.threads > 1 || tasks.length >= budget.maxTasks;
    };
    // Requeued tasks first (they have waited longest), then the largest-first queue.
    let full = false;
    let keep = 0;
    const retry = job.retry;
    for (let i = 0; i < retry.length; i++) {
      const t = retry[i]!;
      const verdict = full || scanned >= MAX_SCAN ? 'stop' : consider(t);
      if (verdict === 'take') {
        full = take(t);
        continue;
      }
      if (verdict === 'stop') full = true;
      if (verdict !== 'gone') retry[keep++] = t;
    }
    retry.length = keep;
    for (let i = job.qpos; !full && i < job.order.length && scanned < MAX_SCAN + budget.maxTasks; i++) {
      if (job.opts.split && spc > 0 && budget.seconds !== Infinity) while (this.splitAt(job, i, spc, ev, out));
      const t = job.order[i]!;
      const verdict = consider(t);
      if (verdict === 'stop') break;
      if (verdict === 'skip') continue;
      if (i === job.qpos) job.qpos++;
      if (verdict === 'take') full = take(t);
    }
    if (tasks.length === 0) return null;
    return { tasks, threads, bytes, memory: mem, seconds: known === null ? null : seconds };
  }

  /**
   * Splits the task at `job.order[i]` when it has never been leased and would exceed a fair
   * share of the job's queued work (on the slots there are now) by a margin worth a split;
   * its halves take its place in the largest-first order. Returns whether it split.
   */
  private splitAt(job: Job, i: number, spc: number, ev: number, out: Command[]): boolean {
    const t = job.order[i]!;
    if (t.state.s !== 'queued' || t.started || t.threads > 1) return false;
    const seconds = t.cost * spc;
    if (this.opts.splitMinS <= 0 || seconds < this.opts.splitMinS || t.cost <= job.queuedCost / Math.max(1, this.activeSlots)) return false;
    return this.splitTask(job, i, ev, out) !== null;
  }

  /**
   * Replaces the queued task at `job.order[i]` by its two halves, placed in the largest-first
   * order (after i: they cost less than it). Null when its kind does not split it.
   */
  private splitTask(job: Job, i: number, ev: number, out: Command[]): [Task, Task] | null {
    const t = job.order[i]!;
    const specs = job.opts.split?.({ id: t.id, cost: t.cost, memory: t.memory, threads: t.threads, bytes: t.bytes, ref: t.ref });
    if (!specs) return null;
    job.tasks.delete(t.id);
    job.counts.queued--;
    job.queuedCost -= t.cost;
    const halves = specs.map((h) => {
      const task = newTask(job.name, h, QUEUED);
      if (job.tasks.has(task.id)) throw new Error(`job ${job.name}: split task id ${task.id} is not unique`);
      job.tasks.set(task.id, task);
      job.counts.queued++;
      job.queuedCost += task.cost;
      return task;
    }) as [Task, Task];
    job.order.splice(i, 1);
    for (const h of halves) insertByCost(job.order, h, i);
    job.splits++;
    out.push(log('debug', 'task split', { job: job.name, task: t.id, cost: t.cost, halves: [halves[0].cost, halves[1].cost], queuedCost: job.queuedCost, slots: this.activeSlots, event: ev }));
    return halves;
  }

  /**
   * The task `id` names when it is a half (of a half...) of a queued task that never started:
   * an agent or the output knows of a split this coordinator has not made (it restarted). The
   * task is split down to it here. Null when there is no such task to split.
   */
  private materialize(job: Job, id: string, ev: number, out: Command[]): Task | null {
    if (!job.opts.split || !id.includes('/')) return null;
    const parts = id.split('/');
    let k = parts.length - 1;
    let t: Task | undefined;
    while (k > 0 && !(t = job.tasks.get(parts.slice(0, k).join('/')))) k--;
    for (; t && k < parts.length; k++) {
      const i = job.order.indexOf(t, job.qpos);
      if (t.state.s !== 'queued' || t.started || i < 0) return null;
      t = this.splitTask(job, i, ev, out)?.[Number(parts[k])];
      if (!t) return null;
    }
    return t && t.id === id ? t : null;
  }

  /**
   * Whether task `t` fits agent `a` now ('yes'), later ('no'), or on no agent at all
   * ('never': it is failed here with an error row saying why).
   */
  private fits(job: Job, t: Task, a: Agent, memory: number, ev: number, out: Command[]): 'yes' | 'no' | 'never' {
    if (t.memory <= memory || t.memory === 0) return 'yes';
    let maxMem = 0;
    for (const b of this.agents.values()) if (b.state !== 'lost') maxMem = Math.max(maxMem, b.info.memory.limit);
    if (t.memory > maxMem) {
      const why = `task needs ${(t.memory / 2 ** 20).toFixed(0)} MiB of memory; the largest agent allows ${(maxMem / 2 ** 20).toFixed(0)} MiB`;
      this.fail(job, t, { code: ErrorCode.Unschedulable, message: why }, ev, out);
      return 'never';
    }
    return 'no';
  }

  /**
   * Second copies of stragglers when a job's queue is empty and some agent is idle. Only
   * leased tasks are looked at (through the agents' lease sets), never the whole job.
   */
  private speculate(now: number, ev: number, out: Command[]): void {
    let idle: Agent[] | null = null;
    for (const job of this.running) {
      if (job.opts.speculate === false || job.stalled !== null || job.counts.queued > 0 || job.counts.leased === 0) continue;
      const spc = job.throughput.secondsPerCost();
      if (spc === null) continue;
      idle ??= [...this.parked].filter((a) => a.state === 'active' && a.busy === 0);
      if (idle.length === 0) return;
      const late: Array<[number, Task]> = [];
      for (const b of this.agents.values()) {
        if (b.state === 'lost') continue;
        for (const t of b.leases) {
          const st = t.state;
          if (t.job !== job.name || st.s !== 'leased' || st.copy || st.agent !== b.id) continue;
          const lateness = (now - st.since) / Math.max(t.cost * spc * 1000, 200);
          if (lateness > this.opts.speculateFactor) late.push([lateness, t]);
        }
      }
      late.sort((x, y) => y[0] - x[0]);
      for (const [lateness, t] of late) {
        const st = t.state as Extract<TaskState, { s: 'leased' }>;
        const i = idle.findIndex((a) => a.pull && a.id !== st.agent && a.id !== t.avoid && this.mayRun(a, job));
        if (i < 0) continue;
        const a = idle.splice(i, 1)[0]!;
        const seq = ++a.seq;
        this.setState(job, t, { ...st, copy: { agent: a.id, since: now, dispatch: seq } }, ev);
        a.leases.add(t);
        a.dispatches.set(seq, [t]);
        job.speculated++;
        const jobs = a.knows.has(job.name) ? [] : [job.info];
        a.knows.add(job.name);
        out.push(log('info', 'speculative copy of a straggler', { job: job.name, task: t.id, agent: a.id, runningOn: st.agent, lateness: +lateness.toFixed(1), event: ev }));
        this.answer(a, jobs, [{ job: job.name, threads: Math.min(t.threads, a.info.slots), tasks: [taskMsg(t, job)] }], out);
        if (idle.length === 0) return;
      }
    }
  }

  private maybeEnd(job: Job, now: number, out: Command[]): void {
    if (job.state !== 'running') return;
    if (job.counts.queued + job.counts.leased + job.counts.failing > 0) return;
    this.end(job, 'done', now, this.event, out);
  }

  private end(job: Job, state: JobState, now: number, ev: number, out: Command[]): void {
    job.state = state;
    job.endedAt = now;
    const i = this.running.indexOf(job);
    if (i >= 0) this.running.splice(i, 1);
    const secs = Math.max(1e-3, (now - job.startedAt) / 1000);
    out.push(
      log('info', `job ${state}`, {
        job: job.name,
        tasks: job.tasks.size,
        ok: job.counts.done - job.errors,
        failed: job.errors,
        cancelled: job.counts.cancelled,
        seconds: +secs.toFixed(3),
        tasksPerSecond: Math.round(job.counts.done / secs),
        event: ev,
      }),
    );
    out.push({ kind: 'job-ended', job: job.name, state });
  }
}

function newTask(job: string, t: NewTask, state: TaskState): Task {
  return {
    job,
    id: t.id,
    cost: Math.max(t.cost, 1e-9),
    memory: t.memory ?? 0,
    threads: Math.max(1, t.threads ?? 1),
    bytes: t.bytes ?? 64,
    ref: t.ref,
    attempt: 1,
    state,
    avoid: null,
    started: false,
    lessees: null,
  };
}

/** Every id that some id in `ids` is a split half of (`a` and `a/1` for `a/1/0`). */
function splitParents(sources: Iterable<string>[]): Set<string> {
  const out = new Set<string>();
  for (const ids of sources) {
    for (const id of ids) {
      for (let j = id.indexOf('/'); j > 0; j = id.indexOf('/', j + 1)) out.add(id.slice(0, j));
    }
  }
  return out;
}

/** Inserts `t` into `order` (largest cost first) at or after index `from`. */
function insertByCost(order: Task[], t: Task, from: number): void {
  let lo = from;
  let hi = order.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (order[mid]!.cost >= t.cost) lo = mid + 1;
    else hi = mid;
  }
  order.splice(lo, 0, t);
}

/** The task the job's next bundle starts with, about (the first queued retry, else queue head). */
function nextQueued(job: Job): Task | undefined {
  for (const t of job.retry) if (t.state.s === 'queued') return t;
  for (let i = job.qpos; i < job.order.length; i++) if (job.order[i]!.state.s === 'queued') return job.order[i];
  return undefined;
}

/** Measured seconds per cost unit of the job's tasks, else its kind's estimate, else null. */
function secondsPerCost(job: Job): number | null {
  return job.throughput.secondsPerCost() ?? job.opts.secondsPerCost ?? null;
}

/** A task as an agent receives it; its last allowed attempt is marked final. */
function taskMsg(t: Task, job: Job): TaskMsg {
  return { id: t.id, attempt: t.attempt, cost: t.cost, final: t.attempt >= job.maxAttempts, ref: t.ref };
}

/** Whether the agent's allocation (Slurm walltime) ends before the task is expected to finish. */
function endsBefore(a: Agent, t: Task, spc: number, now: number): boolean {
  const end = a.info.slurm?.endTime;
  if (end === undefined || spc <= 0) return false;
  return now + t.cost * spc * 1000 > end;
}

function push<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const xs = m.get(k);
  if (xs) xs.push(v);
  else m.set(k, [v]);
}

function log(level: 'info' | 'warn' | 'debug', msg: string, fields: Record<string, unknown>): Command {
  return { kind: 'log', level, msg, fields };
}

/** Committed tasks per second over the last ten seconds of samples. */
function recentRate(samples: Array<[number, number]>, now: number, doneNow: number): number {
  let ref = samples[0]!;
  for (const s of samples) {
    if (now - s[0] <= 10_000) {
      ref = s;
      break;
    }
  }
  const dt = (now - ref[0]) / 1000;
  return dt > 0 ? Math.max(0, (doneNow - ref[1]) / dt) : 0;
}
