/**
 * One job's output file and its group commit. Rows wait in the next commit while the current
 * one is written and fsync'ed; only when the fsync that covers them has returned are their
 * tasks marked done and the senders told (nothing is acknowledged before it is durable). One
 * fsync covers every batch that arrived while the previous one ran, so throughput holds.
 *
 * A failed write or fsync (disk full, quota, read-only remount, I/O error) cuts the file back
 * to the last durable byte, marks none of its tasks done, and fails the commit: the senders
 * keep their results and try again; the writer says it is stalled (once) and, when a later
 * commit succeeds, that it is writable again.
 */
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { constants } from 'node:fs';
import { dirname } from 'node:path';
import { ErrorCode, ShoalError } from '../errors.js';

/** The file operations a writer needs (a real file, or a fake one in tests). */
export interface OutputFile {
  /** Writes all of `buf` at byte `position`. */
  write(buf: Buffer, position: number): Promise<void>;
  /** Makes everything written so far durable (fdatasync). */
  sync(): Promise<void>;
  truncate(size: number): Promise<void>;
  close(): Promise<void>;
}

export interface OutputFs {
  /** Opens (creating) the file for positional writes; `size` is its current length. */
  open(path: string): Promise<{ file: OutputFile; size: number }>;
}

/** Real files. Writes go to explicit positions, so a failed write can be cut back exactly. */
export const nodeOutputFs: OutputFs = {
  async open(path) {
    await mkdir(dirname(path), { recursive: true });
    const fh = await open(path, constants.O_RDWR | constants.O_CREAT, 0o644);
    const size = (await fh.stat()).size;
    // A new file's directory entry must be durable too, or a crash could lose the whole file.
    if (size === 0) await syncDir(dirname(path));
    return { file: handleFile(fh), size };
  },
};

function handleFile(fh: FileHandle): OutputFile {
  return {
    async write(buf, position) {
      let off = 0;
      while (off < buf.length) off += (await fh.write(buf, off, buf.length - off, position + off)).bytesWritten;
    },
    sync: () => fh.datasync(),
    truncate: (size) => fh.truncate(size),
    close: () => fh.close(),
  };
}

/** fsyncs a directory (best effort: some filesystems refuse to open one for that). */
export async function syncDir(dir: string): Promise<void> {
  let fh: FileHandle | null = null;
  try {
    fh = await open(dir, 'r');
    await fh.sync();
  } catch {
    // Not supported here: nothing more can be done.
  } finally {
    await fh?.close().catch(() => undefined);
  }
}

/** One task's rows on their way to the file. */
export interface Entry {
  id: string;
  /** The agent that sent them ('coordinator' for its own error rows). */
  from: string;
  attempt: number;
  ms: number;
  /** Some of its rows are error rows. */
  error: boolean;
  errorRows: number;
  rows: number;
  text: string;
}

interface Commit {
  entries: Entry[];
  chars: number;
  promise: Promise<void>;
  resolve(): void;
  reject(err: Error): void;
}

export interface WriterHooks {
  /** Entries whose rows the last fsync made durable (called before their senders are answered). */
  durable(entries: Entry[]): void;
  /** The file cannot be written (the reason), or can again (null). Called on changes only. */
  stalled(reason: string | null): void;
}

/** The error a commit fails with while the output cannot be written. */
export class StalledError extends ShoalError {
  constructor(message: string, cause?: unknown) {
    super(ErrorCode.Stalled, message, { retryable: true, cause });
    this.name = 'StalledError';
  }
}

export class JobWriter {
  rows = 0;
  okTasks = 0;
  errorTasks = 0;
  errorRecords = 0;
  /** Why the file cannot be written now; null while it can. */
  stalledBy: string | null = null;
  private next: Commit | null = null;
  private running: Commit | null = null;
  /** Tasks on their way to the file, and the commit that carries each. */
  private readonly waiting = new Map<string, Commit>();
  /** Bytes of the file known durable. */
  private size: number;
  /** A failed write may have left bytes past `size` that could not be cut yet. */
  private tailDirty = false;
  private closed = false;
  private scheduled = false;

  constructor(
    readonly job: string,
    readonly path: string,
    private readonly file: OutputFile,
    size: number,
    /** Tasks already committed (from the journal) and their status. */
    readonly done: Map<string, 'ok' | 'error'>,
    private readonly hooks: WriterHooks,
    /** Characters that may wait for the next commit before new batches are turned away. */
    private readonly maxPendingChars = 64 << 20,
  ) {
    this.size = size;
    for (const s of done.values()) s === 'ok' ? this.okTasks++ : this.errorTasks++;
  }

  /** Whether the task's rows are written, or on their way. */
  has(id: string): boolean {
    return this.done.has(id) || this.waiting.has(id);
  }

  /** Settles when the commit carrying task `id` does (undefined when none carries it). */
  inFlight(id: string): Promise<void> | undefined {
    return this.waiting.get(id)?.promise;
  }

  /**
   * Queues rows for the next commit, skipping tasks that have rows already (or twice in
   * `entries`). `done` resolves when they are durable and rejects (StalledError) when the
   * commit failed.
   */
  add(entries: readonly Entry[]): { added: number; done: Promise<void> } {
    if (this.closed) return { added: 0, done: Promise.reject(new ShoalError(ErrorCode.NotFound, `the output of job ${this.job} is closed`, { retryable: true })) };
    if (this.next && this.next.chars > this.maxPendingChars) {
      return { added: 0, done: Promise.reject(new StalledError(`the sink is behind on ${this.path} (${this.next.chars} characters wait for the disk); try again`)) };
    }
    let c = this.next;
    let added = 0;
    for (const e of entries) {
      if (this.done.has(e.id) || this.waiting.has(e.id)) continue;
      c ??= this.next = newCommit();
      c.entries.push(e);
      c.chars += e.text.length;
      this.waiting.set(e.id, c);
      added++;
    }
    if (!c) return { added: 0, done: Promise.resolve() };
    if (!this.running && !this.scheduled) {
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        void this.commit();
      });
    }
    return { added, done: c.promise };
  }

  /** Writes and fsyncs the waiting rows; one at a time, the next gathering meanwhile. */
  private async commit(): Promise<void> {
    if (this.running || !this.next) return;
    const c = (this.running = this.next);
    this.next = null;
    const buf = Buffer.from(c.entries.length === 1 ? c.entries[0]!.text : c.entries.map((e) => e.text).join(''), 'utf8');
    try {
      if (this.tailDirty) await this.file.truncate(this.size);
      this.tailDirty = false;
      await this.file.write(buf, this.size);
      await this.file.sync();
    } catch (err) {
      await this.failed(c, err as NodeJS.ErrnoException);
      return this.afterCommit();
    }
    this.size += buf.length;
    for (const e of c.entries) {
      this.done.set(e.id, e.error ? 'error' : 'ok');
      e.error ? this.errorTasks++ : this.okTasks++;
      this.rows += e.rows;
      this.errorRecords += e.errorRows;
      this.waiting.delete(e.id);
    }
    if (this.stalledBy !== null) {
      this.stalledBy = null;
      this.hooks.stalled(null);
    }
    this.hooks.durable(c.entries);
    c.resolve();
    this.afterCommit();
  }

  private afterCommit(): void {
    this.running = null;
    if (this.next) void this.commit();
  }

  /** Cuts the file back to its durable length and fails the commit's senders. */
  private async failed(c: Commit, err: NodeJS.ErrnoException): Promise<void> {
    try {
      await this.file.truncate(this.size);
    } catch {
      this.tailDirty = true;
    }
    for (const e of c.entries) this.waiting.delete(e.id);
    const reason = `cannot write ${this.path}: ${err.code ? `${err.code} ` : ''}${err.message.replace(/^[A-Z]+: /, '')}`;
    if (this.stalledBy === null) this.hooks.stalled(reason);
    this.stalledBy = reason;
    c.reject(new StalledError(reason, err));
  }

  /** Waits for what is on its way (a stalled commit fails), then closes. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    while (this.running || this.next) {
      const c = this.running ?? this.next!;
      if (!this.running) void this.commit();
      await c.promise.catch(() => undefined);
    }
    await this.file.close().catch(() => undefined);
  }
}

function newCommit(): Commit {
  let resolve!: () => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // A commit nobody waits on (its senders gave up) must not be an unhandled rejection.
  promise.catch(() => undefined);
  return { entries: [], chars: 0, promise, resolve, reject };
}
