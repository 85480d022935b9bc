/**
 * `shoal repair`: rewrites an output to what the contract allows, the first complete row
 * set of each task of the job in their original order, and moves every other line
 * (foreign, duplicate, incomplete, the torn tail) byte for byte into a rejected-lines file
 * beside it, so nothing is ever thrown away.
 *
 * One scan drives the copy: its segments cover the file in order, runs of one verdict are
 * copied from the original by offset into two temp files in the same directory, and only
 * when both are on disk are they renamed into place (rejected lines first, so a crash never
 * leaves the clean file without them).
 */
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, fchmodSync, fsyncSync, openSync, readSync, renameSync, statSync, unlinkSync, writeSync, type Stats } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { InputError } from '../errors.js';
import type { LineProblem, Segment } from './journal.js';
import { reportOf, resolveJob, scanExisting, unreadable, type JobSource, type OutputCheckOptions } from './verify.js';

/** What `repairOutput` kept and moved aside. */
export interface RepairReport {
  path: string;
  job: string | null;
  jobFrom: JobSource;
  /** Why the job record could not be used, when it exists but is unreadable. */
  jobRecordError?: string;
  /** False when there was nothing to reject: then nothing was written. */
  repaired: boolean;
  kept: { rows: number; tasks: number; okTasks: number; errorTasks: number };
  rejected: {
    /** Lines moved aside (a torn last line without newline counts as one). */
    lines: number;
    bytes: number;
    foreign: LineProblem;
    duplicates: LineProblem;
    incomplete: LineProblem;
    torn: { bytes: number; line: number | null };
  };
  /** Where the rejected lines went; null when nothing was rejected. */
  rejectedPath: string | null;
}

const COPY_CHUNK = 1 << 20;

function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } catch (err) {
    // Some file systems cannot fsync a directory; the renames are then as durable as they get.
    if ((err as NodeJS.ErrnoException).code !== 'EINVAL') throw err;
  } finally {
    closeSync(fd);
  }
}

/** `<path>.rejected`, or `.rejected.2`, `.3`... if taken (repairs of one file are not run concurrently). */
function freeRejectedPath(path: string): string {
  for (let n = 1; ; n++) {
    const p = n === 1 ? `${path}.rejected` : `${path}.rejected.${n}`;
    if (!existsSync(p)) return p;
  }
}

interface Temp {
  path: string;
  fd: number | null;
}

/** Splits the original into kept and rejected temp files, run by run; opened at the first rejected line. */
class SplitWriter {
  private readonly src: number;
  private files: { kept: Temp; rejected: Temp } | null = null;
  private run: { keep: boolean; start: number; end: number } | null = null;
  private readonly buf = Buffer.allocUnsafe(COPY_CHUNK);
  rejectedLines = 0;
  rejectedBytes = 0;

  constructor(
    private readonly path: string,
    private readonly mode: number,
  ) {
    this.src = openSync(path, 'r');
  }

  get started(): boolean {
    return this.files !== null;
  }

  segment(s: Segment): void {
    const keep = s.verdict === 'kept';
    if (!keep) {
      this.rejectedLines += s.lines;
      this.rejectedBytes += s.end - s.start;
      if (!this.files) this.open();
    }
    if (this.run && this.run.keep === keep && this.run.end === s.start) {
      this.run.end = s.end;
      return;
    }
    this.flush();
    this.run = { keep, start: s.start, end: s.end };
  }

  private open(): void {
    const base = join(dirname(this.path), `.${basename(this.path)}.repair-${process.pid}-${randomBytes(4).toString('hex')}`);
    this.files = { kept: { path: `${base}.kept`, fd: null }, rejected: { path: `${base}.rejected`, fd: null } };
    for (const t of [this.files.kept, this.files.rejected]) {
      t.fd = openSync(t.path, 'wx', 0o600);
      fchmodSync(t.fd, this.mode);
    }
  }

  /** Copies the current run from the original; before the first rejected line there is nothing to copy to. */
  private flush(): void {
    const r = this.run;
    if (!r || !this.files) return;
    this.run = null;
    const to = (r.keep ? this.files.kept : this.files.rejected).fd!;
    for (let pos = r.start; pos < r.end; ) {
      const n = readSync(this.src, this.buf, 0, Math.min(COPY_CHUNK, r.end - pos), pos);
      if (n === 0) throw new Error(`${this.path} ended at byte ${pos} while being copied (was it truncated?)`);
      for (let off = 0; off < n; ) off += writeSync(to, this.buf, off, n - off);
      pos += n;
    }
  }

  /** Flushes the last run and puts both files on disk. */
  finish(): void {
    this.flush();
    for (const t of this.files ? [this.files.kept, this.files.rejected] : []) {
      fsyncSync(t.fd!);
      closeSync(t.fd!);
      t.fd = null;
    }
  }

  /** Renames the rejected lines, then the clean file, into place; returns where the rejected lines are. */
  commit(): string {
    const files = this.files!;
    const dir = dirname(this.path);
    const rejectedPath = freeRejectedPath(this.path);
    renameSync(files.rejected.path, rejectedPath);
    try {
      fsyncDir(dir);
      renameSync(files.kept.path, this.path);
    } catch (err) {
      // The original stays as it was: a rejected-lines file beside it would only mislead.
      try {
        unlinkSync(rejectedPath);
      } catch {
        /* already gone */
      }
      throw err;
    }
    fsyncDir(dir);
    return rejectedPath;
  }

  /** Closes everything and removes the temp files (idempotent; the original is never touched). */
  close(): void {
    for (const t of this.files ? [this.files.kept, this.files.rejected] : []) {
      if (t.fd !== null) closeSync(t.fd);
      t.fd = null;
      try {
        unlinkSync(t.path);
      } catch {
        /* renamed into place, or never created */
      }
    }
    closeSync(this.src);
  }
}

function sameFile(a: Stats, b: Stats): boolean {
  return a.ino === b.ino && a.dev === b.dev && a.size === b.size && a.mtimeMs === b.mtimeMs;
}

/**
 * Repairs the output at `path`: keeps, in their original order, the first complete row set
 * of each task of the job, and moves every other line, exactly as it was, into
 * `<path>.rejected` (or `.rejected.2`, ...). Atomic and durable: temp files in the same
 * directory, fsync'ed, renamed, the directory fsync'ed; on any error the temp files are
 * removed and the original is left untouched. Nothing to reject: nothing is written.
 * @throws InputError when the file is missing or unreadable, changes while being repaired,
 * or holds no row of the job at all (so a wrong `--job` or a file that is not an output
 * is refused instead of emptied).
 */
export async function repairOutput(path: string, opts: OutputCheckOptions = {}): Promise<RepairReport> {
  const resolved = resolveJob(path, opts);
  let before: Stats;
  let w: SplitWriter;
  try {
    before = statSync(path);
    w = new SplitWriter(path, before.mode & 0o7777);
  } catch (err) {
    throw unreadable(path, err);
  }
  try {
    const { scan, from } = await scanExisting(path, resolved, (s) => w.segment(s));
    const v = reportOf(path, scan, from, resolved.recordError);
    const report: RepairReport = {
      path,
      job: v.job,
      jobFrom: v.jobFrom,
      ...(v.jobRecordError !== undefined ? { jobRecordError: v.jobRecordError } : {}),
      repaired: false,
      kept: { rows: v.rows, tasks: v.tasks, okTasks: v.okTasks, errorTasks: v.errorTasks },
      rejected: { lines: w.rejectedLines, bytes: w.rejectedBytes, ...v.problems, torn: v.torn },
      rejectedPath: null,
    };
    if (!w.started) return report;
    if (scan.keptRows === 0 && scan.problems.foreign.count > 0) {
      const job = scan.job === null ? 'any job' : `job ${scan.job}`;
      throw new InputError(`${path} holds no row of ${job}: not repaired (is it a shoal output, and is the job right?)`);
    }
    w.finish();
    let now: Stats;
    try {
      now = statSync(path);
    } catch (err) {
      throw unreadable(path, err);
    }
    if (!sameFile(before, now) || scan.size !== before.size) {
      throw new InputError(`${path} changed while being repaired (is a job still writing to it?): not repaired`);
    }
    report.rejectedPath = w.commit();
    report.repaired = true;
    return report;
  } catch (err) {
    if (err instanceof InputError) throw err;
    throw new InputError(`cannot repair ${path}: ${(err as Error).message}`, err);
  } finally {
    w.close();
  }
}
