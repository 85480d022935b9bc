/**
 * The packs of one cache directory as a reader sees them: their indexes loaded (once each; a
 * pack never changes), every entry's key and value's hash in two id tables, and their bytes
 * read a block at a time, each block checked once and kept in a small cache.
 *
 * A pack that is not whole (cut short before its index ends, garbled, not a pack at all) holds
 * nothing: it is remembered with why, and said by each `refresh`. A pack removed after it was
 * listed (a prune merged it) is a miss for what it held. Where a key is in several packs the one
 * stored last wins; where a value is, the pack loaded last.
 *
 * Reads are synchronous: a small read that way costs the event loop a fraction of fs/promises'
 * road (a promise per open, read and close through the thread pool). Callers read a bounded
 * batch at a time and yield between batches (CachedJob.prefill).
 *
 * Memory: a loaded pack keeps its head and index (44 bytes an entry, 40 a value, 32 per 64 KiB
 * of data) and the tables take 16 bytes an id (the values' table only once asked for): a million
 * entries cost about 60 MB, with a million distinct values in the values' table about 116 MB.
 */
import { isAscii } from 'node:buffer';
import { closeSync, fstatSync, openSync, readdirSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { IdTable } from './id-table.js';
import { BLOCK, ENTRY_RECORD, HEAD_BYTES, VALUE_RECORD, blockWhole, entryAt, entryRows, indexLength, parseEntryBody, readIndex, valueAt, valueRecord, type CachedRow, type PackIndex } from './pack-format.js';

/** A loaded pack. */
export interface Pack {
  name: string;
  path: string;
  bytes: number;
  index: PackIndex;
}

/** A pack is parsed whole after this many lookups in it (or a sixteenth of its entries, if more). */
const WHOLE_AFTER = 32;
/** Packs parsed whole kept (bytes of their data). */
const WHOLES_KEPT = 16 << 20;

interface Whole {
  /** Its entries' bodies, parsed. */
  entries: unknown[];
  /** Its values' bytes as one string (null where they are not all ASCII). */
  values: string | null;
  bytes: number;
}

/** Blocks kept once read and checked (bytes). */
const BLOCKS_KEPT = 32 << 20;
/** A read spanning more blocks than this is not kept (a large value). */
const KEEP_SPAN = 4;

/** Why bytes could not be read from a pack: removed since it was listed, cut short, or not what was written. */
export type Unread = 'gone' | 'short' | 'garbled';
export type Read = Buffer | Unread;
/** Text read from a pack, or why not. */
export type Text = { text: string } | Unread;

/** Is this file name a whole pack (not a writer's temporary file, `<name>.pack.<digits>`)? */
export const isPackName = (n: string): boolean => n.endsWith('.pack');

export class PackSet {
  private packs: Array<Pack | null> = [];
  private readonly byName = new Map<string, number>();
  /** Packs that hold nothing, by name: why. */
  private readonly broken = new Map<string, string>();
  private entryIds = new IdTable();
  /** Built when first asked (most lookups find their values by record number, in the entry's own pack). */
  private valueIds: IdTable | null = null;
  /** Blocks read and checked, by pack and block number, oldest first. */
  private readonly kept = new Map<number, Buffer>();
  private keptBytes = 0;
  /** Packs parsed whole (see `whole`), oldest first, and how many lookups each pack had. */
  private readonly wholes = new Map<number, Whole | null>();
  private wholeBytes = 0;
  private readonly touches: number[] = [];

  constructor(readonly dir: string) {}

  /** Packs loaded. */
  get size(): number {
    return this.byName.size;
  }

  /** Distinct keys in the packs loaded. */
  get entryCount(): number {
    return this.entryIds.size;
  }

  /** Distinct values in the packs loaded. */
  get valueCount(): number {
    return this.values().size;
  }

  private values(): IdTable {
    if (!this.valueIds) {
      const t = (this.valueIds = new IdTable(this.packs.reduce((a, p) => a + (p?.index.values ?? 0), 0)));
      this.packs.forEach((pack, p) => addValues(t, p, pack!.index));
    }
    return this.valueIds;
  }

  /**
   * Lists the directory: loads the packs not loaded yet, forgets those gone (a prune merged
   * them). Returns the packs that are not whole. Throws only what listing the directory throws
   * (ENOENT is an empty cache).
   */
  refresh(): Array<{ path: string; why: string }> {
    let names: string[];
    try {
      names = readdirSync(this.dir).filter(isPackName).sort();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      names = [];
    }
    const listed = new Set(names);
    if ([...this.byName.keys()].some((n) => !listed.has(n))) this.forgetAll();
    const loaded: Array<{ name: string; index: PackIndex; bytes: number }> = [];
    for (const n of names) if (!this.byName.has(n) && !this.broken.has(n)) this.load(n, loaded);
    // The table sized once for all of them, not grown (rehashed) as they come.
    this.entryIds.reserve(this.entryIds.size + loaded.reduce((a, l) => a + l.index.entries, 0));
    for (const l of loaded) this.add(l.name, l.index, l.bytes);
    return [...this.broken].filter(([n]) => listed.has(n)).map(([n, why]) => ({ path: join(this.dir, n), why }));
  }

  private forgetAll(): void {
    this.packs = [];
    this.byName.clear();
    this.entryIds = new IdTable();
    this.valueIds = null;
    this.kept.clear();
    this.keptBytes = 0;
    this.wholes.clear();
    this.wholeBytes = 0;
    this.touches.length = 0;
  }

  private load(name: string, into: Array<{ name: string; index: PackIndex; bytes: number }>): void {
    const path = join(this.dir, name);
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.broken.set(name, (err as Error).message);
      return;
    }
    try {
      const bytes = fstatSync(fd).size;
      const head = Buffer.alloc(Math.min(bytes, HEAD_BYTES));
      readSync(fd, head, 0, head.length, 0);
      const n = indexLength(head, bytes);
      if (typeof n !== 'number') return void this.broken.set(name, n.why);
      const buf = Buffer.alloc(n);
      if (readSync(fd, buf, 0, n, 0) !== n) return void this.broken.set(name, 'cut short while read');
      const index = readIndex(buf);
      if ('why' in index) return void this.broken.set(name, index.why);
      into.push({ name, index, bytes });
    } catch (err) {
      this.broken.set(name, (err as Error).message);
    } finally {
      closeSync(fd);
    }
  }

  /** Adds a pack whose index is known (one just written here, or loaded). */
  add(name: string, index: PackIndex, bytes: number): void {
    if (this.byName.has(name)) return;
    const p = this.packs.length;
    this.packs.push({ name, path: join(this.dir, name), bytes, index });
    this.byName.set(name, p);
    this.entryIds.list(p, { words: index.words, base: HEAD_BYTES >>> 2, stride: ENTRY_RECORD >>> 2 });
    // The entry stored last wins (a pack's own order breaks ties): a task stored again after a
    // miss replaces a broken copy.
    const stored = (q: number, rec: number): number => this.packs[q]!.index.words[(entryAt(rec) >>> 2) + 10]!;
    for (let i = 0; i < index.entries; i++) this.entryIds.set(p, i, (old) => stored(old.pack, old.rec) > stored(p, i));
    if (this.valueIds) addValues(this.valueIds, p, index);
  }

  pack(p: number): Pack | null {
    return this.packs[p] ?? null;
  }

  /** Where the entry of `key` (its 32 bytes at `at`) is: its pack and record, or null. */
  entry(key: Buffer, at = 0): { pack: number; rec: number } | null {
    const s = this.entryIds.find(key, at);
    return s < 0 ? null : { pack: this.entryIds.packAt(s), rec: this.entryIds.recAt(s) };
  }

  /** Where the value of this sha256 is, or null. */
  value(hash: Buffer): { pack: number; rec: number } | null {
    const t = this.values();
    const s = t.find(hash);
    return s < 0 ? null : { pack: t.packAt(s), rec: t.recAt(s) };
  }

  /** The rows of entry `rec` of pack `p`, or why not. */
  entryRows(p: number, rec: number): CachedRow[] | Unread {
    const whole = this.whole(p);
    if (whole) return entryRows(whole.entries[rec]) ?? 'garbled';
    const w = entryAt(rec) >>> 2;
    const x = this.packs[p]!.index.words;
    const t = this.text(p, x[w + 8]!, x[w + 9]!);
    return typeof t === 'string' ? t : (parseEntryBody(t.text) ?? 'garbled');
  }

  /** The text of value `rec` of pack `p` (undefined where it has no such record). */
  valueText(p: number, rec: number): Text | undefined {
    const x = this.packs[p]!.index;
    if (rec < 0 || rec >= x.values) return undefined;
    const r = valueRecord(x, rec);
    const values = this.wholes.get(p)?.values;
    if (values) return { text: values.slice(r.off - x.entryBytes, r.off - x.entryBytes + r.len) };
    return this.text(p, r.off, r.len);
  }

  /**
   * Pack p parsed whole, once enough of its entries were asked for: its entries in one
   * JSON.parse and its values in one string (where they are ASCII, so bytes are characters),
   * where a lookup each was most of a cached re-run's time. Null while it is not (yet), or
   * cannot be (a block not whole: its entries are read one by one, each a miss or whole).
   */
  private whole(p: number): Whole | null {
    const kept = this.wholes.get(p);
    if (kept !== undefined) return kept;
    const x = this.packs[p]!.index;
    const n = (this.touches[p] ?? 0) + 1;
    this.touches[p] = n;
    if (n < Math.max(WHOLE_AFTER, x.entries / 16)) return null;
    let whole: Whole | null = null;
    const data = x.data > 0 ? this.read(p, 0, x.data) : 'short';
    if (typeof data !== 'string') {
      try {
        const entries: unknown = JSON.parse(data.toString('utf8', 0, x.entryBytes));
        const values = data.subarray(x.entryBytes);
        if (Array.isArray(entries) && entries.length === x.entries) whole = { entries, values: isAscii(values) ? values.toString('latin1') : null, bytes: x.data };
      } catch {
        whole = null;
      }
    }
    this.wholes.set(p, whole);
    if (whole) this.wholeBytes += whole.bytes;
    for (const [q, w] of this.wholes) {
      if (this.wholeBytes <= WHOLES_KEPT || q === p) break;
      this.wholes.delete(q);
      this.touches[q] = 0;
      this.wholeBytes -= w?.bytes ?? 0;
    }
    return whole;
  }

  /** `len` bytes at `off` of pack p's data as text, each block they touch checked. */
  private text(p: number, off: number, len: number): Text {
    const b0 = Math.floor(off / BLOCK);
    if (len === 0 || Math.floor((off + len - 1) / BLOCK) !== b0) {
      const r = this.read(p, off, len);
      return typeof r === 'string' ? r : { text: r.toString('utf8') };
    }
    const block = this.block(p, b0);
    if (typeof block === 'string') return block;
    const at = off - b0 * BLOCK;
    return { text: block.toString('utf8', at, at + len) };
  }

  /** `len` bytes at `off` of pack p's data, each block they touch checked. */
  private read(p: number, off: number, len: number): Read {
    if (len === 0) return Buffer.alloc(0);
    const b0 = Math.floor(off / BLOCK);
    const b1 = Math.floor((off + len - 1) / BLOCK);
    const at = off - b0 * BLOCK;
    if (b1 - b0 >= KEEP_SPAN) {
      const run = this.blocks(p, b0, b1);
      return typeof run === 'string' ? run : run.subarray(at, at + len);
    }
    const first = this.block(p, b0);
    if (typeof first === 'string' || b0 === b1) return typeof first === 'string' ? first : first.subarray(at, at + len);
    const parts = [first.subarray(at)];
    for (let b = b0 + 1; b <= b1; b++) {
      const next = this.block(p, b);
      if (typeof next === 'string') return next;
      parts.push(next);
    }
    return Buffer.concat(parts).subarray(0, len);
  }

  private block(p: number, b: number): Read {
    const id = p * 65536 + b;
    // Kept first in, first out: blocks are mostly read in the order they were written.
    const kept = this.kept.get(id);
    if (kept) return kept;
    const got = this.blocks(p, b, b);
    if (typeof got === 'string') return got;
    this.kept.set(id, got);
    this.keptBytes += got.length;
    for (const [k, buf] of this.kept) {
      if (this.keptBytes <= BLOCKS_KEPT) break;
      this.kept.delete(k);
      this.keptBytes -= buf.length;
    }
    return got;
  }

  /** Blocks b0..b1 of pack p read in one go and each checked. */
  private blocks(p: number, b0: number, b1: number): Read {
    const pack = this.packs[p]!;
    const x = pack.index;
    const start = b0 * BLOCK;
    const len = Math.min(x.data, (b1 + 1) * BLOCK) - start;
    if (x.dataStart + start + len > pack.bytes) return 'short';
    let fd: number;
    try {
      fd = openSync(pack.path, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'gone';
      throw err;
    }
    const buf = Buffer.allocUnsafe(len);
    try {
      let got = 0;
      while (got < len) {
        const n = readSync(fd, buf, got, len - got, x.dataStart + start + got);
        if (n === 0) return 'short';
        got += n;
      }
    } finally {
      closeSync(fd);
    }
    for (let b = b0; b <= b1; b++) if (!blockWhole(x, b, buf.subarray((b - b0) * BLOCK, Math.min(len, (b - b0 + 1) * BLOCK)))) return 'garbled';
    return buf;
  }
}

function addValues(t: IdTable, p: number, index: PackIndex): void {
  t.list(p, { words: index.words, base: valueAt(index, 0) >>> 2, stride: VALUE_RECORD >>> 2 });
  for (let i = 0; i < index.values; i++) t.set(p, i);
}
