/**
 * Jobs on disk: the record stored beside each output and in the coordinator's registry, so a
 * restarted coordinator finds its jobs again, and the fingerprint that guards a resume against
 * changed inputs.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import writeFileAtomic from 'write-file-atomic';
import { join } from 'node:path';
import type { JobState } from '../../protocol/index.js';
import { InputError } from '../../src/errors.js';
import { defaultOutPath, jobFilePathFor } from '../../src/sink/index.js';

/** What is stored beside the output and in the coordinator's registry. */
export interface JobRecord {
  job: string;
  kind: string;
  params: unknown;
  out: string;
  fingerprint: string;
  /** What went into the fingerprint, to say what changed. */
  inputs: Array<{ path: string; size: number; mtimeMs: number }>;
  /** A stage's (`--from`) upstream job and its fingerprint when this job was first submitted: rows made from another run of it are not resumed. */
  upstream?: { job: string; run: string };
  state: JobState;
  maxAttempts?: number;
  granularity?: 'auto' | number;
  speculate?: boolean;
  /** `--after` jobs, `--after-any` and `--priority` (absent: none, after-ok, 0). */
  after?: string[];
  afterAny?: boolean;
  priority?: number;
  /** Tasks committed as error rows, recorded when the job ended (so `--after` knows after a restart). */
  failed?: number;
  /** Slots the job was first expanded for; every resume expands for the same, so task ids stay. */
  expandSlots?: number;
  expandMaxAgentSlots?: number;
  submittedAt: number;
  /** When its output was first started (kept across resumes): with the fingerprint, which run of the job made its rows. */
  createdAt?: number;
}

/** Which run of a job made its rows: its fingerprint and when it was first started. */
export function runOf(rec: JobRecord): string {
  return `${rec.fingerprint}@${rec.createdAt ?? rec.submittedAt}`;
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
export function fingerprint(kind: string, params: unknown, inputs: string[], upstream?: JobRecord['upstream']): { hash: string; inputs: JobRecord['inputs'] } {
  const facts = inputs.map((path) => {
    try {
      const st = statSync(path);
      return { path, size: st.size, mtimeMs: Math.round(st.mtimeMs) };
    } catch (err) {
      throw new InputError(`input ${path}: ${(err as Error).message}`);
    }
  });
  const hash = createHash('sha256').update(canonical({ kind, params, inputs: facts, upstream })).digest('hex').slice(0, 32);
  return { hash, inputs: facts };
}

/** Explains how a stored job differs from a new submission (for the refusal message). */
export function describeChange(old: JobRecord, kind: string, params: unknown, inputs: JobRecord['inputs'], upstream?: JobRecord['upstream']): string {
  if (old.kind !== kind) return `kind was ${old.kind}, now ${kind}`;
  if (upstream && old.upstream?.run !== upstream.run) {
    return `its rows were made from another run of upstream job '${upstream.job}' (it was run again, or its inputs or parameters changed, since)`;
  }
  // Inputs first: a kind whose params carry its file's stamp changes both, and the file says why.
  for (const i of inputs) {
    const o = old.inputs.find((x) => x.path === i.path);
    if (!o) return `input ${i.path} is new`;
    if (o.size !== i.size) return `input ${i.path} changed size (${o.size} → ${i.size} bytes)`;
    if (o.mtimeMs !== i.mtimeMs) return `input ${i.path} was modified (${new Date(o.mtimeMs).toISOString()} → ${new Date(i.mtimeMs).toISOString()})`;
  }
  if (canonical(old.params) !== canonical(params)) return 'parameters differ';
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

/**
 * Writes a job record durably (temp file, fsync, rename; the temp file is removed on failure),
 * off the main thread: the fsync alone can take 100 ms and more on a busy disk.
 */
export async function writeJobRecord(path: string, rec: JobRecord): Promise<void> {
  await writeFileAtomic(path, JSON.stringify(rec, null, 2) + '\n', { fsync: true });
}

/** The coordinator's registry of jobs (so a restart finds jobs whose output lives elsewhere). */
export class JobRegistry {
  private readonly dir: string;
  constructor(outDir: string) {
    this.dir = join(outDir, '.shoal-jobs');
  }
  async save(rec: JobRecord): Promise<void> {
    mkdirSync(this.dir, { recursive: true });
    await Promise.all([writeJobRecord(join(this.dir, `${rec.job}.json`), rec), writeJobRecord(jobFilePathFor(rec.out), rec)]);
  }
  /** The record of job `job`, or null when the registry has none (or cannot read it). */
  find(job: string): JobRecord | null {
    try {
      return readJobRecord(join(this.dir, `${job}.json`));
    } catch {
      return null;
    }
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

/**
 * How job `name` ended, from its record in the out dir (the registry's, else the one beside
 * its default output); null when no record of it is found or it has not ended.
 */
export function endedJob(outDir: string, name: string): { state: 'done' | 'cancelled' | 'failed'; failed: number } | null {
  for (const f of [join(outDir, '.shoal-jobs', `${name}.json`), jobFilePathFor(defaultOutPath(outDir, name))]) {
    let r: JobRecord | null;
    try {
      r = readJobRecord(f);
    } catch {
      continue;
    }
    if (r === null || r.job !== name) continue;
    if (r.state === 'done' || r.state === 'cancelled' || r.state === 'failed') return { state: r.state, failed: r.failed ?? 0 };
    return null;
  }
  return null;
}

/** The parts of a spec about other jobs (`--after`, `--after-any`, `--priority`), as a record keeps them. */
export function sharingOf(s: { after?: string[]; afterAny?: boolean; priority?: number }): Pick<JobRecord, 'after' | 'afterAny' | 'priority'> {
  return { ...(s.after?.length ? { after: s.after } : {}), ...(s.afterAny ? { afterAny: true } : {}), ...(s.priority ? { priority: s.priority } : {}) };
}
