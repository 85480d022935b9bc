/**
 * A task's cache key: sha256 over what makes its value and nothing else: the job part's sha256
 * (hex) and a newline, then the task part.
 *
 *   job part   the scheme, the kind's name and cache version, the params that count (the
 *              kind's `cache.params`, else its `identity`: never paths of inputs, nor --out,
 *              --job, --workers, --priority, which are not params), the job's --cache-key, and
 *              the sha256 of each file that counts whole (a python function's source)
 *   task part  the rest of its ref that counts (JSON), the lengths of its byte ranges, and the
 *              bytes of those ranges (and a csv's header line)
 *
 * The job part's objects are serialised with their keys sorted, so the order params were built
 * in never counts. The task part is plain JSON: made for every task, where sorting keys in
 * JavaScript cost more than hashing.
 */
import * as crypto from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import { ErrorCode, ShoalError } from '../../src/errors.js';
import type { Kind, TaskContent } from '../../src/kinds/index.js';
import { sha256Into } from './pack-format.js';


/** Bumped when the key's layout changes: every older entry then misses. */
export const KEY_SCHEME = 2;

/** JSON with object keys sorted (undefined fields dropped, as JSON.stringify does). */
export function stableJson(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => (x !== null && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : x)) ?? 'null';
}

/** What a job's keys are made from besides its tasks. */
export interface JobKeyFacts {
  kindName: string;
  kind: Kind<unknown>;
  params: unknown;
  /** The job's --cache-key (a version of an external program shoal cannot see). */
  cacheKey?: string;
  /** The sha256 of a whole file (the job's fingerprint has them). */
  fileHash(path: string): string;
}

/** Makes the keys of one job's tasks; holds its input files open until `close`. */
export class KeyMaker {
  /** The job part's sha256 (hex) and a newline: every key's first bytes. */
  private readonly prefix: string;
  private readonly cache: NonNullable<Kind<unknown>['cache']>;
  private readonly params: unknown;
  private readonly files = new Map<string, number>();
  private readonly firstLines = new Map<string, Buffer>();

  /** Null when the kind's tasks are never cached. */
  static of(f: JobKeyFacts): KeyMaker | null {
    return f.kind.cache ? new KeyMaker(f) : null;
  }

  private constructor(f: JobKeyFacts) {
    this.cache = f.kind.cache!;
    this.params = f.kind.checkParams(f.params);
    const p = this.cache.params ? this.cache.params(this.params) : f.kind.identity ? f.kind.identity(this.params) : this.params;
    const files = (this.cache.files?.(this.params) ?? []).map((file) => f.fileHash(file));
    const job = stableJson({ scheme: KEY_SCHEME, kind: f.kindName, version: this.cache.version, params: p, cacheKey: f.cacheKey ?? null, files });
    this.prefix = crypto.createHash('sha256').update(job).digest('hex') + '\n';
  }

  /**
   * Writes the key of a task with this ref (32 bytes) at `at` of `out`; false when it is never cached.
   * Throws a ShoalError naming a file that cannot be read. Files are read synchronously (a
   * small read costs a fraction of a promise's road through the thread pool); callers yield
   * between batches.
   */
  keyInto(ref: unknown, out: Buffer, at: number): boolean {
    const c = this.cache.content(ref, this.params);
    if (c === null) return false;
    // The task's rest as the kind builds it (the same code builds it the same way every time; a
    // changed order could only make a miss, never a wrong hit), then its ranges' lengths.
    let lengths = '';
    for (const r of c.ranges) lengths += `${r[2] - r[1]},`;
    const text = `${this.prefix}${JSON.stringify(c.rest ?? null)}\n${lengths}\n`;
    // Nothing to read: one call, no Hash object (most of a key's cost where tasks are many).
    if (c.ranges.length === 0 && c.firstLineOf === undefined) {
      sha256Into(text, out, at);
      return true;
    }
    const h = crypto.createHash('sha256').update(text);
    if (c.firstLineOf !== undefined) h.update(this.firstLine(c.firstLineOf));
    this.hashRanges(h, c.ranges);
    h.digest().copy(out, at);
    return true;
  }

  /** Reads the ranges, one read for each run of ranges that follow each other in a file. */
  private hashRanges(h: crypto.Hash, ranges: TaskContent['ranges']): void {
    let i = 0;
    while (i < ranges.length) {
      const [file, start] = ranges[i]!;
      let end = ranges[i]![2];
      let j = i + 1;
      while (j < ranges.length && ranges[j]![0] === file && ranges[j]![1] === end) end = ranges[j++]![2];
      h.update(this.read(file, start, end));
      i = j;
    }
  }

  private read(file: string, start: number, end: number): Buffer {
    const fd = this.handle(file);
    const buf = Buffer.allocUnsafe(end - start);
    let got = 0;
    while (got < buf.length) {
      const n = readSync(fd, buf, got, buf.length - got, start + got);
      if (n === 0) throw new ShoalError(ErrorCode.Input, `${file}: shorter than when the job was expanded (wanted bytes ${start}-${end}); submit the job again`);
      got += n;
    }
    return buf;
  }

  private handle(file: string): number {
    let fd = this.files.get(file);
    if (fd === undefined) {
      fd = openSync(file, 'r');
      this.files.set(file, fd);
    }
    return fd;
  }

  private firstLine(file: string): Buffer {
    let line = this.firstLines.get(file);
    if (!line) {
      const buf = Buffer.alloc(64 * 1024);
      const n = readSync(this.handle(file), buf, 0, buf.length, 0);
      const nl = buf.subarray(0, n).indexOf(10);
      line = Buffer.from(buf.subarray(0, nl < 0 ? n : nl));
      this.firstLines.set(file, line);
    }
    return line;
  }

  close(): void {
    for (const fd of this.files.values()) {
      try {
        closeSync(fd);
      } catch {
        // Closed already.
      }
    }
    this.files.clear();
  }
}
