/**
 * Jobs on disk and their expansion: spec → kind → task refs, the fingerprint that guards a
 * resume against changed inputs, and the records that let a restarted coordinator find its
 * jobs again.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import writeFileAtomic from 'write-file-atomic';
import { join } from 'node:path';
import { encode, type JobSpec, type JobState } from '../protocol/index.js';
import { ErrorCode, InputError, ShoalError } from '../src/errors.js';
import { COMMAND_KINDS, getKind, type Kind } from '../src/kinds/index.js';
import { jobFilePathFor } from '../src/sink/index.js';
import type { NewTask, JobOptions } from './scheduler/index.js';

/** What is stored beside the output and in the coordinator's registry. */
export interface JobRecord {
  job: string;
  kind: string;
  params: unknown;
  out: string;
  fingerprint: string;
  /** What went into the fingerprint, to say what changed. */
  inputs: Array<{ path: string; size: number; mtimeMs: number }>;
  state: JobState;
  maxAttempts?: number;
  granularity?: 'auto' | number;
  speculate?: boolean;
  /** Slots the job was first expanded for; every resume expands for the same, so task ids stay. */
  expandSlots?: number;
  expandMaxAgentSlots?: number;
  submittedAt: number;
}

/** Sorted-key JSON so the same parameters always hash the same. */
function canonical(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o)
    .sort()
    .filter((k) => o[k] !== undefined)
    .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
    .join(',')}}`;
}

/** The fingerprint of a job: kind, parameters, and each input's size and mtime. */
export function fingerprint(kind: string, params: unknown, inputs: string[]): { hash: string; inputs: JobRecord['inputs'] } {
  const facts = inputs.map((path) => {
    try {
      const st = statSync(path);
      return { path, size: st.size, mtimeMs: Math.round(st.mtimeMs) };
    } catch (err) {
      throw new InputError(`input ${path}: ${(err as Error).message}`);
    }
  });
  const hash = createHash('sha256').update(canonical({ kind, params, inputs: facts })).digest('hex').slice(0, 32);
  return { hash, inputs: facts };
}

/** Explains how a stored job differs from a new submission (for the refusal message). */
export function describeChange(old: JobRecord, kind: string, params: unknown, inputs: JobRecord['inputs']): string {
  if (old.kind !== kind) return `kind was ${old.kind}, now ${kind}`;
  if (canonical(old.params) !== canonical(params)) return 'parameters differ';
  for (const i of inputs) {
    const o = old.inputs.find((x) => x.path === i.path);
    if (!o) return `input ${i.path} is new`;
    if (o.size !== i.size) return `input ${i.path} changed size (${o.size} → ${i.size} bytes)`;
    if (o.mtimeMs !== i.mtimeMs) return `input ${i.path} was modified (${new Date(o.mtimeMs).toISOString()} → ${new Date(i.mtimeMs).toISOString()})`;
  }
  return 'inputs differ';
}

export function readJobRecord(path: string): JobRecord | null {
  if (!existsSync(path)) return null;
  try {
    const r = JSON.parse(readFileSync(path, 'utf8')) as JobRecord;
    if (typeof r.job !== 'string' || typeof r.fingerprint !== 'string') throw new Error('missing job or fingerprint');
    return r;
  } catch (err) {
    throw new InputError(`job record ${path} is unreadable: ${(err as Error).message}`);
  }
}

/** Writes a job record durably (temp file, fsync, rename; the temp file is removed on failure). */
export function writeJobRecord(path: string, rec: JobRecord): void {
  writeFileAtomic.sync(path, JSON.stringify(rec, null, 2) + '\n', { fsync: true });
}

/** The coordinator's registry of jobs (so a restart finds jobs whose output lives elsewhere). */
export class JobRegistry {
  private readonly dir: string;
  constructor(outDir: string) {
    this.dir = join(outDir, '.shoal-jobs');
  }
  save(rec: JobRecord): void {
    mkdirSync(this.dir, { recursive: true });
    writeJobRecord(join(this.dir, `${rec.job}.json`), rec);
    writeJobRecord(jobFilePathFor(rec.out), rec);
  }
  /** Records of jobs that had not ended when the coordinator stopped. Unreadable ones are reported. */
  unfinished(onBad: (file: string, err: Error) => void): JobRecord[] {
    if (!existsSync(this.dir)) return [];
    const out: JobRecord[] = [];
    for (const f of readdirSync(this.dir)) {
      if (!f.endsWith('.json')) continue;
      try {
        const r = readJobRecord(join(this.dir, f));
        if (r && (r.state === 'running' || r.state === 'expanding')) out.push(r);
      } catch (err) {
        onBad(f, err as Error);
      }
    }
    return out.sort((a, b) => a.submittedAt - b.submittedAt);
  }
}

/** Resolves the kind of a spec; unknown kinds are handler kinds (agents that list them run them). */
export function kindOf(spec: JobSpec): { kind: Kind<any> | null; opts: Omit<JobOptions, 'granularity'> } {
  const kind = getKind(spec.kind) ?? null;
  const command = COMMAND_KINDS.has(spec.kind);
  // Two copies of an external program may overwrite each other's files: no speculation for them.
  return { kind, opts: { needsCommand: command, builtin: kind !== null, ...(command ? { speculate: false } : {}) } };
}

/**
 * Expands a job into scheduler tasks. Handler kinds (not built in) take an explicit task
 * list in their params: `{ tasks: [{id, cost?, ref}] }` or `{ inputs: [...] }` lines.
 */
export async function expandJob(spec: JobSpec, kind: Kind<any> | null, cap: { slots: number; maxAgentSlots: number }, info: (msg: string, f?: Record<string, unknown>) => void): Promise<NewTask[]> {
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
export function splitterFor(spec: JobSpec, kind: Kind<any> | null): JobOptions['split'] {
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
