/**
 * A pack's bytes (no I/O): many entries and the values they name in one file, written whole and
 * never changed afterwards.
 *
 *   head     8 bytes 'SHOALPK1', entries E, values V, data bytes D, the entries' bytes (u32
 *            each), then the sha256 of the head's counts and the index (32 bytes): a pack whose
 *            head or index is not whole is a miss for all it holds
 *   index    E entry records (44 bytes: key 32, offset, length, stored), V value records (40
 *            bytes: sha256 32, offset, length), then the sha256 of each 64 KiB block of the data
 *            (32 bytes each); offsets count from the data's start
 *   data     the entries' bodies as one JSON array (`[body,body,…]`: a reader that wants most
 *            of them parses them in one call), then the values' bytes
 *
 * An entry's body is its rows as JSON (`[[t, from, mid, value sha256, value record], …]`: the
 * record is the value's number in the same pack, or -1 where it is in another), a value its text
 * (UTF-8). Data is checked a block at a time as it is read, so a pack cut short or garbled past
 * its index still gives every entry whose bytes (and values' bytes) are whole, and a miss (never
 * a wrong row) for the rest; one hash per block, not one per entry and value, is what keeps a
 * lookup cheap. `stored` is when the entry was stored (epoch seconds), kept when `prune` merges
 * packs: it prunes by it. Numbers are little-endian u32: a pack's data is under 4 GiB.
 */
import * as crypto from 'node:crypto';

export const PACK_MAGIC = 'SHOALPK1';
/** The head's bytes. */
export const HEAD_BYTES = 56;
export const ENTRY_RECORD = 44;
export const VALUE_RECORD = 40;
/** Data is checked in blocks of this many bytes. */
export const BLOCK = 64 << 10;
const BLOCK_SUM = 32;
/** A pack's data at most (offsets are u32); writers flush far below it. */
export const MAX_DATA_BYTES = 2 ** 32 - 1;

/** One row of a cached task, as an entry holds it. */
export interface CachedRow {
  /** The row's task id after the task's own: '' for the task's row, '/0' for a half's. */
  t: string;
  /** The original row's `agent`, `host`, `worker`, `start`, `end` and `attempt` (JSON text). */
  from: string;
  /** What the row held between `end` and `value` (a kind's fields, `index` and `of`): JSON text, starting with ',' or empty. */
  mid: string;
  /** The value's sha256 (hex). */
  v: string;
  /** The value's record in the entry's own pack, where it is there (read without the values' table); -1 where not. */
  n?: number;
}

/** What goes into a pack. */
export interface PackParts {
  entries: ReadonlyArray<{ key: Buffer; body: Buffer; stored: number }>;
  values: ReadonlyArray<{ hash: Buffer; bytes: Buffer }>;
}

/** A pack's head and index, checked: records are read from `buf` where needed (no copy per entry). */
export interface PackIndex {
  entries: number;
  values: number;
  /** The data's bytes. */
  data: number;
  /** The entries' array's bytes (the data's first). */
  entryBytes: number;
  /** The head and the index, as read. */
  buf: Buffer;
  /** The same bytes as little-endian u32 words (every record is whole words). */
  words: Uint32Array;
  /** Where the data starts in the file. */
  dataStart: number;
}

/** crypto.hash (Node 20.12 and later): a digest in one call, without a Hash object (a third of a small value's cost). */
const oneShot = (crypto as { hash?: typeof crypto.hash }).hash;

/**
 * Writes the sha256 of bytes (or of a string's UTF-8) at `at` of `out`. As a latin1 string, a
 * one-call digest costs 0.8 µs here; as a Buffer of its own, 2.3 µs (a key per task of a job).
 */
export function sha256Into(bytes: string | Buffer, out: Buffer, at: number): void {
  if (oneShot) out.write(oneShot('sha256', bytes, 'binary'), at, 32, 'latin1');
  else crypto.createHash('sha256').update(bytes).digest().copy(out, at);
}

/** The sha256 of bytes, or of a string's UTF-8. */
export function sha256(bytes: string | Buffer): Buffer {
  const out = Buffer.allocUnsafe(32);
  sha256Into(bytes, out, 0);
  return out;
}

/** The sha256 of bytes, or of a string's UTF-8, in hex. */
export function sha256Hex(bytes: string | Buffer): string {
  return oneShot ? oneShot('sha256', bytes, 'hex') : crypto.createHash('sha256').update(bytes).digest('hex');
}

/** An entry's body for these rows. */
export function entryBody(rows: readonly CachedRow[]): Buffer {
  return Buffer.from(JSON.stringify(rows.map((r) => [r.t, r.from, r.mid, r.v, r.n ?? -1])));
}

/** An entry's rows, or null when the body (its text) is not one. */
export function parseEntryBody(body: string): CachedRow[] | null {
  let e: unknown;
  try {
    e = JSON.parse(body);
  } catch {
    return null;
  }
  return entryRows(e);
}

/** An entry's rows from its body parsed, or null when it is not one. */
export function entryRows(e: unknown): CachedRow[] | null {
  if (!Array.isArray(e) || e.length === 0) return null;
  const rows: CachedRow[] = [];
  for (const r of e as unknown[]) {
    if (!Array.isArray(r) || r.length !== 5) return null;
    const t: unknown = r[0];
    const from: unknown = r[1];
    const mid: unknown = r[2];
    const v: unknown = r[3];
    const n: unknown = r[4];
    // A value's hash that is not 64 hex digits is in no pack's index: a miss when looked up.
    if (typeof t !== 'string' || typeof from !== 'string' || typeof mid !== 'string' || typeof v !== 'string' || v.length !== 64 || typeof n !== 'number') return null;
    rows.push({ t, from, mid, v, n });
  }
  return rows;
}

const blocksOf = (data: number): number => Math.ceil(data / BLOCK);

/** The pack's bytes. Throws when its data would pass MAX_DATA_BYTES (the writer flushes well before). */
export function encodePack(p: PackParts): Buffer {
  let data = 2 + Math.max(0, p.entries.length - 1);
  for (const e of p.entries) data += e.body.length;
  const entryBytes = data;
  for (const v of p.values) data += v.bytes.length;
  if (data > MAX_DATA_BYTES) throw new RangeError(`a pack's data is at most ${MAX_DATA_BYTES} bytes (${data} given)`);
  const dataStart = HEAD_BYTES + p.entries.length * ENTRY_RECORD + p.values.length * VALUE_RECORD + blocksOf(data) * BLOCK_SUM;
  const out = Buffer.alloc(dataStart + data);
  out.write(PACK_MAGIC, 0, 'latin1');
  out.writeUInt32LE(p.entries.length, 8);
  out.writeUInt32LE(p.values.length, 12);
  out.writeUInt32LE(data, 16);
  out.writeUInt32LE(entryBytes, 20);
  let at = HEAD_BYTES;
  out.write('[', dataStart, 'latin1');
  let off = 1;
  for (const e of p.entries) {
    if (off > 1) out.write(',', dataStart + off++, 'latin1');
    e.key.copy(out, at, 0, 32);
    out.writeUInt32LE(off, at + 32);
    out.writeUInt32LE(e.body.length, at + 36);
    out.writeUInt32LE(e.stored >>> 0, at + 40);
    e.body.copy(out, dataStart + off);
    off += e.body.length;
    at += ENTRY_RECORD;
  }
  out.write(']', dataStart + off++, 'latin1');
  for (const v of p.values) {
    v.hash.copy(out, at, 0, 32);
    out.writeUInt32LE(off, at + 32);
    out.writeUInt32LE(v.bytes.length, at + 36);
    v.bytes.copy(out, dataStart + off);
    off += v.bytes.length;
    at += VALUE_RECORD;
  }
  for (let b = 0; b * BLOCK < data; b++, at += BLOCK_SUM) sha256Into(out.subarray(dataStart + b * BLOCK, dataStart + Math.min(data, (b + 1) * BLOCK)), out, at);
  indexSum(out, dataStart).copy(out, 24);
  return out;
}

function indexSum(buf: Buffer, dataStart: number): Buffer {
  return crypto.createHash('sha256').update(buf.subarray(8, 24)).update(buf.subarray(HEAD_BYTES, dataStart)).digest();
}

/** How many bytes the head and index of a pack starting with `head` take, or why it is not a pack. */
export function indexLength(head: Buffer, fileBytes: number): number | { why: string } {
  if (head.length < HEAD_BYTES || head.toString('latin1', 0, 8) !== PACK_MAGIC) return { why: head.length < HEAD_BYTES ? 'shorter than a pack\'s head' : 'not a pack (no SHOALPK1 head)' };
  const n = HEAD_BYTES + head.readUInt32LE(8) * ENTRY_RECORD + head.readUInt32LE(12) * VALUE_RECORD + blocksOf(head.readUInt32LE(16)) * BLOCK_SUM;
  if (n > fileBytes) return { why: `cut short: its index needs ${n} bytes, the file has ${fileBytes}` };
  return n;
}

/** The head and index `buf` (indexLength's bytes) checked, or why not. */
export function readIndex(buf: Buffer): PackIndex | { why: string } {
  const n = indexLength(buf, buf.length);
  if (typeof n !== 'number') return n;
  if (n !== buf.length) return { why: 'its index is not the length its head says' };
  if (!indexSum(buf, n).equals(buf.subarray(24, HEAD_BYTES))) return { why: 'its index does not match its checksum (garbled)' };
  const data = buf.readUInt32LE(16);
  const entryBytes = buf.readUInt32LE(20);
  if (entryBytes > data) return { why: 'its head says its entries take more than its data' };
  return { entries: buf.readUInt32LE(8), values: buf.readUInt32LE(12), data, entryBytes, buf, words: wordsOf(buf), dataStart: n };
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** `buf` (a whole number of words) as little-endian u32 words: a view where the host and alignment allow, else a copy. */
function wordsOf(buf: Buffer): Uint32Array {
  if (LITTLE_ENDIAN && buf.byteOffset % 4 === 0) return new Uint32Array(buf.buffer, buf.byteOffset, buf.length >>> 2);
  const w = new Uint32Array(buf.length >>> 2);
  for (let i = 0; i < w.length; i++) w[i] = buf.readUInt32LE(i * 4);
  return w;
}

/** Whether block b's bytes (read from the data) are what the writer wrote. */
export function blockWhole(x: PackIndex, b: number, bytes: Buffer): boolean {
  const want = Math.min(BLOCK, x.data - b * BLOCK);
  if (bytes.length !== want) return false;
  const at = valueAt(x, x.values) + b * BLOCK_SUM;
  return sha256(bytes).equals(x.buf.subarray(at, at + BLOCK_SUM));
}

/** Where entry i's record starts in the index (its key is the record's first 32 bytes). */
export const entryAt = (i: number): number => HEAD_BYTES + i * ENTRY_RECORD;
/** Where value i's record starts in the index. */
export const valueAt = (x: PackIndex, i: number): number => HEAD_BYTES + x.entries * ENTRY_RECORD + i * VALUE_RECORD;

export interface EntryRecord {
  off: number;
  len: number;
  stored: number;
}

export function entryRecord(x: PackIndex, i: number): EntryRecord {
  const w = entryAt(i) >>> 2;
  return { off: x.words[w + 8]!, len: x.words[w + 9]!, stored: x.words[w + 10]! };
}

export function valueRecord(x: PackIndex, i: number): { off: number; len: number } {
  const w = valueAt(x, i) >>> 2;
  return { off: x.words[w + 8]!, len: x.words[w + 9]! };
}

/** A whole pack's bytes read: its index, each entry's rows and values' hashes (null where not whole), without I/O. */
export function decodePack(file: Buffer): { index: PackIndex; entries: Array<{ key: string; stored: number; rows: CachedRow[] | null }>; values: Array<{ hash: string; bytes: Buffer | null }> } | { why: string } {
  const n = indexLength(file, file.length);
  if (typeof n !== 'number') return n;
  const index = readIndex(Buffer.from(file.subarray(0, n)));
  if ('why' in index) return index;
  const whole: boolean[] = [];
  for (let b = 0; b * BLOCK < index.data; b++) whole.push(blockWhole(index, b, file.subarray(n + b * BLOCK, n + Math.min(index.data, (b + 1) * BLOCK))));
  const bytes = (off: number, len: number): Buffer | null => {
    for (let b = Math.floor(off / BLOCK); b * BLOCK < off + len; b++) if (!whole[b]) return null;
    return file.subarray(n + off, n + off + len);
  };
  const entries = [];
  for (let i = 0; i < index.entries; i++) {
    const r = entryRecord(index, i);
    const body = bytes(r.off, r.len);
    entries.push({ key: index.buf.toString('hex', entryAt(i), entryAt(i) + 32), stored: r.stored, rows: body ? parseEntryBody(body.toString('utf8')) : null });
  }
  const values = [];
  for (let i = 0; i < index.values; i++) {
    const r = valueRecord(index, i);
    values.push({ hash: index.buf.toString('hex', valueAt(index, i), valueAt(index, i) + 32), bytes: bytes(r.off, r.len) });
  }
  return { index, entries, values };
}
