/**
 * The digest of a run of input bytes in a cache key: XXH3-128 (16 bytes, the canonical
 * big-endian form), from hash-wasm's WebAssembly build. It hashes 4 GB/s on this project's
 * machines against 1.7 GB/s for Node's sha256, and a run's bytes are most of what a key costs
 * (a conformers set names 297 MB of records; a trajectory, gigabytes). A key itself stays a
 * sha256 over its parts, these digests among them: 128 bits make an accidental collision of two
 * runs negligible, and a writer able to forge one could write the cache's files anyway.
 *
 * The hasher is compiled once per process and only where a job reads inputs (`loadRangeHash`,
 * about 10 ms, mostly off the main thread, while the job's lookups go on); `rangeHash` throws
 * RangeHashNotReady before it is.
 */
import { createRequire } from 'node:module';
import type { IHasher } from 'hash-wasm';
import { ErrorCode, ShoalError } from '../../src/errors.js';

/** Bytes of a range's digest. */
export const RANGE_DIGEST_BYTES = 16;

let loading: Promise<void> | null = null;
let hasher: IHasher | null = null;

/** Compiles the hasher once (later calls share the first); rejects where it cannot be. */
export function loadRangeHash(): Promise<void> {
  loading ??= (async () => {
    // The one algorithm's file (10 KB), not the package's index of all of them (270 KB, 20 ms to load).
    const req = createRequire(import.meta.url);
    const m = req('hash-wasm/dist/xxhash128.umd.min.js') as { createXXHash128(): Promise<IHasher> };
    hasher = await m.createXXHash128();
  })();
  return loading;
}

/** A digest being taken: `update` with the bytes in order, then `digest`. */
export interface RangeHash {
  update(bytes: Uint8Array): void;
  /** The 16-byte digest (the hash is done with). */
  digest(): Buffer;
}

/** A digest was wanted before loadRangeHash() resolved: wait for it, and make the key again. */
export class RangeHashNotReady extends ShoalError {
  constructor() {
    super(ErrorCode.Internal, 'the hasher of input ranges is used before loadRangeHash() resolved');
  }
}

/** Starts a digest (one at a time: the hasher is shared). */
export function rangeHash(): RangeHash {
  const h = hasher;
  if (h === null) throw new RangeHashNotReady();
  h.init();
  return {
    update: (bytes) => void h.update(bytes),
    digest: () => Buffer.from(h.digest('binary')),
  };
}
