/**
 * What the shell asks the scheduling core between events: a job's state and counts, which tasks
 * an agent held, status, capacity. The state itself, made here, is shared with the event side
 * (scheduler.ts), which extends this class. Pure like it: no I/O, no clock.
 */
import type { AgentStatus, JobState, JobStatus } from '../../protocol/index.js';
import { AgentRoster } from './agents.js';
import { demand, type AgentView, type JobDemand } from './demand.js';
import { check } from './invariants.js';
import type { Job } from './job.js';
import { DEFAULT_SCHEDULER_OPTIONS, type SchedulerOptions } from './options.js';
import type { State } from './state.js';
import { status } from './status.js';

export class SchedulerQueries {
  readonly opts: SchedulerOptions;
  protected readonly st: State;

  constructor(opts: Partial<SchedulerOptions> = {}) {
    this.opts = { ...DEFAULT_SCHEDULER_OPTIONS, ...opts };
    this.st = { opts: this.opts, jobs: new Map(), running: [], waiting: [], endedElsewhere: new Map(), agents: new AgentRoster(), news: 0 };
  }

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

  /** The ref of task `taskId` of the job while it is held as an object (dispatched, failing...), for its error row's input; else undefined. */
  refOf(jobName: string, taskId: string): unknown {
    return this.st.jobs.get(jobName)?.queue.peek(taskId)?.ref;
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

  /** Agents the coordinator knows (lost and left ones until they are forgotten). */
  agentCount(): number {
    return this.st.agents.size;
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
