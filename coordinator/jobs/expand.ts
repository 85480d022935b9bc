/**
 * A job's expansion: spec → kind → the scheduler's tasks, and the kind's split function. Handler
 * kinds (not built in) bring their task list in their parameters.
 */
import { encode, type JobSpec } from '../../protocol/index.js';
import { ErrorCode, InputError, ShoalError } from '../../src/errors.js';
import { COMMAND_KINDS, getKind, type Kind } from '../../src/kinds/index.js';
import type { NewTask, JobOptions } from '../scheduler/index.js';

/** Resolves the kind of a spec; unknown kinds are handler kinds (agents that list them run them). */
export function kindOf(spec: JobSpec): { kind: Kind<unknown> | null; opts: Omit<JobOptions, 'granularity'> } {
  const kind = getKind(spec.kind) ?? null;
  const command = COMMAND_KINDS.has(spec.kind);
  // Two copies of an external program may overwrite each other's files: no speculation for them.
  return { kind, opts: { needsCommand: command, builtin: kind !== null, ...(command ? { speculate: false } : {}) } };
}

/**
 * Expands a job into scheduler tasks. Handler kinds (not built in) take an explicit task
 * list in their params: `{ tasks: [{id, cost?, ref}] }` or `{ inputs: [...] }` lines.
 */
export async function expandJob(spec: JobSpec, kind: Kind<unknown> | null, cap: { slots: number; maxAgentSlots: number }, info: (msg: string, f?: Record<string, unknown>) => void): Promise<NewTask[]> {
  if (!kind) return expandHandlerJob(spec);
  const params = kind.checkParams(spec.params);
  const specs = await kind.expand(params, { slots: cap.slots, maxAgentSlots: cap.maxAgentSlots, job: spec.job, info });
  const seen = new Set<string>();
  const out: NewTask[] = new Array(specs.length);
  for (let i = 0; i < specs.length; i++) {
    const t = specs[i]!;
    if (seen.has(t.id)) throw new ShoalError(ErrorCode.Internal, `kind ${kind.name} produced task id '${t.id}' twice`);
    // '/' names the halves of a split task (see splitterFor).
    if (kind.split && t.id.includes('/')) throw new ShoalError(ErrorCode.Internal, `kind ${kind.name} produced task id '${t.id}' with a '/'`);
    seen.add(t.id);
    out[i] = { id: t.id, cost: t.cost, memory: t.memory ?? 0, threads: t.threads ?? 1, bytes: encodedSize(t.id, t.ref), ref: t.ref };
  }
  return out;
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
    const halves = split({ id: t.id, cost: t.cost, memory: t.memory ?? 0, threads: t.threads ?? 1, ref: t.ref }, params);
    if (halves === null) return null;
    return [0, 1].map((k) => {
      const h = halves[k]!;
      const id = `${t.id}/${k}`;
      return { id, cost: h.cost, memory: h.memory ?? 0, threads: h.threads ?? 1, bytes: encodedSize(id, h.ref), ref: h.ref };
    }) as [NewTask, NewTask];
  };
}

function encodedSize(id: string, ref: unknown): number {
  // Exact for small refs; cheap enough at submit time.
  return encode({ id, ref }).byteLength + 24;
}

function expandHandlerJob(spec: JobSpec): NewTask[] {
  const p = spec.params as { inputs?: unknown } | null;
  const inputs = p?.inputs;
  if (!Array.isArray(inputs)) throw new InputError(`kind '${spec.kind}' is not built in: its params need an 'inputs' array (submit --inputs FILE)`);
  const width = String(Math.max(0, inputs.length - 1)).length;
  return inputs.map((input, i) => {
    const id = `task_${String(i).padStart(width, '0')}`;
    return { id, cost: 1, bytes: encodedSize(id, input), ref: { input, line: i + 1 } };
  });
}
