/**
 * One job's output file: the set of committed tasks and an append-only file descriptor.
 * Rows arrive pre-rendered; the writer appends bytes, never re-serialises.
 * Group commit: rows are written at once and fsync'ed at least every `fsyncMs` and at close.
 */
import { closeSync, fsync, fsyncSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { scanJournal } from './journal.js';

export class JobWriter {
  private fd: number | null = null;
  private dirty = false;
  private syncing = false;
  private timer: NodeJS.Timeout | null = null;
  rows = 0;
  okTasks = 0;
  errorTasks = 0;

  private constructor(
    readonly job: string,
    readonly path: string,
    readonly done: Map<string, 'ok' | 'error'>,
    private readonly fsyncMs: number,
  ) {}

  /** Opens (creating or resuming) the job's file; repairs a torn tail first. */
  static async open(job: string, path: string, fsyncMs: number): Promise<{ writer: JobWriter; repairedBytes: number; rows: number }> {
    mkdirSync(dirname(path), { recursive: true });
    const scan = await scanJournal(path, job, true);
    const w = new JobWriter(job, path, scan.done, fsyncMs);
    for (const s of scan.done.values()) s === 'ok' ? w.okTasks++ : w.errorTasks++;
    w.rows = scan.rows;
    w.fd = openSync(path, 'a');
    return { writer: w, repairedBytes: scan.repairedBytes, rows: scan.rows };
  }

  get isOpen(): boolean {
    return this.fd !== null;
  }

  /** Appends rendered rows (whole lines). The caller has checked the tasks are new. */
  append(text: string, rows: number): void {
    if (this.fd === null) throw new Error(`output of job ${this.job} is closed`);
    const buf = Buffer.from(text, 'utf8');
    let off = 0;
    while (off < buf.length) off += writeSync(this.fd, buf, off, buf.length - off);
    this.rows += rows;
    this.dirty = true;
    this.timer ??= setTimeout(() => this.syncSoon(), this.fsyncMs);
  }

  private syncSoon(): void {
    this.timer = null;
    if (!this.dirty || this.fd === null || this.syncing) return;
    this.dirty = false;
    this.syncing = true;
    fsync(this.fd, () => {
      this.syncing = false;
      if (this.dirty && this.fd !== null) this.timer ??= setTimeout(() => this.syncSoon(), this.fsyncMs);
    });
  }

  /** Flushes to disk and closes. Idempotent. */
  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.fd === null) return;
    try {
      fsyncSync(this.fd);
    } finally {
      closeSync(this.fd);
      this.fd = null;
    }
  }
}
