/**
 * A job's expansion: spec → kind → the scheduler's tasks, and the kind's split function. Handler
 * kinds (not built in) name a file of records in their parameters: one task per record.
 */
import { encodedSizeBound, type JobSpec } from '../../protocol/index.js';
import { ErrorCode, ShoalError } from '../../src/errors.js';
import { expandHandlerJob, handlerFrom } from '../../src/kinds/handlers/index.js';
import { COMMAND_KINDS, getKind, taskListOf, type Kind, type StageShape, type TaskList } from '../../src/kinds/index.js';
import type { NewTask, JobOptions, LateTask, TaskSource } from '../scheduler/index.js';

/** Resolves the kind of a spec; unknown kinds are handler kinds (agents that list them run them). */
export function kindOf(spec: JobSpec): { kind: Kind<unknown> | null; opts: Omit<JobOptions, 'granularity'> } {
  const kind = getKind(spec.kind) ?? null;
  const command = COMMAND_KINDS.has(spec.kind);
  // Two copies of an external program may overwrite each other's files: no speculation for them.
  return { kind, opts: { needsCommand: command, builtin: kind !== null, ...(command ? { speculate: false } : {}) } };
}

/**
 * Expands a job into the scheduler's task source. A kind with `expandList` gives its tasks by
 * number (nothing per task is built here); a kind's array is checked for repeated ids. Handler
 * kinds (not built in) name their inputs file in their params (`inputs`): one task per record.
 */
export async function expandJob(spec: JobSpec, kind: Kind<unknown> | null, cap: { slots: number; maxAgentSlots: number }, info: (msg: string, f?: Record<string, unknown>) => void): Promise<TaskSource> {
  if (!kind) return sourceFrom(await expandHandlerJob(spec.kind, spec.params));
  const params = kind.checkParams(spec.params);
  const ctx = { slots: cap.slots, maxAgentSlots: cap.maxAgentSlots, job: spec.job, info };
  if (kind.expandList) return sourceFrom(await kind.expandList(params, ctx));
  const list = taskListOf(await kind.expand(params, ctx));
  // '/' names the halves of a split task (see splitterFor).
  const bad = list.check(kind.split !== undefined);
  if (bad !== null) throw new ShoalError(ErrorCode.Internal, `kind ${kind.name} produced ${bad}`);
  return sourceFrom(list);
}

/** The upstream of a stage job (`--from JOB`: its tasks are that job's rows) and what its tasks ask for; null for other jobs. */
export function stageOf(spec: JobSpec, kind: Kind<unknown> | null): StageShape | null {
  if (kind) return kind.stage?.(kind.checkParams(spec.params)) ?? null;
  const from = handlerFrom(spec.kind, spec.params);
  return from === undefined ? null : { from };
}

/** A stage's first tasks (the upstream's rows committed before it was admitted) as the scheduler's task source. */
export function stageSource(tasks: readonly LateTask[]): TaskSource {
  return sourceFrom(taskListOf(tasks));
}

/** The scheduler's view of a kind's tasks: each built with its defaults and encoded size when asked for. */
function sourceFrom(list: TaskList): TaskSource {
  return {
    length: list.length,
    costAt: (i) => list.costAt(i),
    indexOf: (id) => list.indexOf(id),
    at(i) {
      const t = list.at(i);
      return { id: t.id, cost: t.cost, memory: t.memory ?? 0, threads: t.threads ?? 1, gpus: t.gpus ?? 0, bytes: encodedSize(t.id, t.ref), ref: t.ref };
    },
    refAt: (i) => list.at(i),
  };
}

/**
 * The job's split function for the scheduler (kinds that can split a task), or undefined. The
 * halves of task `x` are `x/0` and `x/1`, so a resumed job knows from the ids in its output
 * which tasks were split.
 */
export function splitterFor(spec: JobSpec, kind: Kind<unknown> | null): JobOptions['split'] {
  if (!kind?.split) return undefined;
  const split = kind.split.bind(kind);
  const params = kind.checkParams(spec.params);
  return (t: NewTask): [NewTask, NewTask] | null => {
    const halves = split({ id: t.id, cost: t.cost, memory: t.memory ?? 0, threads: t.threads ?? 1, gpus: t.gpus ?? 0, ref: t.ref }, params);
    if (halves === null) return null;
    return [0, 1].map((k) => {
      const h = halves[k]!;
      const id = `${t.id}/${k}`;
      return { id, cost: h.cost, memory: h.memory ?? 0, threads: h.threads ?? 1, gpus: h.gpus ?? 0, bytes: encodedSize(id, h.ref), ref: h.ref };
    }) as [NewTask, NewTask];
  };
}

function encodedSize(id: string, ref: unknown): number {
  // A bound, not an encoding: cheap for every task of a job of millions.
  return encodedSizeBound({ id, ref }) + 24;
}
