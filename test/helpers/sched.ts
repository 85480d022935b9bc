/** Builders for driving the scheduling core in unit tests (no bus, simulated clock). */
import type { AgentInfo, Bundle, CommitGroup, JobSpec, TaskReport } from '../../protocol/index.js';
import { newTask, Scheduler, type Command, type JobOptions, type NewTask, type PullParams, type SchedulerOptions, type Task } from '../../coordinator/index.js';

/** An agent's hello info: 2 slots, 16 GB and no GPU unless told; `endTime` is its Slurm allocation's end. */
export function agentInfo(o: { slots?: number; memoryGB?: number; host?: string; allowCommand?: boolean; kinds?: string[]; endTime?: number; gpus?: number } = {}): AgentInfo {
  const mem = (o.memoryGB ?? 16) * 2 ** 30;
  const slots = o.slots ?? 2;
  return {
    host: o.host ?? 'node',
    pid: 1,
    slots,
    cpus: { logical: slots, physical: slots, usable: slots },
    memory: { total: mem, available: mem, limit: mem },
    spot: false,
    allowCommand: o.allowCommand ?? false,
    kinds: o.kinds ?? [],
    ...(o.endTime !== undefined ? { slurm: { endTime: o.endTime } } : {}),
    ...(o.gpus ? { gpus: Array.from({ length: o.gpus }, (_, index) => ({ index })) } : {}),
  };
}

export function spec(job: string, kind = 'spin'): JobSpec {
  return { job, kind, params: {} };
}

export function tasks(n: number, cost: (i: number) => number = () => 1, extra: (i: number) => Partial<NewTask> = () => ({})): NewTask[] {
  return Array.from({ length: n }, (_, i) => ({ id: `t${i}`, cost: cost(i), ref: { i }, ...extra(i) }));
}

export const BUILTIN: JobOptions = { granularity: 'auto', needsCommand: false, builtin: true };

/** What `submit` takes beside the tasks: the job's options over BUILTIN, its kind, what its output holds, and when. */
export type SubmitOptions = Partial<JobOptions> & { kind?: string; done?: ReadonlyMap<string, 'ok' | 'error'>; now?: number };

/** Submits job `name` with `taskList`: a built-in kind ('spin'), nothing in its output yet, at time 0, unless told. */
export function submit(s: Scheduler, name: string, taskList: NewTask[], o: SubmitOptions = {}): Command[] {
  const { kind, done, now, ...opts } = o;
  return s.onSubmit(spec(name, kind), taskList, done ?? new Map(), { ...BUILTIN, ...opts }, now ?? 0);
}

/** A report that the task failed on the agent (code E_TASK unless told). */
export function failure(job: string, id: string, message: string, o: { attempt?: number; code?: string } = {}): TaskReport {
  return { job, id, attempt: o.attempt ?? 1, error: { code: o.code ?? 'E_TASK', message } };
}

/** A report that the agent hands the task back unrun (draining). */
export function handback(job: string, id: string, attempt = 1): TaskReport {
  return { job, id, attempt };
}

/** A queued task of job J as the scheduler holds it, for tests of the task table alone. */
export function queuedTask(id: string, cost = 1): Task {
  return newTask('J', { id, cost, bytes: 1, ref: null }, { s: 'queued' });
}

export function pullParams(epoch: number, seq: number, want: number, o: Partial<PullParams> = {}): PullParams {
  return { epoch, seq, want, freeSlots: want, memory: 2 ** 40, waitMs: 1000, reports: [], ...o };
}

/** The reply-pull commands in a command list, by token. */
export function replies(cmds: Command[]): Array<Extract<Command, { kind: 'reply-pull' }>> {
  return cmds.filter((c): c is Extract<Command, { kind: 'reply-pull' }> => c.kind === 'reply-pull');
}

export function ofKind<K extends Command['kind']>(cmds: Command[], kind: K): Array<Extract<Command, { kind: K }>> {
  return cmds.filter((c): c is Extract<Command, { kind: K }> => c.kind === kind);
}

export function taskIds(bundles: Bundle[]): string[] {
  return bundles.flatMap((b) => b.tasks.map((t) => t.id));
}

/**
 * A scheduler for tests. Simulated time jumps between ticks stand for quiet time, not for a
 * paused coordinator, so the gap rule is off unless a test asks for it.
 */
export function newScheduler(o: Partial<SchedulerOptions> = {}): Scheduler {
  return new Scheduler({ speculate: false, tickGapMs: Infinity, ...o });
}


/** A commit notice for tasks of one job from one agent: items are [id, status, attempt, agent, ms]. */
export function commit(job: string, items: Array<[string, 'ok' | 'error', number, string, number, ...unknown[]]>): CommitGroup {
  const from = items[0]?.[3] ?? 'x';
  return {
    job,
    from,
    ids: items.map((i) => i[0]),
    status: items.map((i) => (i[1] === 'ok' ? 'o' : 'e')).join(''),
    attempts: items.map((i) => i[2]),
    ms: items.map((i) => i[4]),
    errorRecords: items.filter((i) => i[1] === 'error').length,
  };
}

/** A deterministic PRNG so simulations replay exactly. */
export { mulberry32 as rng } from '../../src/random.js';

/** A job's split function that halves a task's cost down to `min` (ids `<id>/0`, `<id>/1`, like the coordinator's). */
export function halving(min = 1): NonNullable<JobOptions['split']> {
  return (t) => (t.cost / 2 < min ? null : [0, 1].map((k) => ({ id: `${t.id}/${k}`, cost: t.cost / 2, ref: { of: t.id, half: k } })) as [NewTask, NewTask]);
}
