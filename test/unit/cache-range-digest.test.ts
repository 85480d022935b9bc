/**
 * The digest of a run of input bytes in a cache key (coordinator/cache/range-digest.ts): XXH3-128
 * as an independent implementation gives it (the expected values below were taken with the Rust
 * crate xxhash-rust, through @node-rs/xxhash 1.7, not with the WebAssembly build shoal uses), fed
 * in pieces or whole; a key of a large run is the sha256 of the layout key.ts and the README
 * describe, and a key without one is what earlier versions made (their entries still hit); and a
 * file's whole sha256 (its job's fingerprint) and a range over the whole file are
 * remembered apart in one memo.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { loadRangeHash, rangeHash, RANGE_DIGEST_BYTES } from '../../coordinator/cache/range-digest.js';
import { KeyMaker } from '../../coordinator/cache/key.js';
import { DigestMemo, WholeFileDigests } from '../../coordinator/cache/digest-memo.js';
import { rangesKind } from '../helpers/kinds.js';
import { tempSuite } from '../helpers/suite.js';

const scratch = tempSuite('shoal-range-digest-');

const mod251 = (n: number): Buffer => {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = i % 251;
  return b;
};

/** XXH3-128 of each input, canonical (big-endian) hex, from xxhash-rust. */
const VECTORS: Array<[string, Buffer, string]> = [
  ['empty', Buffer.alloc(0), '99aa06d3014798d86001c324468d497f'],
  ['abc', Buffer.from('abc'), '06b05ab6733a618578af5f94892f3950'],
  ['4096 bytes of A', Buffer.alloc(4096, 65), '3360baa89cda0ecaa03de37a157c16bd'],
  ['i % 251, 100,000 bytes', mod251(100_000), '54182c58bbb1337c42c23aeead96750d'],
];

const digestOf = (parts: Buffer[]): string => {
  const h = rangeHash();
  for (const p of parts) h.update(p);
  return h.digest().toString('hex');
};

/** The job part's key and the key of a ranges task over `n` bytes (i % 251) that follow 10 others in a file. */
function keyOfRun(name: string, n: number): { jobKey: string; key: string } {
  const dir = join(scratch.dir, name);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'in.dat');
  writeFileSync(file, Buffer.concat([Buffer.alloc(10, 120), mod251(n)]));
  const keys = KeyMaker.of({ kindName: 'ranges', kind: rangesKind, params: {}, fileHash: () => '' })!;
  const out = Buffer.alloc(32);
  assert.ok(keys.keyInto({ file, start: 10, end: 10 + n }, out, 0));
  keys.close();
  return { jobKey: keys.jobKey, key: out.toString('hex') };
}

/** A file whose mtime and ctime lie a day back as far as the memo's clock can tell. */
const later = { now: () => Date.now() + 86_400_000 };

describe('range digests', () => {
  before(async () => {
    await loadRangeHash();
  });

  it('are XXH3-128 as an independent implementation gives it, whole or in pieces', () => {
    for (const [name, bytes, hex] of VECTORS) {
      assert.equal(digestOf([bytes]), hex, name);
      assert.equal(digestOf([bytes.subarray(0, 1000), bytes.subarray(1000, 1001), bytes.subarray(1001)]), hex, `${name}, in pieces`);
      const h = rangeHash();
      h.update(bytes);
      assert.equal(h.digest().length, RANGE_DIGEST_BYTES);
    }
  });

  it('a large run counts in its key as its XXH3-128: the key is the sha256 of the layout the README gives', () => {
    const { jobKey, key } = keyOfRun('layout', 100_000);
    // The job part's sha256, the task's rest (none: null), the run's length, then its digest.
    const want = createHash('sha256').update(`${jobKey}\nnull\n100000,\n`).update(Buffer.from(VECTORS[3]![2], 'hex')).digest('hex');
    assert.equal(key, want);
  });

  it('a task without a run of 4 KiB keeps the key earlier versions gave it (the values below from Python\'s hashlib)', () => {
    assert.deepEqual(keyOfRun('small', 300), {
      jobKey: '6e09269ef5c5ff17d5ce665901c5e7be0f85c50ec547c9dda2252de4ec524af9',
      key: 'd2f5103b02b8996b01deec2f956cfa34cabfcb40ca30831254dfd28e64067c36',
    });
  });

  it('a file\'s whole sha256 and the digest of a range over the whole file are remembered apart', async () => {
    const cache = join(scratch.dir, 'apart');
    mkdirSync(cache, { recursive: true });
    const file = join(scratch.dir, 'one-range.dat');
    const bytes = mod251(100_000);
    writeFileSync(file, bytes);
    const t = new Date(Date.now() - 86_400_000);
    utimesSync(file, t, t);
    const sha = createHash('sha256').update(bytes).digest('hex');
    const keyOfWhole = async (memo: DigestMemo): Promise<string> => {
      const keys = KeyMaker.of({ kindName: 'ranges', kind: rangesKind, params: {}, fileHash: () => '', digests: memo })!;
      const out = Buffer.alloc(32);
      assert.ok(keys.keyInto({ file, start: 0, end: bytes.length }, out, 0));
      await keys.saveDigests();
      keys.close();
      return out.toString('hex');
    };
    const wholeOnce = async (): Promise<string | undefined> => {
      const w = new WholeFileDigests(cache, true, later);
      const d = w.open(file);
      const given = d.sha256;
      if (given === undefined) d.keep(sha);
      await w.close();
      return given;
    };
    const key = await keyOfWhole(new DigestMemo(cache, later));
    // The range's digest is in the memo: the fingerprint is not taken from it, but read and kept.
    assert.equal(await wholeOnce(), undefined);
    assert.equal(await wholeOnce(), sha, 'the whole file\'s sha256 from the memo');
    // Both in one memo now: the key takes the range's digest, not the sha256.
    const memo = new DigestMemo(cache, later);
    assert.equal(await keyOfWhole(memo), key);
    assert.equal(memo.served, 1);
  });
});
