/**
 * Stored tasks gathered into packs: each `put` joins the pack being gathered, which is written
 * (whole, to a temporary name renamed into place) once it holds `entries` entries or `bytes`
 * bytes, `ageMs` after its first entry, or at `flush` (a job's end). A pack per commit group
 * would still be a file per task where tasks commit one at a time.
 *
 * A value is written once per pack, and not at all where a pack this process has loaded holds
 * it already (the entry names it by hash; a lookup finds it in any pack). If that pack is gone
 * by the time this one is written (a prune merged it away), the value is written here after all.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ENTRY_RECORD, VALUE_RECORD, entryBody, encodePack, indexLength, readIndex, sha256Hex, type CachedRow } from './pack-format.js';
import type { PackSet } from './pack-set.js';
import { writeWhole } from '../../src/write-whole.js';

export interface PackLimits {
  /** Entries in a pack at most. */
  entries: number;
  /** A pack's bytes (about) at most. */
  bytes: number;
  /** A pack is written this long after its first entry at the latest (ms). */
  ageMs: number;
}

export const PACK_LIMITS: PackLimits = { entries: 4096, bytes: 8 << 20, ageMs: 5000 };

/** Writes a pack whole (src/write-whole.ts); no fsync: a pack cut short by a crash fails its checks when read, and is a miss. */
export async function writePack(path: string, buf: Buffer): Promise<void> {
  await writeWhole(path, buf, { fsync: false });
}

/** A new pack's name: when it was written (ms, so names sort by time), the writer's pid, and chance. */
export function packName(now = Date.now()): string {
  return `${String(now).padStart(14, '0')}-${process.pid}-${randomBytes(4).toString('hex')}.pack`;
}

/** A stored task's row, its value's text with it. */
export type RowToStore = Omit<CachedRow, 'v'> & { value: string };

interface Gathering {
  entries: Map<string, { key: Buffer; body: Buffer; stored: number }>;
  values: Map<string, Buffer>;
  /** Each value's record number in the pack (its place in `values`). */
  numbers: Map<string, number>;
  /** Values a loaded pack holds: not written unless that pack is gone. */
  borrowed: Map<string, { bytes: Buffer; path: string }>;
  bytes: number;
  borrowedBytes: number;
  done: Promise<void>;
  settle: (err?: Error) => void;
}

function gathering(): Gathering {
  let settle!: Gathering['settle'];
  const done = new Promise<void>((res, rej) => (settle = (err) => (err ? rej(err) : res())));
  // Seen by whoever put into it; this keeps a failure nobody waits for from being unhandled.
  done.catch(() => undefined);
  return { entries: new Map(), values: new Map(), numbers: new Map(), borrowed: new Map(), bytes: 0, borrowedBytes: 0, done, settle };
}

export class PackWriter {
  private current: Gathering | null = null;
  private timer: NodeJS.Timeout | null = null;
  private readonly writing = new Set<Promise<void>>();
  private writingBytes = 0;
  private dirMade = false;
  /** The last value put and its hash (hex): tasks of one job often give the same value. */
  private lastValue = '';
  private lastHash = '';
  /** Packs written by this writer. */
  written = 0;

  constructor(
    private readonly set: PackSet,
    private readonly limits: PackLimits = PACK_LIMITS,
    /** Values known broken (read and not matching their hash): written again, never borrowed. */
    private readonly badValues: ReadonlySet<string> = new Set(),
  ) {}

  /** Entries gathered and not written yet. */
  get gathered(): number {
    return this.current?.entries.size ?? 0;
  }

  /** Bytes put and not yet written: the pack being gathered and those on their way. */
  get backlogBytes(): number {
    return (this.current?.bytes ?? 0) + this.writingBytes;
  }

  /**
   * Adds a task's rows under `key`; resolves once its pack is written, rejects with the
   * filesystem's error. Every put into one pack gets the same promise.
   */
  put(key: Buffer, rows: readonly RowToStore[], now = Date.now()): Promise<void> {
    let g = this.current;
    if (!g) {
      g = this.current = gathering();
      this.timer = setTimeout(() => this.cut(), this.limits.ageMs);
      this.timer.unref();
    }
    const entry: CachedRow[] = [];
    for (const r of rows) {
      const v = r.value === this.lastValue && this.lastHash !== '' ? this.lastHash : (this.lastHash = sha256Hex(r.value));
      this.lastValue = r.value;
      if (!g.values.has(v) && !g.borrowed.has(v)) {
        const bytes = Buffer.from(r.value);
        const at = this.badValues.has(v) ? null : this.set.value(Buffer.from(v, 'hex'));
        if (at) {
          // By path, not number: a refresh that forgets packs numbers them anew.
          g.borrowed.set(v, { bytes, path: this.set.pack(at.pack)!.path });
          g.borrowedBytes += bytes.length;
        } else {
          g.numbers.set(v, g.values.size);
          g.values.set(v, bytes);
          g.bytes += bytes.length + VALUE_RECORD;
        }
      }
      entry.push({ t: r.t, from: r.from, mid: r.mid, v, n: g.numbers.get(v) ?? -1 });
    }
    const k = key.toString('latin1');
    const before = g.entries.get(k);
    if (before) g.bytes -= before.body.length + ENTRY_RECORD;
    const body = entryBody(entry);
    g.entries.set(k, { key: Buffer.from(key), body, stored: Math.floor(now / 1000) });
    g.bytes += body.length + ENTRY_RECORD;
    const done = g.done;
    if (g.entries.size >= this.limits.entries || g.bytes >= this.limits.bytes || g.borrowedBytes >= this.limits.bytes) this.cut();
    return done;
  }

  /** Writes what is gathered and waits for every pack on its way (their failures are their puts'). */
  async flush(): Promise<void> {
    this.cut();
    while (this.writing.size > 0) await Promise.allSettled([...this.writing]);
  }

  /** Ends the pack being gathered: it is written. */
  private cut(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const g = this.current;
    this.current = null;
    if (!g || g.entries.size === 0) return;
    const bytes = g.bytes + g.borrowedBytes;
    this.writingBytes += bytes;
    const w = this.write(g).then(
      () => g.settle(),
      (err: Error) => g.settle(err),
    );
    this.writing.add(w);
    void w.finally(() => {
      this.writing.delete(w);
      this.writingBytes -= bytes;
    });
  }

  private async write(g: Gathering): Promise<void> {
    const there = new Map<string, boolean>();
    for (const [v, b] of g.borrowed) {
      let ok = there.get(b.path);
      if (ok === undefined) there.set(b.path, (ok = existsSync(b.path)));
      if (!ok) g.values.set(v, b.bytes);
    }
    const buf = encodePack({ entries: [...g.entries.values()], values: [...g.values].map(([v, bytes]) => ({ hash: Buffer.from(v, 'hex'), bytes })) });
    const name = packName();
    if (!this.dirMade) {
      await mkdir(this.set.dir, { recursive: true });
      this.dirMade = true;
    }
    await writePack(join(this.set.dir, name), buf);
    this.written++;
    // Known here without reading it back: lookups and later stores of this process see it.
    const index = readIndex(Buffer.from(buf.subarray(0, indexLength(buf, buf.length) as number)));
    if (!('why' in index)) this.set.add(name, index, buf.length);
  }
}
