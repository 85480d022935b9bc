/**
 * A task's cache key: sha256 over what makes its value and nothing else.
 *
 *   job part   the scheme, the kind's name and cache version, the params that count (the
 *              kind's `cache.params`, else its `identity`: never paths of inputs, nor --out,
 *              --job, --workers, --priority, which are not params), the job's --cache-key, and
 *              the sha256 of each file that counts whole (a python function's source)
 *   task part  the rest of its ref that counts (JSON), the lengths of its byte ranges, and the
 *              bytes of those ranges (and a csv's header line)
 *
 * Objects are serialised with their keys sorted, so the order params were built in never counts.
 */
import { createHash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import { ErrorCode, ShoalError } from '../../src/errors.js';
import type { Kind, TaskContent } from '../../src/kinds/index.js';

/** Bumped when the key's layout changes: every older entry then misses. */
export const KEY_SCHEME = 1;

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
  private readonly prefix: Buffer;
  private readonly cache: NonNullable<Kind<unknown>['cache']>;
  private readonly params: unknown;
  private readonly files = new Map<string, Promise<FileHandle>>();
  private readonly firstLines = new Map<string, Promise<Buffer>>();

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
    this.prefix = createHash('sha256').update(job).digest();
  }

  /** The key of a task with this ref (hex), or null when it is never cached. Throws a ShoalError naming a file that cannot be read. */
  async key(ref: unknown): Promise<string | null> {
    const c = this.cache.content(ref, this.params);
    if (c === null) return null;
    const h = createHash('sha256').update(this.prefix);
    h.update(stableJson({ rest: c.rest ?? null, lengths: c.ranges.map((r) => r[2] - r[1]) }));
    if (c.firstLineOf !== undefined) h.update(await this.firstLine(c.firstLineOf));
    await this.hashRanges(h, c.ranges);
    return h.digest('hex');
  }

  /** Reads the ranges, one read for each run of ranges that follow each other in a file. */
  private async hashRanges(h: ReturnType<typeof createHash>, ranges: TaskContent['ranges']): Promise<void> {
    let i = 0;
    while (i < ranges.length) {
      const [file, start] = ranges[i]!;
      let end = ranges[i]![2];
      let j = i + 1;
      while (j < ranges.length && ranges[j]![0] === file && ranges[j]![1] === end) end = ranges[j++]![2];
      h.update(await this.read(file, start, end));
      i = j;
    }
  }

  private async read(file: string, start: number, end: number): Promise<Buffer> {
    const fh = await this.handle(file);
    const buf = Buffer.allocUnsafe(end - start);
    let got = 0;
    while (got < buf.length) {
      const { bytesRead } = await fh.read(buf, got, buf.length - got, start + got);
      if (bytesRead === 0) throw new ShoalError(ErrorCode.Input, `${file}: shorter than when the job was expanded (wanted bytes ${start}-${end}); submit the job again`);
      got += bytesRead;
    }
    return buf;
  }

  private handle(file: string): Promise<FileHandle> {
    let fh = this.files.get(file);
    if (!fh) {
      fh = open(file, 'r');
      this.files.set(file, fh);
    }
    return fh;
  }

  private firstLine(file: string): Promise<Buffer> {
    let line = this.firstLines.get(file);
    if (!line) {
      line = (async () => {
        const fh = await this.handle(file);
        const buf = Buffer.alloc(64 * 1024);
        const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
        const nl = buf.subarray(0, bytesRead).indexOf(10);
        return Buffer.from(buf.subarray(0, nl < 0 ? bytesRead : nl));
      })();
      this.firstLines.set(file, line);
    }
    return line;
  }

  async close(): Promise<void> {
    const handles = [...this.files.values()];
    this.files.clear();
    for (const fh of handles) await fh.then((f) => f.close()).catch(() => undefined);
  }
}
