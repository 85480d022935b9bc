/**
 * Jobs on disk: the record stored beside each output and in the coordinator's registry, so a
 * restarted coordinator finds its jobs again, and the fingerprint that guards a resume against
 * changed inputs or parameters (what changed is said in changes.ts).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { writeWhole } from '../../src/write-whole.js';
import { join } from 'node:path';
import type { JobCache, JobState } from '../../protocol/index.js';
import { InputError } from '../../src/errors.js';
import { defaultOutPath, jobFilePathFor } from '../../src/sink/index.js';
import type { InputFacts } from './content-hash.js';

/** What is stored beside the output and in the coordinator's registry. */
export interface JobRecord {
  job: string;
  kind: string;
  params: unknown;
  out: string;
  fingerprint: string;
  /**
   * How `fingerprint` was made: 'content' from the kind, what of the params counts and each
   * input's bytes (`contentFingerprint`); absent in records of an earlier shoal, from all of the
   * params and each input's path, size and mtime (`legacyFingerprint`).
   */
  fingerprintBy?: 'content';
  /**
   * The rule its task ids follow, where it is not the first one (the kind's `idRule`). A record
   * with another rule (one of an earlier shoal has none) has its output checked for rows whose
   * ids the job no longer has before it resumes (renamed-ids.ts).
   */
  ids?: string;
  /** Each input file when the job was last admitted: its hash, and the size and mtime that let a resume take the hash without reading the file. */
  inputs: InputFacts[];
  /** A stage's (`--from`) upstream job and its run when this job was first submitted: rows made from another run of it are not resumed. */
  upstream?: { job: string; run: string };
  /** Which run made the rows, where it is not `fingerprint@createdAt`: kept from a record of an earlier shoal, so the stages fed by it still resume. */
  run?: string;
  state: JobState;
  maxAttempts?: number;
  granularity?: 'auto' | number;
  speculate?: boolean;
  /** `--after` jobs, `--after-any` and `--priority` (absent: none, after-ok, 0). */
  after?: string[];
  afterAny?: boolean;
  priority?: number;
  /** The result cache the job uses (`--cache`), kept for a resume after a restart. */
  cache?: JobCache;
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
  return rec.run ?? `${rec.fingerprint}@${rec.createdAt ?? rec.submittedAt}`;
}

/** Sorted-key JSON so the same parameters always hash the same (keys whose value is undefined left out). */
export function canonical(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o)
    .sort()
    .filter((k) => o[k] !== undefined)
    .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
    .join(',')}}`;
}

function digest(v: unknown): string {
  return createHash('sha256').update(canonical(v)).digest('hex').slice(0, 32);
}

/**
 * The fingerprint of a job: its kind, what of its params counts (the kind's `identity`: no
 * paths, no mtimes), the hash of each input's bytes in order, and a stage's upstream run. A
 * touched input, or a copy of the inputs elsewhere, fingerprints the same.
 */
export function contentFingerprint(kind: string, identity: unknown, inputs: readonly InputFacts[], upstream?: JobRecord['upstream']): string {
  return digest({ kind, params: identity, inputs: inputs.map((i) => i.sha256 ?? null), upstream });
}

/** The fingerprint a record of an earlier shoal holds: the kind, all of the params, each input's path, size and mtime (to the millisecond). */
export function legacyFingerprint(kind: string, params: unknown, inputs: readonly InputFacts[], upstream?: JobRecord['upstream']): string {
  return digest({ kind, params, inputs: inputs.map(({ path, size, mtimeMs }) => ({ path, size, mtimeMs: Math.round(mtimeMs) })), upstream });
}

/** A job as it is submitted now, fingerprinted. */
export interface Fingerprinted {
  kind: string;
  params: unknown;
  inputs: InputFacts[];
  upstream: JobRecord['upstream'];
  /** The rule its task ids follow (see JobRecord). */
  ids?: string;
  /** `contentFingerprint` of it. */
  hash: string;
}

/**
 * Whether `now` is the job `rec` was made from: the same content fingerprint; for a record of
 * an earlier shoal, the same fingerprint by its old rule (params, each input's path, size and
 * mtime), so such a job resumes as long as its files were left as they were.
 */
export function sameJob(rec: JobRecord, now: Fingerprinted): boolean {
  if (rec.fingerprintBy === 'content') return rec.fingerprint === now.hash;
  return rec.fingerprint === legacyFingerprint(now.kind, now.params, now.inputs, now.upstream);
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
  await writeWhole(path, JSON.stringify(rec, null, 2) + '\n', { fsync: true });
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

/** Job `name`'s record in the out dir (the registry's, else the one beside its default output); null when neither is found and readable. */
export function findJobRecord(outDir: string, name: string): JobRecord | null {
  for (const f of [join(outDir, '.shoal-jobs', `${name}.json`), jobFilePathFor(defaultOutPath(outDir, name))]) {
    try {
      const r = readJobRecord(f);
      if (r !== null && r.job === name) return r;
    } catch {
      // Unreadable: the other place may hold it.
    }
  }
  return null;
}

/** How job `name` ended, from its record in the out dir; null when no record of it is found or it has not ended. */
export function endedJob(outDir: string, name: string): { state: 'done' | 'cancelled' | 'failed'; failed: number } | null {
  const r = findJobRecord(outDir, name);
  if (r && (r.state === 'done' || r.state === 'cancelled' || r.state === 'failed')) return { state: r.state, failed: r.failed ?? 0 };
  return null;
}

/** The parts of a spec about other jobs (`--after`, `--after-any`, `--priority`), as a record keeps them. */
export function sharingOf(s: { after?: string[]; afterAny?: boolean; priority?: number; cache?: JobCache }): Pick<JobRecord, 'after' | 'afterAny' | 'priority' | 'cache'> {
  return { ...(s.after?.length ? { after: s.after } : {}), ...(s.afterAny ? { afterAny: true } : {}), ...(s.priority ? { priority: s.priority } : {}), ...(s.cache ? { cache: s.cache } : {}) };
}
