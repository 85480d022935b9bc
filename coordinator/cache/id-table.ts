/**
 * A hash table from 32-byte ids (sha256s: entries' keys, values' hashes) to where they are: a
 * pack's number and the record's number in it. The ids themselves stay in the packs' index
 * buffers, which are kept anyway, so the table costs 8 bytes a slot at most half full (16 bytes
 * an id) and loading a pack allocates nothing per id. A Map keyed by hex strings would cost
 * about 130 bytes an id and a string allocated for each.
 *
 * Ids are read as eight little-endian u32 words through the index's Uint32Array (records are
 * whole words): Buffer's readUInt32LE checks its argument on every call, which was most of a
 * lookup's time in a process whose code is not optimised yet (a cached re-run). The ids are
 * sha256s, so their first word is already uniform: it is the hash.
 */

/** Where the ids of a pack's records are: record i's id is words `base + i * stride` to `+8`. */
export interface IdList {
  words: Uint32Array;
  base: number;
  stride: number;
}

const EMPTY = -1;

/** A lookup's id as words: one array reused, not one allocated per lookup. */
const scratch = new Uint32Array(8);

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

  /** The slot holding the id (words `at..at+8` of `w`), or the empty slot where it would go. */
  private slot(w: Uint32Array, at: number): number {
    let s = w[at]! & this.mask;
    for (;;) {
      const p = this.packs[s]!;
      if (p === EMPTY) return s;
      const l = this.lists[p]!;
      const o = l.base + this.recs[s]! * l.stride;
      const x = l.words;
      if (x[o] === w[at] && x[o + 1] === w[at + 1] && x[o + 2] === w[at + 2] && x[o + 3] === w[at + 3] && x[o + 4] === w[at + 4] && x[o + 5] === w[at + 5] && x[o + 6] === w[at + 6] && x[o + 7] === w[at + 7]) return s;
      s = (s + 1) & this.mask;
    }
  }

  /** The slot of the 32-byte id at `at` of `b` (any alignment), or -1 where it is not in the table: see packAt, recAt. */
  find(b: Uint8Array, at = 0): number {
    for (let k = 0; k < 8; k++, at += 4) scratch[k] = (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;
    const s = this.slot(scratch, 0);
    return this.packs[s] === EMPTY ? -1 : s;
  }

  /** The pack of the id in slot s (from find). */
  packAt(s: number): number {
    return this.packs[s]!;
  }

  /** The record of the id in slot s (from find). */
  recAt(s: number): number {
    return this.recs[s]!;
  }

  /**
   * Record `rec` of pack `p` holds its id; where the id is already in the table, `keep(old)`
   * says whether the one there stays.
   */
  set(p: number, rec: number, keep?: (old: { pack: number; rec: number }) => boolean): void {
    const l = this.lists[p]!;
    const s = this.slot(l.words, l.base + rec * l.stride);
    if (this.packs[s] !== EMPTY) {
      if (keep?.({ pack: this.packs[s]!, rec: this.recs[s]! })) return;
    } else {
      this.size++;
    }
    this.packs[s] = p;
    this.recs[s] = rec;
    if (this.size * 2 > this.packs.length) this.grow();
  }

  /** Room for `n` ids without growing. */
  reserve(ids: number): void {
    let n = this.packs.length;
    while (ids * 2 > n) n *= 2;
    if (n > this.packs.length) this.grow(n);
  }

  /** Rehashes into `n` slots (a power of two). */
  private grow(n = this.packs.length * 2): void {
    const packs = this.packs;
    const recs = this.recs;
    this.packs = new Int32Array(n).fill(EMPTY);
    this.recs = new Uint32Array(n);
    this.mask = n - 1;
    for (let s = 0; s < packs.length; s++) {
      const p = packs[s]!;
      if (p === EMPTY) continue;
      const l = this.lists[p]!;
      const t = this.slot(l.words, l.base + recs[s]! * l.stride);
      this.packs[t] = p;
      this.recs[t] = recs[s]!;
    }
  }
}
