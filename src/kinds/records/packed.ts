/**
 * A list of non-negative integers in typed arrays, in chunks that each use the smallest type
 * their values fit (a byte while they are under 256): the byte ranges and line numbers of ten
 * million records in a few bytes each, never one object per record, and no copy of the whole
 * list as it grows.
 */

/** Entries per chunk (a power of two: chunk and slot by shift and mask). */
export const CHUNK_SHIFT = 16;
export const CHUNK = 1 << CHUNK_SHIFT;
const MASK = CHUNK - 1;

type Store = Uint8Array | Uint16Array | Uint32Array | Float64Array;

/** The next wider store of a chunk, in order. */
const WIDER: ReadonlyArray<{ max: number; make(n: number): Store }> = [
  { max: 0xff, make: (n) => new Uint8Array(n) },
  { max: 0xffff, make: (n) => new Uint16Array(n) },
  { max: 0xffffffff, make: (n) => new Uint32Array(n) },
  { max: Number.MAX_SAFE_INTEGER, make: (n) => new Float64Array(n) },
];

export class PackedUints {
  private readonly chunks: Store[] = [];
  private readonly widths: number[] = [];
  length = 0;

  push(v: number): void {
    const c = this.length >>> CHUNK_SHIFT;
    if (c === this.chunks.length) {
      this.chunks.push(WIDER[0]!.make(CHUNK));
      this.widths.push(0);
    }
    let w = this.widths[c]!;
    if (v > WIDER[w]!.max) {
      while (v > WIDER[w]!.max) w++;
      const wider = WIDER[w]!.make(CHUNK);
      wider.set(this.chunks[c]!);
      this.chunks[c] = wider;
      this.widths[c] = w;
    }
    this.chunks[c]![this.length & MASK] = v;
    this.length++;
  }

  get(i: number): number {
    return this.chunks[i >>> CHUNK_SHIFT]![i & MASK]!;
  }

  /** Bytes held. */
  get bytes(): number {
    return this.chunks.reduce((s, c) => s + c.byteLength, 0);
  }
}
