/**
 * A hash table from 32-byte ids (sha256s: entries' keys, values' hashes) to where they are: a
 * pack's number and the record's number in it. The ids themselves stay in the packs' index
 * buffers, which are kept anyway, so the table costs 8 bytes a slot at most half full (16 bytes
 * an id) and loading a pack allocates nothing per id. A Map keyed by hex strings would cost
 * about 130 bytes an id and a string allocated for each.
 *
 * The ids are sha256s, so their first four bytes are already uniform: they are the hash.
 */

/** Where the ids of a pack's records are: record i's id is `buf[base + i * stride, +32)`. */
export interface IdList {
  buf: Buffer;
  base: number;
  stride: number;
}

const EMPTY = -1;

export class IdTable {
  private packs: Int32Array;
  private recs: Uint32Array;
  private mask: number;
  private readonly lists: Array<IdList | undefined> = [];
  size = 0;

  constructor(capacity = 1024) {
    let n = 1024;
    while (n < capacity * 2) n *= 2;
    this.packs = new Int32Array(n).fill(EMPTY);
    this.recs = new Uint32Array(n);
    this.mask = n - 1;
  }

  /** Says where pack `p`'s ids are (before `set` is called with it). */
  list(p: number, l: IdList): void {
    this.lists[p] = l;
  }

  /** The slot holding `id` (bytes `at..at+32` of `buf`), or the empty slot where it would go. */
  private slot(buf: Buffer, at: number): number {
    const h = buf.readUInt32LE(at);
    const h2 = buf.readUInt32LE(at + 4);
    let s = h & this.mask;
    for (;;) {
      const p = this.packs[s]!;
      if (p === EMPTY) return s;
      const l = this.lists[p]!;
      const o = l.base + this.recs[s]! * l.stride;
      if (l.buf.readUInt32LE(o) === h && l.buf.readUInt32LE(o + 4) === h2 && same(l.buf, o, buf, at)) return s;
      s = (s + 1) & this.mask;
    }
  }

  /** Where `id` is, or null. */
  get(id: Buffer, at = 0): { pack: number; rec: number } | null {
    const s = this.slot(id, at);
    const p = this.packs[s]!;
    return p === EMPTY ? null : { pack: p, rec: this.recs[s]! };
  }

  /**
   * Record `rec` of pack `p` holds its id; where the id is already in the table, `keep(old)`
   * says whether the one there stays.
   */
  set(p: number, rec: number, keep?: (old: { pack: number; rec: number }) => boolean): void {
    const l = this.lists[p]!;
    const s = this.slot(l.buf, l.base + rec * l.stride);
    if (this.packs[s] !== EMPTY) {
      if (keep?.({ pack: this.packs[s]!, rec: this.recs[s]! })) return;
    } else {
      this.size++;
    }
    this.packs[s] = p;
    this.recs[s] = rec;
    if (this.size * 2 > this.packs.length) this.grow();
  }

  private grow(): void {
    const packs = this.packs;
    const recs = this.recs;
    const n = packs.length * 2;
    this.packs = new Int32Array(n).fill(EMPTY);
    this.recs = new Uint32Array(n);
    this.mask = n - 1;
    for (let s = 0; s < packs.length; s++) {
      const p = packs[s]!;
      if (p === EMPTY) continue;
      const l = this.lists[p]!;
      const t = this.slot(l.buf, l.base + recs[s]! * l.stride);
      this.packs[t] = p;
      this.recs[t] = recs[s]!;
    }
  }

  /** Calls `f` with every id's place. */
  forEach(f: (pack: number, rec: number) => void): void {
    for (let s = 0; s < this.packs.length; s++) if (this.packs[s] !== EMPTY) f(this.packs[s]!, this.recs[s]!);
  }
}

/** Whether the 32 bytes at `a[i]` and `b[j]` are the same (in JavaScript: a native compare's call costs more here). */
function same(a: Buffer, i: number, b: Buffer, j: number): boolean {
  for (let k = 8; k < 32; k += 4) if (a.readUInt32LE(i + k) !== b.readUInt32LE(j + k)) return false;
  return true;
}
