/**
 * One allocation queue's core: its allocations, its failures and pauses, the agents its
 * allocations brought and how long they idle. Pure: events carry `now` and what Slurm and the
 * scheduler said; answers are commands the shell (manager.ts) carries out.
 */
import type { AllocQueueSpec, AllocQueueStatus } from '../../protocol/index.js';
import { allocationStatus, live, moveAllocation, newAllocation, waiting, type Allocation } from './allocation.js';
import { decide, type QueueFacts } from './decide.js';
import { SLURM_ENDED, SLURM_NEVER_STARTS, type SlurmJobView, type World } from './world.js';

/** What the shell must do. */
export type AllocCommand =
  | { kind: 'sbatch'; queue: string; alloc: string; nodes: number }
  | { kind: 'scancel'; queue: string; alloc: string; slurmJob: string }
  | { kind: 'drain-agent'; agent: string }
  | { kind: 'log'; level: 'info' | 'warn'; msg: string; fields: Record<string, unknown> };

export type QueueStateName = 'active' | 'paused' | 'removed';

/** The queue's states: paused by failures or by command, resumed only by command; removed for good. */
export const QUEUE_TRANSITIONS: Readonly<Record<QueueStateName, readonly QueueStateName[]>> = {
  active: ['paused', 'removed'],
  paused: ['active', 'removed'],
  removed: [],
};

/** Ended allocations kept for status, newest last. */
const KEEP_ENDED = 20;

export class AllocQueue {
  private stateName: QueueStateName = 'active';
  private pausedWhy: string | null = null;
  private readonly allocs: Allocation[] = [];
  private seq = 0;
  private failuresInRow = 0;
  private lastFailureAt: number | null = null;
  private submittedCount = 0;
  private failedCount = 0;
  private lastReason = 'not decided yet';
  private readonly unserv = new Map<string, string>();
  /** Agents of its allocations: when each went idle (absent: busy), and those told to drain. */
  private readonly idleSince = new Map<string, number>();
  private readonly drained = new Set<string>();
  /** Allocations whose sbatch is in flight when the queue emptied: cancelled once their id is known. */
  private readonly cancelOnSubmit = new Set<string>();
  private learntSlots: number | null = null;
  /** An allocation's agents joined since the queue was added or its last failure. */
  private started = false;

  constructor(
    readonly id: string,
    readonly spec: AllocQueueSpec,
  ) {}

  get state(): QueueStateName {
    return this.stateName;
  }

  /** The name in logs and status. */
  get label(): string {
    return this.spec.name ?? this.id;
  }

  /** One tick: follow the agents, fail allocations whose agents never joined, drain idle agents, decide. */
  tick(w: World, now: number): AllocCommand[] {
    if (this.stateName === 'removed') return [];
    const out: AllocCommand[] = [];
    this.followAgents(w, now, out);
    for (const a of this.allocs) {
      if (a.state === 'running' && a.joinedAt === null && a.startedAt !== null && now - a.startedAt >= this.spec.connectTimeoutS * 1000) {
        this.fail(a, `its agents did not join within ${this.spec.connectTimeoutS} s of Slurm starting it (--connect-timeout): check the allocation's output and --nats`, now, out);
        out.push({ kind: 'scancel', queue: this.id, alloc: a.id, slurmJob: a.slurmJob! });
      }
    }
    const d = decide(this.spec, this.facts(), w, now);
    this.lastReason = d.reason;
    for (const [job, why] of d.unservable) {
      if (this.unserv.get(job) !== why) out.push(this.log('warn', 'no allocation of the queue can run this job', { job, why }));
      this.unserv.set(job, why);
    }
    for (const job of [...this.unserv.keys()]) if (!d.unservable.has(job)) this.unserv.delete(job);
    if (d.cancelWaiting) this.cancelWaiting(now, out);
    for (let i = 0; i < d.submit; i++) {
      const a = newAllocation(`${this.id}.${++this.seq}`, this.spec.nodes, now);
      this.allocs.push(a);
      this.submittedCount++;
      out.push({ kind: 'sbatch', queue: this.id, alloc: a.id, nodes: a.nodes });
      out.push(this.log('info', 'submitting an allocation', { alloc: a.id, why: d.reason }));
    }
    this.forgetOld();
    return out;
  }

  /** sbatch answered: the Slurm job id, or why it refused. */
  submitted(allocId: string, r: { slurmJob: string } | { error: string }, now: number): AllocCommand[] {
    const a = this.allocs.find((x) => x.id === allocId);
    if (!a || a.state !== 'submitting') return [];
    const out: AllocCommand[] = [];
    if ('error' in r) {
      this.fail(a, `sbatch failed: ${r.error}`, now, out);
      return out;
    }
    a.slurmJob = r.slurmJob;
    if (this.cancelOnSubmit.delete(a.id) || this.stateName === 'removed') {
      moveAllocation(a, 'cancelled', now, 'no queued work left for it');
      out.push({ kind: 'scancel', queue: this.id, alloc: a.id, slurmJob: a.slurmJob });
      return out;
    }
    moveAllocation(a, 'pending', now);
    out.push(this.log('info', 'allocation submitted', { alloc: a.id, slurmJob: a.slurmJob }));
    return out;
  }

  /** The Slurm job ids of its allocations that Slurm may still know as not ended. */
  slurmJobs(): string[] {
    return this.allocs.filter((a) => (a.state === 'pending' || a.state === 'running') && a.slurmJob !== null).map((a) => a.slurmJob!);
  }

  /** What Slurm says of its jobs (null: Slurm no longer knows the job). */
  slurmSaw(views: ReadonlyMap<string, SlurmJobView | null>, now: number): AllocCommand[] {
    const out: AllocCommand[] = [];
    for (const a of this.allocs) {
      if ((a.state !== 'pending' && a.state !== 'running') || a.slurmJob === null || !views.has(a.slurmJob)) continue;
      const v = views.get(a.slurmJob)!;
      if (v === null) {
        if (a.joinedAt !== null) moveAllocation(a, 'ended', now, 'Slurm no longer lists its job');
        else this.fail(a, `Slurm job ${a.slurmJob} ended and is no longer known to Slurm before any agent joined`, now, out);
        continue;
      }
      if (v.state === 'PENDING') {
        const reason = v.reason === 'None' ? '' : v.reason;
        if (SLURM_NEVER_STARTS.has(reason)) {
          this.fail(a, `Slurm job ${a.slurmJob} cannot start: ${reason}`, now, out);
          out.push({ kind: 'scancel', queue: this.id, alloc: a.id, slurmJob: a.slurmJob });
        } else a.reason = reason || null;
      } else if (SLURM_ENDED.has(v.state)) {
        const detail = `Slurm job ${a.slurmJob} ${v.state}${v.exitCode ? ` (exit code ${v.exitCode})` : ''}${v.reason && v.reason !== 'None' ? `, reason ${v.reason}` : ''}`;
        // Once its agents joined, however it ended it served: what they did not finish was handed back or requeued.
        if (a.joinedAt !== null) moveAllocation(a, 'ended', now, detail);
        else this.fail(a, `${detail} before any agent joined`, now, out);
      } else if (a.state === 'pending') {
        moveAllocation(a, 'running', now);
        a.reason = null;
        out.push(this.log('info', 'allocation started', { alloc: a.id, slurmJob: a.slurmJob }));
      }
    }
    return out;
  }

  /** More of why an allocation failed (the tail of its output), found by the shell. */
  annotate(allocId: string, detail: string): void {
    const a = this.allocs.find((x) => x.id === allocId);
    if (a && detail) a.reason = a.reason ? `${a.reason}; ${detail}` : detail;
    if (a && this.pausedWhy !== null && detail && this.pausedWhy.includes(a.id)) this.pausedWhy = `${this.pausedWhy}; ${detail}`;
  }

  /** Pauses by command: no allocation is submitted until resumed. */
  pause(why: string): void {
    if (this.stateName !== 'active') return;
    this.stateName = 'paused';
    this.pausedWhy = why;
  }

  /** Resumes a paused queue (by command only); its failures in a row start again from 0. */
  resume(): boolean {
    if (this.stateName !== 'paused') return false;
    this.stateName = 'active';
    this.pausedWhy = null;
    this.failuresInRow = 0;
    this.lastFailureAt = null;
    return true;
  }

  /** Removes the queue: its allocations not started are cancelled, its agents drained. */
  remove(now: number): AllocCommand[] {
    const out: AllocCommand[] = [];
    this.cancelWaiting(now, out);
    for (const a of this.allocs) for (const agent of a.agents) if (!this.drained.has(agent)) out.push({ kind: 'drain-agent', agent });
    this.stateName = 'removed';
    return out;
  }

  status(): AllocQueueStatus {
    return {
      id: this.id,
      state: this.stateName === 'paused' ? 'paused' : 'active',
      spec: this.spec,
      ...(this.pausedWhy !== null ? { paused: this.pausedWhy } : {}),
      failuresInRow: this.failuresInRow,
      submitted: this.submittedCount,
      failed: this.failedCount,
      decision: this.lastReason,
      unservable: [...this.unserv].map(([job, why]) => `${job}: ${why}`),
      allocations: this.allocs.map(allocationStatus),
    };
  }

  /** For tests: the allocations, live and ended. */
  allocations(): readonly Allocation[] {
    return this.allocs;
  }

  private facts(): QueueFacts {
    return {
      live: this.allocs.filter(live).length,
      waiting: this.allocs.filter(waiting).length,
      slurmJobs: new Set(this.allocs.filter(live).flatMap((a) => (a.slurmJob !== null ? [a.slurmJob] : []))),
      slotsPerNode: this.spec.cpusPerNode ?? this.learntSlots,
      paused: this.stateName !== 'active',
      started: this.started,
      failuresInRow: this.failuresInRow,
      lastFailureAt: this.lastFailureAt,
    };
  }

  /** Agents whose Slurm job is one of its allocations: joined, present, idle; idle ones past --idle-timeout drain. */
  private followAgents(w: World, now: number, out: AllocCommand[]): void {
    const byJob = new Map<string, Allocation>();
    for (const a of this.allocs) if (a.slurmJob !== null) byJob.set(a.slurmJob, a);
    const present = new Map<Allocation, number>();
    for (const ag of w.agents) {
      const a = ag.slurmJob !== null ? byJob.get(ag.slurmJob) : undefined;
      if (!a) continue;
      if (!a.agents.has(ag.agent)) {
        a.agents.add(ag.agent);
        this.learntSlots = Math.max(this.learntSlots ?? 0, ag.slots);
        if (a.joinedAt === null) {
          a.joinedAt = now;
          this.failuresInRow = 0;
          this.started = true;
          out.push(this.log('info', 'the allocation\'s agents joined', { alloc: a.id, slurmJob: a.slurmJob, agent: ag.agent }));
        }
      }
      if (!ag.present) continue;
      present.set(a, (present.get(a) ?? 0) + 1);
      if (!ag.active || ag.busy > 0) {
        this.idleSince.delete(ag.agent);
        continue;
      }
      const since = this.idleSince.get(ag.agent) ?? now;
      this.idleSince.set(ag.agent, since);
      if (now - since >= this.spec.idleTimeoutS * 1000 && !this.drained.has(ag.agent)) {
        this.drained.add(ag.agent);
        out.push({ kind: 'drain-agent', agent: ag.agent });
        out.push(this.log('info', 'an agent of the allocation idled past --idle-timeout: draining it', { alloc: a.id, agent: ag.agent }));
      }
    }
    for (const a of this.allocs) {
      const n = present.get(a) ?? 0;
      if (a.present > 0 && n === 0) a.leftAt = now;
      a.present = n;
    }
  }

  private cancelWaiting(now: number, out: AllocCommand[]): void {
    for (const a of this.allocs) {
      if (a.state === 'submitting') this.cancelOnSubmit.add(a.id);
      else if (a.state === 'pending' && a.slurmJob !== null) {
        moveAllocation(a, 'cancelled', now, 'no queued work left for it');
        out.push({ kind: 'scancel', queue: this.id, alloc: a.id, slurmJob: a.slurmJob });
        out.push(this.log('info', 'allocation not started cancelled: no queued work left for it', { alloc: a.id, slurmJob: a.slurmJob }));
      }
    }
  }

  private fail(a: Allocation, reason: string, now: number, out: AllocCommand[]): void {
    moveAllocation(a, 'failed', now, reason);
    this.failuresInRow++;
    this.failedCount++;
    this.started = false;
    this.lastFailureAt = now;
    out.push(this.log('warn', 'allocation failed', { alloc: a.id, slurmJob: a.slurmJob, why: reason, failuresInRow: this.failuresInRow }));
    if (this.stateName === 'active' && this.failuresInRow >= this.spec.maxFailures) {
      this.stateName = 'paused';
      this.pausedWhy = `paused after ${this.failuresInRow} failed allocations in a row (--max-failures ${this.spec.maxFailures}); the last, ${a.id}: ${reason}. Fix the cause, then: shoal alloc resume ${this.id}`;
      out.push(this.log('warn', 'allocation queue paused', { why: this.pausedWhy }));
    }
  }

  private forgetOld(): void {
    let ended = this.allocs.filter((a) => !live(a)).length;
    for (let i = 0; i < this.allocs.length && ended > KEEP_ENDED; ) {
      if (!live(this.allocs[i]!)) {
        this.allocs.splice(i, 1);
        ended--;
      } else i++;
    }
  }

  private log(level: 'info' | 'warn', msg: string, fields: Record<string, unknown>): AllocCommand {
    return { kind: 'log', level, msg, fields: { queue: this.label, ...fields } };
  }
}
