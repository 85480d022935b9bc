/**
 * The scheduling core: a pure state machine. Events come in as `on…` method calls carrying
 * `now` (epoch ms); each returns the commands the actor shell must carry out. No bus, no
 * timers, no clock: the unit tests drive thousands of agents with a simulated clock.
 *
 * The concerns live beside this file: the job queue (job-queue), agents and their states
 * (agents), leases and retries (leases), dispatch and bundle sizing (dispatch, bundle),
 * splitting (split), tasks agents hold (held), commits, speculation, liveness, a job's life
 * (lifecycle), status and invariants.
 */
import type { AgentInfo, CommitGroup, HeldTask, JobSpec, JobState, JobStatus, AgentStatus, InterpreterMemory } from '../../protocol/index.js';
import { AgentRoster, DRAINING, gpuCount, present, type Agent } from './agents.js';
import { log, type Command, type Ctx } from './commands.js';
import { commit } from './commits.js';
import { answer, serve, wake } from './dispatch.js';
import { HeldTasks } from './held.js';
import { cancelDownstream } from './downstream.js';
import { grow } from './growth.js';
import { check } from './invariants.js';
import { newJob, type Job } from './job.js';
import { report, unlease } from './leases.js';
import { addTasks, cancelJob, endIfFinished, place, setPriority, upstreamEnded } from './lifecycle.js';
import type { UpstreamEnd } from './barriers.js';
import { checkAgents, leave, prune } from './liveness.js';
import { DEFAULT_SCHEDULER_OPTIONS, sourceOf, type DoneLookup, type JobOptions, type LateTask, type NewTask, type PullParams, type SchedulerOptions, type TaskSource } from './options.js';
import { speculate } from './speculation.js';
import { splitParents } from './split.js';
import type { TaskOrder } from './cost-order.js';
import type { State } from './state.js';
import { sample, status } from './status.js';
import { demand, type AgentView, type JobDemand } from './demand.js';
import { TransitionLog } from './task-state.js';

export class Scheduler {
  readonly opts: SchedulerOptions;
  private readonly st: State;
  private readonly held: HeldTasks;
  /** Recent task moves, for the message of an illegal one. */
  private readonly transitions = new TransitionLog();
  private event = 0;
  private lastSample = 0;
  private lastTick = 0;
  /** No speculative copies before this time (right after the coordinator was paused). */
  private speculateAfter = 0;

  constructor(opts: Partial<SchedulerOptions> = {}) {
    this.opts = { ...DEFAULT_SCHEDULER_OPTIONS, ...opts };
    this.st = { opts: this.opts, jobs: new Map(), running: [], waiting: [], endedElsewhere: new Map(), agents: new AgentRoster(), news: 0 };
    this.held = new HeldTasks(this.opts.maxHeldEarly);
  }

  /** A new event: its number, its time and the list its commands go to. */
  private ctx(now: number): Ctx {
    return { now, ev: ++this.event, out: [] };
  }

  // ───────────────────────────── events ─────────────────────────────

  /**
   * A new (or resumed) job: its tasks (an array, or a source that builds them from their
   * numbers), in `order` when the shell computed it already. `done` lists tasks already
   * committed in the output.
   */
  onSubmit(spec: JobSpec, tasks: readonly NewTask[] | TaskSource, done: DoneLookup, jobOpts: JobOptions, now: number, order?: TaskOrder): Command[] {
    const ctx = this.ctx(now);
    if (this.st.jobs.has(spec.job)) throw new Error(`job ${spec.job} already exists`);
    const job = newJob(spec, jobOpts, this.opts.maxAttempts, this.transitions, now);
    // Tasks split before the job stopped: their halves' ids are in the output (or held by agents).
    const src = Array.isArray(tasks) ? sourceOf(tasks as readonly NewTask[]) : (tasks as TaskSource);
    addTasks(job, src, done, splitParents([done.outsiders?.() ?? done.keys(), this.held.earlyIds(spec.job)]), ctx.ev, order);
    if (job.fed) job.doneBefore = done;
    this.held.adoptEarly(this.st, job, ctx);
    this.st.jobs.set(job.name, job);
    this.st.news++;
    const q = job.queue;
    ctx.out.push(log('info', 'job submitted', { job: job.name, kind: spec.kind, tasks: q.total, resplit: q.counts.split, alreadyDone: q.counts.done, priority: job.priority, event: ctx.ev }));
    place(this.st, job, ctx);
    endIfFinished(this.st, job, ctx);
    wake(this.st, ctx);
    return ctx.out;
  }

  /**
   * More tasks of a job fed by another job's rows (ids it has already are ignored);
   * `upstreamEnded`: no more will come, so the job ends once every task is done.
   */
  onGrow(jobName: string, late: readonly LateTask[], upstreamEnded: boolean, now: number): Command[] {
    const ctx = this.ctx(now);
    const job = this.st.jobs.get(jobName);
    if (!job || (job.state !== 'running' && job.state !== 'waiting') || !job.fed) return ctx.out;
    grow(job, late, ctx);
    if (upstreamEnded) {
      job.fed = false;
      job.notes.add(`job '${job.upstream}' has ended: no more tasks come`);
    }
    endIfFinished(this.st, job, ctx);
    wake(this.st, ctx);
    return ctx.out;
  }

  /**
   * Why a hello from agent `id` must be refused (null: it may join): the coordinator knows
   * `maxAgents` agents already, lost ones forgotten first to make room.
   */
  refusesHello(id: string, now: number): string | null {
    const agents = this.st.agents;
    if (agents.has(id) || agents.size < this.opts.maxAgents) return null;
    prune(this.st, now, true);
    return agents.size < this.opts.maxAgents ? null : `the coordinator knows ${agents.size} agents, its limit: agent ${id} is refused`;
  }

  /** An agent introduces itself (first time, or again after a restart or a loss). */
  onHello(id: string, info: AgentInfo, held: HeldTask[], now: number): { epoch: number; seq: number; commands: Command[] } {
    const ctx = this.ctx(now);
    const known = this.st.agents.get(id);
    if (known) {
      // A known agent again: leases it no longer holds were lost on the way.
      const heldKeys = new Set(held.map(([job, task]) => `${job}\u0000${task}`));
      for (const t of [...known.leases]) {
        if (!heldKeys.has(`${t.job}\u0000${t.id}`)) unlease(this.st, t, known, 'handback', ctx);
      }
    }
    const a = this.st.agents.hello(id, info, now);
    const adopted = this.held.adopt(this.st, a, held, ctx);
    ctx.out.push(
      log('info', 'agent joined', {
        agent: id,
        host: info.host,
        slots: info.slots,
        cores: info.cpus.usable,
        memoryGB: +(info.memory.limit / 2 ** 30).toFixed(1),
        ...(info.gpus?.length ? { gpus: info.gpus.map((g) => g.index) } : {}),
        spot: info.spot,
        epoch: a.epoch,
        adopted,
        event: ctx.ev,
      }),
    );
    wake(this.st, ctx);
    return { epoch: a.epoch, seq: a.seq, commands: ctx.out };
  }

  /** An agent asks for work (and reports failures and hand-backs). */
  onPull(id: string, p: PullParams, token: unknown, now: number): Command[] {
    const ctx = this.ctx(now);
    const out = ctx.out;
    const a = this.st.agents.get(id);
    if (!a || !present(a) || a.epoch !== p.epoch) {
      out.push({ kind: 'rejoin', token, agent: id, reason: !a ? 'unknown agent' : a.state.s === 'lost' ? 'agent was declared lost' : a.state.s === 'left' ? 'agent was taken to have left' : 'stale epoch' });
      return out;
    }
    a.lastSeen = now;
    // What an agent asks for is bounded by what it said it has, whatever it asks.
    const want = Math.min(p.want, a.info.slots * this.opts.maxBundlesPerSlot);
    const freeSlots = Math.min(p.freeSlots, a.info.slots);
    const memory = Math.min(p.memory, a.info.memory.limit);
    const freeGpus = Math.min(p.freeGpus ?? 0, gpuCount(a.info));
    if (p.reportsOnly) {
      for (const r of p.reports) report(this.st, a, r, ctx);
      out.push({ kind: 'reply-pull', token, agent: id, seq: a.seq, jobs: [], bundles: [] });
      wake(this.st, ctx);
      return out;
    }
    a.memory = memory;
    a.freeGpus = freeGpus;
    this.requeueLostDispatches(a, p.seq, ctx);
    for (const r of p.reports) report(this.st, a, r, ctx);
    if (a.pull) out.push({ kind: 'reply-pull', token: a.pull.token, agent: id, seq: a.seq, jobs: [], bundles: [] });
    this.st.agents.park(a, { token, want, freeSlots, memory, freeGpus, until: now + Math.min(p.waitMs, this.opts.maxPullWaitMs) });
    if (a.state.s === 'draining' || want === 0) {
      if (p.waitMs === 0 || want === 0) answer(this.st, a, [], [], out);
    } else {
      serve(this.st, a, ctx);
      if (a.pull && p.waitMs === 0) answer(this.st, a, [], [], out);
    }
    wake(this.st, ctx);
    return out;
  }

  /** Dispatches the agent never received (its seq is behind them) go back to the queue. */
  private requeueLostDispatches(a: Agent, ackedSeq: number, ctx: Ctx): void {
    for (const [seq, tasks] of a.dispatches) {
      a.dispatches.delete(seq);
      if (seq <= ackedSeq) continue;
      for (const t of tasks) {
        const s = t.state;
        // The agent may hold the task's first lease or its speculative copy.
        if (s.s === 'leased' && ((s.agent === a.id && s.dispatch === seq) || (s.copy?.agent === a.id && s.copy.dispatch === seq))) unlease(this.st, t, a, 'handback', ctx);
      }
      ctx.out.push(log('warn', 'dispatch lost on the way; tasks requeued', { agent: a.id, seq, tasks: tasks.length, event: ctx.ev }));
    }
  }

  /** Liveness and load. Returns false when the agent must say hello again. */
  onHeartbeat(id: string, epoch: number, busy: number, memory: number, draining: boolean, now: number, busyGpus = 0, interpreters: InterpreterMemory[] = []): boolean {
    const a = this.st.agents.get(id);
    if (!a || !present(a) || a.epoch !== epoch) return false;
    a.lastSeen = now;
    a.busy = Math.min(busy, a.info.slots);
    // Between pulls only (a parked pull's figure is the one dispatch goes by).
    if (!a.pull) a.freeGpus = Math.max(0, gpuCount(a.info) - busyGpus);
    a.memory = Math.min(memory, a.info.memory.limit);
    a.interpreters = interpreters;
    if (draining && a.state.s === 'active') this.st.agents.move(a, DRAINING);
    return true;
  }

  /**
   * The agent's goodbye (its last heartbeat, after its drain): it has left now, not when its
   * silence outlasts agentTimeoutMs. One whose leases have not all come back here yet (a commit
   * or a handback still on its way) stays until its silence judges it, as before.
   */
  onGoodbye(id: string, epoch: number, now: number): Command[] {
    const ctx = this.ctx(now);
    const a = this.st.agents.get(id);
    if (!a || !present(a) || a.epoch !== epoch || a.leases.size > 0) return ctx.out;
    if (a.state.s === 'active') this.st.agents.move(a, DRAINING);
    leave(this.st, a, ctx);
    return ctx.out;
  }

  /** The sink committed rows for these tasks (first result wins; later copies were dropped). */
  onCommitted(g: CommitGroup, now: number): Command[] {
    const ctx = this.ctx(now);
    commit(this.st, g, ctx);
    return ctx.out;
  }

  /** Stops dispatch of the job at once and aborts its running tasks everywhere. */
  onCancel(jobName: string, now: number): Command[] {
    const ctx = this.ctx(now);
    const job = this.st.jobs.get(jobName);
    if (job && (job.state === 'running' || job.state === 'waiting')) cancelJob(this.st, job, ctx);
    return ctx.out;
  }

  /** Cancels the job and every job downstream of it that has not ended (see downstream.ts); `also`: those, upstream first. */
  onCancelDownstream(jobName: string, now: number): { also: string[]; commands: Command[] } {
    const ctx = this.ctx(now);
    return { also: cancelDownstream(this.st, jobName, ctx), commands: ctx.out };
  }

  /** Changes a job's priority (higher gets free slots first). False: no such job running or waiting. */
  onPriority(jobName: string, priority: number, now: number): { changed: boolean; commands: Command[] } {
    const ctx = this.ctx(now);
    const job = this.st.jobs.get(jobName);
    if (!job || (job.state !== 'running' && job.state !== 'waiting')) return { changed: false, commands: ctx.out };
    setPriority(this.st, job, priority, ctx);
    return { changed: true, commands: ctx.out };
  }

  /**
   * A job this scheduler does not hold ended before (its record on disk says how), so jobs
   * submitted `--after` it need not wait for it.
   */
  knowEnded(jobName: string, end: UpstreamEnd): void {
    if (!this.st.jobs.has(jobName)) this.st.endedElsewhere.set(jobName, end);
  }

  /**
   * Job `jobName`, not held here, has ended as `end` (a job that could not be resumed after a
   * restart fails): the jobs waiting for it run or are cancelled as for any upstream's end.
   */
  onEndedElsewhere(jobName: string, end: UpstreamEnd, now: number): Command[] {
    const ctx = this.ctx(now);
    if (this.st.jobs.has(jobName)) return ctx.out;
    this.st.endedElsewhere.set(jobName, end);
    upstreamEnded(this.st, jobName, ctx);
    return ctx.out;
  }

  /** Stops an agent pulling; it finishes what it runs and hands the rest back. */
  onDrain(id: string, graceMs: number | null, _now: number): Command[] {
    const out: Command[] = [];
    const a = this.st.agents.get(id);
    if (!a || !present(a)) return out;
    if (a.state.s === 'active') this.st.agents.move(a, DRAINING);
    out.push({ kind: 'drain-agent', agent: id, graceMs });
    out.push(log('info', 'agent draining', { agent: id, leases: a.leases.size }));
    return out;
  }

  /** Time passes: lost agents, expired long-polls, rate samples, speculative copies. */
  onTick(now: number): Command[] {
    const ctx = this.ctx(now);
    const gap = this.lastTick > 0 ? now - this.lastTick : 0;
    this.lastTick = now;
    // After a pause, stragglers are only late because nobody could hear them.
    if (gap > this.opts.tickGapMs) this.speculateAfter = now + this.opts.agentTimeoutMs;
    checkAgents(this.st, gap, ctx);
    if (now - this.lastSample >= 1000) {
      this.lastSample = now;
      sample(this.st.running, now);
    }
    if (this.opts.speculate && now >= this.speculateAfter) speculate(this.st, ctx);
    return ctx.out;
  }

  /**
   * A job's output cannot be written (`reason`) or can again (null). While stalled the job
   * gets no dispatches; its running tasks finish and their results wait with the agents.
   */
  onStall(jobName: string, reason: string | null, now: number): Command[] {
    const ctx = this.ctx(now);
    const job = this.st.jobs.get(jobName);
    if (!job || job.stalled === reason) return ctx.out;
    job.stalled = reason;
    if (!reason) this.st.news++;
    ctx.out.push(log('debug', reason ? 'job stalled: its output cannot be written' : 'job continues: its output can be written again', { job: jobName, reason, event: ctx.ev }));
    if (!reason) wake(this.st, ctx);
    return ctx.out;
  }

  /** Jobs a restarting coordinator is about to load: agents' held tasks of these are kept until they are. */
  expect(jobNames: Iterable<string>): void {
    this.held.expect(jobNames);
  }

  /** A job expected after a restart that will not be loaded: drop what agents said they hold of it. */
  unexpect(jobName: string): void {
    this.held.unexpect(jobName);
  }

  /** Drops an ended job (before it is submitted again under the same name). */
  forget(jobName: string): void {
    const job = this.st.jobs.get(jobName);
    if (!job) return;
    if (job.state === 'running') throw new Error(`job ${jobName} is still running`);
    this.st.jobs.delete(jobName);
    for (const a of this.st.agents.values()) a.knows.delete(jobName);
  }

  // ───────────────────────────── queries ─────────────────────────────

  /** Which tasks of the job agent `agent` holds or held the lease of (or were adopted from it) in this life. */
  leasedTo(jobName: string, agent: string): (taskId: string) => boolean {
    const q = this.st.jobs.get(jobName)?.queue;
    if (!q) return () => false;
    return (taskId) => q.leasedTo(taskId, agent);
  }

  /** Which tasks of the job are out of attempts (or unschedulable) and wait for the coordinator's error row. */
  failingOf(jobName: string): (taskId: string) => boolean {
    const q = this.st.jobs.get(jobName)?.queue;
    return (taskId) => q?.peek(taskId)?.state.s === 'failing';
  }

  /** Whether agent `id` has said hello to this coordinator (and is not forgotten). */
  knowsAgent(id: string): boolean {
    return this.st.agents.has(id);
  }

  /** Whether the job continues earlier work, adopting the tasks agents say they hold. */
  adoptsHeld(name: string): boolean {
    return this.st.jobs.get(name)?.opts.adoptHeld === true;
  }

  /** A job's state as the protocol names it (a waiting job is running: status says what it waits for). */
  jobState(name: string): JobState | null {
    const state = this.st.jobs.get(name)?.state ?? null;
    return state === 'waiting' ? 'running' : state;
  }

  /** Whether the scheduler holds job `name` (in any state) or knows how it ended elsewhere. */
  knowsJob(name: string): boolean {
    return this.st.jobs.has(name) || this.st.endedElsewhere.has(name);
  }

  /** A job's tasks committed as error rows (null: no such job), for the record of its end. */
  jobFailed(name: string): number | null {
    return this.st.jobs.get(name)?.errors ?? null;
  }

  /** A job's task count and how many are done (split tasks count as their halves), without building a status. */
  jobCounts(name: string): { total: number; done: number } | null {
    const job = this.st.jobs.get(name);
    return job ? { total: job.queue.total, done: job.queue.counts.done } : null;
  }

  /** Slots of active agents: in all, and of the largest one. */
  capacity(): { slots: number; maxAgentSlots: number } {
    let max = 0;
    for (const a of this.st.agents.values()) if (a.state.s === 'active') max = Math.max(max, a.info.slots);
    return { slots: this.st.agents.activeSlots, maxAgentSlots: max };
  }

  jobNames(): string[] {
    return [...this.st.jobs.keys()];
  }

  /** Status of one job or all, and of the agents. */
  status(now: number, jobName?: string): { jobs: JobStatus[]; agents: AgentStatus[] } {
    return status(this.st, now, jobName);
  }

  /** The running jobs' queued work and the agents, as allocation queues see them. */
  demand(): { jobs: JobDemand[]; agents: AgentView[] } {
    return demand(this.st);
  }

  /** Asserts every invariant (see invariants.ts); throws naming the first broken one. For tests (O(tasks)). */
  check(): void {
    check(this.st);
  }

  /** The scheduler's state, for tests that break an invariant on purpose. Not for anything else. */
  internalsForTests(): { jobs: ReadonlyMap<string, Job>; agents: AgentRoster; running: Job[]; waiting: Job[] } {
    return { jobs: this.st.jobs, agents: this.st.agents, running: this.st.running, waiting: this.st.waiting };
  }
}
