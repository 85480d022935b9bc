/**
 * Reproducible random streams for the Monte-Carlo walks.
 *
 * Every block of walks gets its own stream, keyed by (seed, frame, block): the key is mixed
 * with the SplitMix64 finaliser (Steele, Lea & Flood, OOPSLA 2014) and a SplitMix64 sequence
 * from that key fills the 128-bit state of a xoshiro128** generator (Blackman & Vigna, 2018).
 * So a block's walks depend only on the key, never on which thread or node runs the block.
 *
 * Only integer arithmetic is used (BigInt once per block for the 64-bit seeding; 32-bit ops
 * per draw), so streams are bit-identical on every platform.
 */

const MASK64 = (1n << 64n) - 1n;
const GOLDEN = 0x9e3779b97f4a7c15n;

/** The SplitMix64 output function: a bijective 64-bit mix with good avalanche. */
export function mix64(z: bigint): bigint {
  z &= MASK64;
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK64;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK64;
  return z ^ (z >> 31n);
}

/** A SplitMix64 sequence: `next()` advances the state by the golden gamma and mixes it. */
export class SplitMix64 {
  private state: bigint;
  constructor(seed: bigint) {
    this.state = seed & MASK64;
  }
  next(): bigint {
    this.state = (this.state + GOLDEN) & MASK64;
    return mix64(this.state);
  }
}

/** The 64-bit key of the stream for block `block` of frame `frame` under `seed`. */
export function streamKey(seed: number, frame: number, block: number): bigint {
  // Each component goes through the mixer before the next is added, so nearby
  // (seed, frame, block) triples give unrelated keys.
  let k = mix64(BigInt(seed) + GOLDEN);
  k = mix64(k + BigInt(frame) * GOLDEN + 1n);
  return mix64(k + BigInt(block) * GOLDEN + 2n);
}

const TWO_POW_26 = 67108864;
const TWO_POW_53 = 9007199254740992;

/** xoshiro128**: 128-bit state, 32-bit outputs, period 2^128 − 1. */
export class Xoshiro128 {
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;

  /** A generator whose state is filled from a SplitMix64 sequence seeded with `key`. */
  static fromKey(key: bigint): Xoshiro128 {
    const g = new Xoshiro128();
    g.reseed(key);
    return g;
  }

  /** Refills the state from `key` (reusing the object across blocks). */
  reseed(key: bigint): void {
    const sm = new SplitMix64(key);
    const a = sm.next();
    const b = sm.next();
    this.s0 = Number(a & 0xffffffffn) | 0;
    this.s1 = Number(a >> 32n) | 0;
    this.s2 = Number(b & 0xffffffffn) | 0;
    this.s3 = Number(b >> 32n) | 0;
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1; // the one forbidden state
  }

  /** The next 32-bit output as an unsigned integer. */
  nextU32(): number {
    const s1 = this.s1;
    const m = Math.imul(s1, 5);
    const result = Math.imul((m << 7) | (m >>> 25), 9);
    const t = s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= s1;
    this.s1 = s1 ^ this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = (this.s3 << 11) | (this.s3 >>> 21);
    return result >>> 0;
  }

  /** A uniform double in [0, 1) with 53 random bits (two outputs). */
  nextDouble(): number {
    const hi = this.nextU32() >>> 5; // 27 bits
    const lo = this.nextU32() >>> 6; // 26 bits
    return (hi * TWO_POW_26 + lo) / TWO_POW_53;
  }
}

/** The generator for block `block` of frame `frame` under `seed`. */
export function blockStream(seed: number, frame: number, block: number): Xoshiro128 {
  return Xoshiro128.fromKey(streamKey(seed, frame, block));
}
