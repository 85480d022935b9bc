/**
 * A task's cache key: sha256 over what makes its value and nothing else: the job part's sha256
 * (hex) and a newline, then the task part.
 *
 *   job part   the scheme, the kind's name and cache version, the params that count (the
 *              kind's `cache.params`, else its `identity`: never paths of inputs, nor --out,
 *              --job, --workers, --priority, which are not params), the job's --cache-key, and
 *              the sha256 of each file that counts whole (a python function's source)
 *   task part  the rest of its ref that counts (JSON), the lengths of its byte ranges, (a csv's
 *              header line,) and the ranges' content, a run of ranges that follow each other in
 *              a file at a time: a run under 4 KiB as its bytes, a longer one as its XXH3-128
 *              digest (range-digest.ts; remembered across runs by the file's identity,
 *              digest-memo.ts)
 *
 * The job part's objects are serialised with their keys sorted, so the order params were built
 * in never counts. The task part is plain JSON: made for every task, where sorting keys in
 * JavaScript cost more than hashing.
 */
import * as crypto from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import { DIGEST_MIN_BYTES, type DigestMemo, type FileDigests } from './digest-memo.js';
import { ErrorCode, ShoalError } from '../../src/errors.js';
import type { Kind, TaskContent } from '../../src/kinds/index.js';
import { sha256Into } from './pack-format.js';
import { RANGE_DIGEST_BYTES, rangeHash } from './range-digest.js';

/**
 * Bumped when the key's layout changes so that an older key could name other content: every
 * older entry then misses. Not for a change whose keys can only differ from the old ones (runs of
 * 4 KiB or more by XXH3-128 instead of sha256: a 16-byte digest where there were 32, so only the
 * tasks with such runs miss once, and the rest of a cache stays good).
 */
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
  /** Digests of large ranges remembered across runs (absent: each is read and hashed). */
  digests?: DigestMemo;
}

/** Bytes read at once into the scratch buffer. */
const READ_BYTES = 4 << 20;

/** Makes the keys of one job's tasks; holds its input files open until `close`. */
export class KeyMaker {
  /** The job part's sha256 (hex) and a newline: every key's first bytes. */
  private readonly prefix: string;
  private readonly cache: NonNullable<Kind<unknown>['cache']>;
  private readonly params: unknown;
  private readonly files = new Map<string, { fd: number; digests: FileDigests | null }>();
  private readonly memo: DigestMemo | null;
  private scratch = Buffer.alloc(0);
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
    this.memo = f.digests ?? null;
  }

  /** The job part's sha256 (hex): what every key of this job's tasks starts from. */
  get jobKey(): string {
    return this.prefix.slice(0, -1);
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

  /**
   * Hashes the ranges, one run at a time (ranges that follow each other in a file): a run of
   * DIGEST_MIN_BYTES or more as its XXH3-128 digest (remembered across runs, digest-memo.ts), a
   * shorter one as its bytes. The lengths in the key's text tell the two apart.
   */
  private hashRanges(h: crypto.Hash, ranges: TaskContent['ranges']): void {
    let i = 0;
    while (i < ranges.length) {
      const [file, start] = ranges[i]!;
      let end = ranges[i]![2];
      let j = i + 1;
      while (j < ranges.length && ranges[j]![0] === file && ranges[j]![1] === end) end = ranges[j++]![2];
      if (end - start >= DIGEST_MIN_BYTES) h.update(this.runDigest(file, start, end));
      else this.readInto(h, file, start, end);
      i = j;
    }
  }

  private runDigest(file: string, start: number, end: number): Buffer {
    const f = this.handle(file);
    const known = f.digests?.get(start, end);
    if (known) return known.subarray(0, RANGE_DIGEST_BYTES);
    const d = rangeHash();
    this.readInto(d, file, start, end);
    const digest = d.digest();
    f.digests?.add(start, end, digest);
    return digest;
  }

  /** Bytes [start, end) of `file` into `h`, read through one scratch buffer. */
  private readInto(h: { update(bytes: Uint8Array): unknown }, file: string, start: number, end: number): void {
    const { fd } = this.handle(file);
    if (this.scratch.length < Math.min(end - start, READ_BYTES)) this.scratch = Buffer.allocUnsafe(Math.min(Math.max(end - start, 64 << 10), READ_BYTES));
    let at = start;
    while (at < end) {
      const want = Math.min(end - at, this.scratch.length);
      let got = 0;
      while (got < want) {
        const n = readSync(fd, this.scratch, got, want - got, at + got);
        if (n === 0) throw new ShoalError(ErrorCode.Input, `${file}: shorter than when the job was expanded (wanted bytes ${start}-${end}); submit the job again`);
        got += n;
      }
      h.update(this.scratch.subarray(0, want));
      at += want;
    }
  }

  private handle(file: string): { fd: number; digests: FileDigests | null } {
    let f = this.files.get(file);
    if (f === undefined) {
      const fd = openSync(file, 'r');
      f = { fd, digests: this.memo?.open(file, fd) ?? null };
      this.files.set(file, f);
    }
    return f;
  }

  /** Writes the digests taken since the last save (none without a memo). Throws the filesystem's error. */
  async saveDigests(): Promise<void> {
    await this.memo?.save();
  }

  private firstLine(file: string): Buffer {
    let line = this.firstLines.get(file);
    if (!line) {
      const buf = Buffer.alloc(64 * 1024);
      const n = readSync(this.handle(file).fd, buf, 0, buf.length, 0);
      const nl = buf.subarray(0, n).indexOf(10);
      line = Buffer.from(buf.subarray(0, nl < 0 ? n : nl));
      this.firstLines.set(file, line);
    }
    return line;
  }

  close(): void {
    for (const { fd } of this.files.values()) {
      try {
        closeSync(fd);
      } catch {
        // Closed already.
      }
    }
    this.files.clear();
  }
}
