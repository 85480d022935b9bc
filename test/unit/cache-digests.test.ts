/**
 * The digests of large input ranges remembered across runs (coordinator/cache/digest-memo.ts):
 * a task's key is the same with the memo as without; a re-run's keys take the digests from it;
 * a changed file is read again and only its changed range's task gets another key; a file
 * changed within FRESH_MS is not remembered; two writers' digests merge; a torn or garbled memo
 * reads as none and is written again; `cache prune` and `cache stats` see the memos.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createHash } from 'node:crypto';
import { DIGEST_MIN_BYTES, DigestMemo, digestsDir, encodeMemo, findRecord, isDigestName, parseMemo, Records, WholeFileDigests } from '../../coordinator/cache/digest-memo.js';
import { inputFacts } from '../../coordinator/jobs/content-hash.js';
import { ResultCache } from '../../coordinator/cache/index.js';
import { KeyMaker } from '../../coordinator/cache/key.js';
import { loadRangeHash } from '../../coordinator/cache/range-digest.js';
import { createLogger, silentLogger } from '../../src/log.js';
import { okRow } from '../../src/rows/index.js';
import { cacheStats } from '../../coordinator/cache/manage.js';
import { pruneCache } from '../../coordinator/cache/prune.js';
import { rangesKind, rangeTasks, type RangeRef } from '../helpers/kinds.js';
import { tempSuite } from '../helpers/suite.js';
import { until } from '../helpers/wait.js';

const scratch = tempSuite('shoal-cache-digests-');
let made = 0;
const fresh = (): string => join(scratch.dir, `case-${made++}`);

/** A file of ranges: big ones (keyed by digest) and small ones (keyed by bytes), its times a day back. */
function inputFile(dir: string): { file: string; refs: RangeRef[]; big: number } {
  const sizes = [DIGEST_MIN_BYTES, 300, DIGEST_MIN_BYTES * 3 + 7, 1000, DIGEST_MIN_BYTES + 1, DIGEST_MIN_BYTES - 1];
  const parts = sizes.map((n, i) => Buffer.alloc(n, 65 + i));
  const file = join(dir, 'in.dat');
  writeFileSync(file, Buffer.concat(parts));
  backdate(file, 1);
  const refs: RangeRef[] = [];
  let at = 0;
  for (const n of sizes) {
    refs.push({ file, start: at, end: at + n });
    at += n;
  }
  return { file, refs, big: sizes.filter((n) => n >= DIGEST_MIN_BYTES).length };
}

function backdate(file: string, days: number): void {
  const t = new Date(Date.now() - days * 86_400_000);
  utimesSync(file, t, t);
}

/** A clock far enough ahead that a file whose change time is now counts as settled. */
const later = { now: () => Date.now() + 60_000 };

async function keysOf(cacheDir: string, refs: RangeRef[], memo: DigestMemo | null): Promise<string[]> {
  await loadRangeHash();
  const keys = KeyMaker.of({ kindName: 'ranges', kind: rangesKind, params: {}, fileHash: () => '', ...(memo ? { digests: memo } : {}) })!;
  const out = Buffer.alloc(32 * refs.length);
  refs.forEach((r, i) => assert.ok(keys.keyInto(r, out, 32 * i)));
  await keys.saveDigests();
  keys.close();
  return refs.map((_, i) => out.toString('hex', 32 * i, 32 * i + 32));
}

const memos = (cacheDir: string): string[] => readdirSync(digestsDir(cacheDir)).map((n) => join(digestsDir(cacheDir), n));

describe('input digests remembered across runs', () => {
  it('a memo reads back as written, merged and sorted, each span once; torn, garbled or another file\'s reads as none', () => {
    const d = (b: number): Buffer => Buffer.alloc(32, b);
    const added = new Records();
    added.push(8192, 16384, d(7));
    added.push(0, 4096, d(1));
    added.push(0, 2048, d(2));
    const id = '/a\n1:2:3:4:5';
    const first = parseMemo(encodeMemo(id, null, added), id)!;
    assert.equal(first.count, 3);
    const at = (m: typeof first, s: number, e: number): string => m.bytes.toString('hex', findRecord(m, s, e) + 16, findRecord(m, s, e) + 17);
    assert.deepEqual([at(first, 0, 2048), at(first, 0, 4096), at(first, 8192, 16384)], ['02', '01', '07']);
    assert.equal(findRecord(first, 0, 3000), -1);
    assert.equal(findRecord(first, 4096, 8192), -1);
    // Another writer's records merged with these: each span once, in order.
    const more = new Records();
    more.push(4096, 8192, d(3));
    more.push(0, 4096, d(1));
    const bytes = encodeMemo(id, first, more);
    const both = parseMemo(bytes, id)!;
    assert.equal(both.count, 4);
    const spans = Array.from({ length: both.count }, (_, i) => [both.bytes.readDoubleLE(both.at + 48 * i), both.bytes.readDoubleLE(both.at + 48 * i + 8)]);
    assert.deepEqual(spans, [[0, 2048], [0, 4096], [4096, 8192], [8192, 16384]]);
    assert.equal(parseMemo(bytes, '/a\n1:2:3:4:6'), null);
    assert.equal(parseMemo(bytes.subarray(0, bytes.length - 1), id), null);
    const garbled = Buffer.from(bytes);
    garbled[40] ^= 1;
    assert.equal(parseMemo(garbled, id), null);
  });

  it('keys are the same with a memo as without, and a re-run takes the large ranges\' digests from it', async () => {
    const dir = fresh();
    const { refs, big } = inputFile(mkdirp(dir));
    const plain = await keysOf(dir, refs, null);
    const first = new DigestMemo(dir, later);
    assert.deepEqual(await keysOf(dir, refs, first), plain);
    assert.equal(first.served, 0);
    assert.equal(memos(dir).length, 1);
    const again = new DigestMemo(dir, later);
    assert.deepEqual(await keysOf(dir, refs, again), plain);
    assert.equal(again.served, big, 'every large range from the memo');
    assert.equal(new Set(plain).size, refs.length);
  });

  it('a range and its first half (a split task) share a start: both are remembered', async () => {
    const dir = mkdirp(fresh());
    const { refs } = inputFile(dir);
    const whole = refs[2]!;
    const pair = [whole, { ...whole, end: whole.start + DIGEST_MIN_BYTES }];
    const plain = await keysOf(dir, pair, null);
    await keysOf(dir, pair, new DigestMemo(dir, later));
    const again = new DigestMemo(dir, later);
    assert.deepEqual(await keysOf(dir, pair, again), plain);
    assert.equal(again.served, 2);
  });

  it('a file changed after its digests were taken is read again: only the changed range\'s key moves', async () => {
    const dir = mkdirp(fresh());
    const { file, refs } = inputFile(dir);
    const before = await keysOf(dir, refs, new DigestMemo(dir, later));
    // One byte of the third (large) range, the file's times set back to another day.
    const bytes = readFileSync(file);
    bytes[refs[2]!.start + 10] = 0x5a;
    writeFileSync(file, bytes);
    backdate(file, 2);
    const memo = new DigestMemo(dir, later);
    const after = await keysOf(dir, refs, memo);
    assert.equal(memo.served, 0, 'the memo of the old file is not this file\'s');
    assert.deepEqual(after, await keysOf(dir, refs, null));
    assert.deepEqual(after.map((k, i) => k === before[i]), [true, true, false, true, true, true]);
  });

  it('a file changed moments ago is not remembered', async () => {
    const dir = mkdirp(fresh());
    const { file, refs } = inputFile(dir);
    writeFileSync(file, readFileSync(file)); // its times now
    const memo = new DigestMemo(dir);
    assert.deepEqual(await keysOf(dir, refs, memo), await keysOf(dir, refs, null));
    assert.equal(statSync(file).mtimeMs > Date.now() - 60_000, true);
    assert.deepEqual(readdirSafe(digestsDir(dir)), []);
  });

  it('two runs\' digests of one file merge; a garbled memo is read as none and written again whole', async () => {
    const dir = mkdirp(fresh());
    const { refs, big } = inputFile(dir);
    const plain = await keysOf(dir, refs, null);
    await keysOf(dir, refs.slice(0, 3), new DigestMemo(dir, later));
    await keysOf(dir, refs.slice(3), new DigestMemo(dir, later));
    const both = new DigestMemo(dir, later);
    assert.deepEqual(await keysOf(dir, refs, both), plain);
    assert.equal(both.served, big);
    const [path] = memos(dir);
    const bytes = readFileSync(path!);
    bytes[bytes.length - 40] ^= 0xff;
    writeFileSync(path!, bytes);
    const broken = new DigestMemo(dir, later);
    assert.deepEqual(await keysOf(dir, refs, broken), plain);
    assert.equal(broken.served, 0);
    const mended = new DigestMemo(dir, later);
    await keysOf(dir, refs, mended);
    assert.equal(mended.served, big);
  });

  it('a whole input\'s sha256 (the job\'s fingerprint) is remembered: a re-run takes it, a changed file is read again, a read-only cache keeps none', async () => {
    const dir = mkdirp(fresh());
    const { file } = inputFile(dir);
    const sha = (): string => createHash('sha256').update(readFileSync(file)).digest('hex');
    const facts = async (write = true): Promise<{ sha256: string; given: string | undefined }> => {
      const w = new WholeFileDigests(dir, write, later);
      let given: string | undefined;
      const [f] = await inputFacts([file], [], { open: (p) => { const o = w.open(p); given = o.sha256; return o; } });
      await w.close();
      return { sha256: f!.sha256, given };
    };
    assert.deepEqual(await facts(false), { sha256: sha(), given: undefined });
    assert.deepEqual(readdirSafe(digestsDir(dir)), [], 'a read-only cache keeps none');
    assert.deepEqual(await facts(), { sha256: sha(), given: undefined });
    assert.deepEqual(await facts(), { sha256: sha(), given: sha() }, 'taken from the memo');
    const bytes = readFileSync(file);
    bytes[5] ^= 1;
    writeFileSync(file, bytes);
    backdate(file, 3);
    assert.deepEqual(await facts(), { sha256: sha(), given: undefined }, 'the changed file read again');
  });

  it('the digests a job\'s keys took are written with each pack: a coordinator that stops before the job ends keeps them', async () => {
    const dir = mkdirp(fresh());
    const { refs, big } = inputFile(mkdirp(join(dir, 'in')));
    const rc = new ResultCache(silentLogger(), { agent: 'coordinator', host: 'h' }, later);
    await rc.admit({ job: 'S', kindName: 'ranges', kind: rangesKind, params: {}, cache: { dir }, tasks: rangeTasks(refs), split: undefined, fileHash: () => '', inputs: [refs[0]!.file] }, new Set<string>(), async () => undefined);
    const ids = refs.map((_, i) => `r${i}`);
    const text = ids.map((id) => okRow({ job: 'S', task: id, kind: 'ranges', attempt: 1, agent: 'a1', host: 'h', worker: 1, start: 1, end: 2 }, '1')).join('');
    rc.committed([{ job: 'S', from: 'a1', ids, status: 'o'.repeat(ids.length), attempts: ids.map(() => 1), ms: ids.map(() => 1), errorRecords: 0 }], [text], 'coordinator');
    // The coordinator stops: what it gathered is packed, and the job never finishes.
    await rc.close();
    // Whole once renamed into place (a writer's temporary file is there before).
    await until('the digests written with the pack', () => readdirSafe(digestsDir(dir)).filter(isDigestName).length === 1, 10_000, 10);
    const again = new DigestMemo(dir, later);
    await keysOf(dir, refs, again);
    assert.equal(again.served, big, 'a re-run\'s keys take every large range from the memo');
  });

  it('a cache whose digests cannot be written: the job looks up and stores as ever, the failure logged at debug only', async () => {
    const dir = mkdirp(fresh());
    const { refs } = inputFile(mkdirp(join(dir, 'in')));
    // A file where the memos' directory would be: every memo write fails.
    mkdirp(join(dir, 'v2'));
    writeFileSync(digestsDir(dir), 'not a directory');
    const lines: string[] = [];
    const log = createLogger('debug', {}, { stream: { write: (l: string) => void lines.push(l) }, format: 'json' });
    const rc = new ResultCache(log, { agent: 'coordinator', host: 'h' }, later);
    const tasks = rangeTasks(refs);
    await rc.admit({ job: 'D', kindName: 'ranges', kind: rangesKind, params: {}, cache: { dir }, tasks, split: undefined, fileHash: () => '', inputs: [refs[0]!.file] }, new Set<string>(), async () => undefined);
    const text = okRow({ job: 'D', task: 'r0', kind: 'ranges', attempt: 1, agent: 'a1', host: 'h', worker: 1, start: 1, end: 2 }, '1');
    rc.committed([{ job: 'D', from: 'a1', ids: ['r0'], status: 'o', attempts: [1], ms: [1], errorRecords: 0 }], [text], 'coordinator');
    const run = (await rc.finish('D'))!;
    assert.deepEqual([run.misses, run.stored, run.unstored], [refs.length, 1, 0]);
    const said = lines.map((l) => JSON.parse(l) as { level: number; msg: string });
    assert.ok(said.some((l) => l.level === 20 && l.msg.startsWith('cannot write the digests')), lines.join(''));
    assert.deepEqual(said.filter((l) => l.level >= 40), [], 'nothing said above debug');
  });

  it('cache stats counts the memos; prune removes those not used within --older-than, then the least recently used past --max-size', async () => {
    const dir = mkdirp(fresh());
    const names: string[] = [];
    for (let k = 0; k < 3; k++) {
      const sub = mkdirp(join(dir, `in-${k}`));
      const { refs } = inputFile(sub);
      await keysOf(dir, refs, new DigestMemo(dir, later));
      names.push(...memos(dir).filter((p) => !names.includes(p)));
    }
    assert.equal(names.length, 3);
    const stats = await cacheStats(dir);
    assert.equal(stats.digests.files, 3);
    const each = statSync(names[0]!).size;
    assert.equal(stats.digests.bytes, 3 * each);
    // Last used: 40, 20 and 1 days ago.
    [40, 20, 1].forEach((days, k) => backdate(names[k]!, days));
    const r1 = await pruneCache(dir, { olderThanMs: 30 * 86_400_000 });
    assert.equal(r1.digestsRemoved, 1);
    assert.deepEqual(memos(dir).sort(), names.slice(1).sort());
    const r2 = await pruneCache(dir, { maxBytes: each + 10 });
    assert.equal(r2.digestsRemoved, 1);
    assert.deepEqual(memos(dir), [names[2]]);
  });
});

function mkdirp(dir: string): string {
  mkdirSync(dir, { recursive: true });
  return dir;
}

function readdirSafe(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
