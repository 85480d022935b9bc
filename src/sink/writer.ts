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
import { mkdir, open, statfs, type FileHandle } from 'node:fs/promises';
import { constants } from 'node:fs';
import { dirname } from 'node:path';
import { ErrorCode, ShoalError } from '../errors.js';
import type { CommitGroup } from '../../protocol/index.js';
import type { TaskStatusSet } from './task-set.js';

/** The file operations a writer needs (a real file, or a fake one in tests). */
export interface OutputFile {
  /** Writes all of `buf` at byte `position`. */
  write(buf: Buffer, position: number): Promise<void>;
  /** Makes everything written so far durable (fdatasync). */
  sync(): Promise<void>;
  truncate(size: number): Promise<void>;
  close(): Promise<void>;
  /** Bytes its filesystem has free for us (null when it cannot tell). */
  free?(): Promise<number | null>;
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
    return { file: handleFile(fh, path), size };
  },
};

function handleFile(fh: FileHandle, path: string): OutputFile {
  return {
    async write(buf, position) {
      let off = 0;
      while (off < buf.length) off += (await fh.write(buf, off, buf.length - off, position + off)).bytesWritten;
    },
    sync: () => fh.datasync(),
    truncate: (size) => fh.truncate(size),
    close: () => fh.close(),
    async free() {
      try {
        const st = await statfs(path);
        return st.bavail * st.bsize;
      } catch {
        return null;
      }
    },
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

interface Commit {
  /** The tasks it commits: whole result groups' columns, their status taken from their rows. */
  groups: CommitGroup[];
  /** Their rows, in pieces (often a whole result group's text each). */
  texts: string[];
  rows: number;
  chars: number;
  promise: Promise<void>;
  resolve(): void;
  reject(err: Error): void;
}

export interface WriterHooks {
  /** Tasks whose rows the last fsync made durable, and their rows (`texts[i]`: group i's, back to back); called before their senders are answered. */
  durable(groups: CommitGroup[], texts: readonly string[]): void;
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
  /**
   * Commits waiting for the disk, oldest first; rows join the last until it holds
   * `maxCommitChars`. Bounded commits keep each fsync short, so a result waits at most for
   * the commit before its own, not for a large one (that is what its sender waits for).
   */
  private readonly queue: Commit[] = [];
  /** Characters in the queued commits. */
  private queuedChars = 0;
  private running: Commit | null = null;
  /**
   * Every task with rows, committed or on its way, and its status: one map for both keeps the
   * per-task cost of the hot path to a lookup and a set (a failed commit deletes its tasks).
   */
  private readonly tasks: TaskStatusSet;
  /** Tasks claimed and not yet durable (or failed). */
  private inFlightCount = 0;
  /** Bytes of the file known durable. */
  private size: number;
  /** Bytes of the file known durable: its rows up to here are committed. */
  get durableBytes(): number {
    return this.size;
  }
  /** A failed write may have left bytes past `size` that could not be cut yet. */
  private tailDirty = false;
  /** Bytes of the last commit that failed: a stalled writer waits for room for them. */
  private failedBytes = 0;
  private closed = false;
  private scheduled = false;

  constructor(
    readonly job: string,
    readonly path: string,
    private readonly file: OutputFile,
    size: number,
    /** Tasks already committed (from the journal) and their status; the writer keeps it up to date. */
    done: TaskStatusSet,
    private readonly hooks: WriterHooks,
    /** Characters that may wait for the disk before new batches are turned away. */
    private readonly maxPendingChars = 64 << 20,
    /** Characters one commit (one write and fsync) takes at most. */
    private readonly maxCommitChars = 1 << 20,
  ) {
    this.size = size;
    this.tasks = done;
    const n = done.tally();
    this.okTasks = n.ok;
    this.errorTasks = n.error;
  }

  /** The committed tasks and their status (a copy only while some are on their way). */
  done(): TaskStatusSet {
    if (this.inFlightCount === 0) return this.tasks;
    return this.tasks.copy([this.running, ...this.queue].flatMap((c) => c?.groups ?? []).flatMap((g) => g.ids));
  }

  /** How many tasks are committed. */
  get doneCount(): number {
    return this.tasks.size - this.inFlightCount;
  }

  /** Whether the task's rows are written, or on their way. */
  has(id: string): boolean {
    return this.tasks.has(id);
  }

  /** The status a task was committed or claimed with (undefined: none). */
  statusOf(id: string): 'ok' | 'error' | undefined {
    return this.tasks.get(id);
  }

  /**
   * Settles when every commit on its way has (so a duplicate of a task still on its way is
   * answered only once that task is durable, or has failed).
   */
  settled(): Promise<void> {
    return (this.queue.at(-1) ?? this.running)?.promise ?? Promise.resolve();
  }

  /**
   * Claims task `id` with its status for the next commit: false when it has rows already, or
   * on their way. A claimed task must be `push`ed with the next commit.
   */
  claim(id: string, status: 'ok' | 'error'): boolean {
    if (this.tasks.has(id)) return false;
    this.tasks.set(id, status);
    this.inFlightCount++;
    return true;
  }

  /**
   * Whether the next commit can take more: false (turn the sender away for now) while the
   * output is closed or too much already waits for the disk.
   */
  get accepting(): boolean {
    return !this.closed && this.queuedChars <= this.maxPendingChars;
  }

  /**
   * Queues the rows of claimed tasks (`text`: their rows back to back, `rows` lines, in the
   * order of `group`) for the next commit. The promise resolves when they are durable and
   * rejects (StalledError) when the commit failed.
   */
  push(text: string, group: CommitGroup, rows: number): Promise<void> {
    let c = this.queue.at(-1);
    if (!c || c.chars >= this.maxCommitChars) this.queue.push((c = newCommit()));
    this.queuedChars += text.length;
    c.groups.push(group);
    c.texts.push(text);
    c.rows += rows;
    c.chars += text.length;
    if (!this.running && !this.scheduled) {
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        void this.commit();
      });
    }
    return c.promise;
  }

  /** Why a sender is turned away now (see `accepting`). */
  refusal(): Error {
    if (this.closed) return new ShoalError(ErrorCode.NotFound, `the output of job ${this.job} is closed`, { retryable: true });
    return new StalledError(`the sink is behind on ${this.path} (${this.queuedChars} characters wait for the disk); try again`);
  }

  /** Writes and fsyncs the waiting rows; one at a time, the next gathering meanwhile. */
  private async commit(): Promise<void> {
    if (this.running || this.queue.length === 0) return;
    const c = (this.running = this.queue.shift()!);
    this.queuedChars -= c.chars;
    const buf = Buffer.from(c.texts.length === 1 ? c.texts[0]! : c.texts.join(''), 'utf8');
    try {
      if (this.tailDirty) await this.file.truncate(this.size);
      this.tailDirty = false;
      await this.roomFor(buf.length);
      await this.file.write(buf, this.size);
      await this.file.sync();
    } catch (err) {
      await this.failed(c, err as NodeJS.ErrnoException, buf.length);
      return this.afterCommit();
    }
    this.size += buf.length;
    this.rows += c.rows;
    for (const g of c.groups) {
      const errors = countErrors(g.status);
      this.errorTasks += errors;
      this.okTasks += g.ids.length - errors;
      this.errorRecords += g.errorRecords;
      this.inFlightCount -= g.ids.length;
    }
    if (this.stalledBy !== null) {
      this.stalledBy = null;
      this.hooks.stalled(null);
    }
    this.hooks.durable(c.groups, c.texts);
    c.resolve();
    this.afterCommit();
  }

  private afterCommit(): void {
    this.running = null;
    if (this.queue.length > 0) void this.commit();
  }

  /**
   * While stalled, a write is only tried when the filesystem says there is room for it and
   * for what failed last: no partial rows are written (and cut) again and again, and a full
   * disk is not filled a few rows at a time, flapping between stalled and writable.
   */
  private async roomFor(bytes: number): Promise<void> {
    if (this.stalledBy === null || !this.file.free) return;
    const free = await this.file.free();
    const need = Math.max(bytes, this.failedBytes);
    if (free !== null && free < need) throw Object.assign(new Error(`no space left on device (${free} bytes free, ${need} needed)`), { code: 'ENOSPC', probe: true });
  }

  /** Cuts the file back to its durable length and fails the commit's senders. */
  private async failed(c: Commit, err: NodeJS.ErrnoException & { probe?: boolean }, bytes: number): Promise<void> {
    if (!err.probe) {
      this.failedBytes = bytes;
      try {
        await this.file.truncate(this.size);
      } catch {
        this.tailDirty = true;
      }
    }
    for (const g of c.groups) {
      for (const id of g.ids) this.tasks.delete(id);
      this.inFlightCount -= g.ids.length;
    }
    const reason = `cannot write ${this.path}: ${err.code ? `${err.code} ` : ''}${err.message.replace(/^[A-Z]+: /, '')}`;
    if (this.stalledBy === null) this.hooks.stalled(reason);
    this.stalledBy = reason;
    c.reject(new StalledError(reason, err));
  }

  /** Waits for what is on its way (a stalled commit fails), then closes. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    while (this.running || this.queue.length > 0) {
      const c = this.running ?? this.queue[0]!;
      if (!this.running) void this.commit();
      await c.promise.catch(() => undefined);
    }
    await this.file.close().catch(() => undefined);
  }
}

function countErrors(status: string): number {
  let n = 0;
  for (let i = status.indexOf('e'); i !== -1; i = status.indexOf('e', i + 1)) n++;
  return n;
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
  return { groups: [], texts: [], rows: 0, chars: 0, promise, resolve, reject };
}
