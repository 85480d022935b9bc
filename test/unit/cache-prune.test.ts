/**
 * `cache prune` over packs: entries stored too long ago and the oldest past --max-size go, with
 * the values only they named; a key's older copies go; small packs merge into fewer; young packs
 * are left alone and the values they name survive the packs they were in; a reader that listed
 * the old packs misses, never throws; crashes' temporary files, packs not whole and the old
 * layout go; `cache stats` counts what is there.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { cacheStats, PRUNE_GRACE_MS } from '../../coordinator/cache/manage.js';
import { decodePack } from '../../coordinator/cache/pack-format.js';
import { PackSet } from '../../coordinator/cache/pack-set.js';
import { PackWriter, type RowToStore } from '../../coordinator/cache/pack-writer.js';
import { pruneCache } from '../../coordinator/cache/prune.js';
import { CacheStore, packsDir } from '../../coordinator/cache/store.js';
import { tempSuite } from '../helpers/suite.js';

const scratch = tempSuite('shoal-cache-prune-');
let dirs = 0;
const newDir = (): string => join(scratch.dir, `cache-${dirs++}`);

const DAY = 86_400_000;
const NOW = Date.now();
const key = (s: string): Buffer => createHash('sha256').update(s).digest();
const row = (value: string): RowToStore => ({ t: '', from: '{"agent":"a"}', mid: '', value });
const LIMITS = { entries: 1 << 20, bytes: 1 << 30, ageMs: 3_600_000 };

function packFiles(dir: string): string[] {
  return readdirSync(packsDir(dir)).filter((n) => n.endsWith('.pack')).map((n) => join(packsDir(dir), n));
}

/** One pack per call, its entries stored `daysAgo`, its file as old as the grace period allows removing. */
async function pack(dir: string, daysAgo: number, tasks: Array<[string, string[]]>, young = false): Promise<void> {
  const before = new Set(readdirSafe(dir));
  const set = new PackSet(packsDir(dir));
  set.refresh();
  const w = new PackWriter(set, LIMITS);
  const puts = tasks.map(([k, values]) => w.put(key(k), values.map(row), NOW - daysAgo * DAY));
  await Promise.all([...puts, w.flush()]);
  const when = young ? new Date() : new Date(NOW - PRUNE_GRACE_MS - 60_000);
  for (const n of readdirSafe(dir)) if (!before.has(n)) utimesSync(join(packsDir(dir), n), when, when);
}

function readdirSafe(dir: string): string[] {
  try {
    return readdirSync(packsDir(dir));
  } catch {
    return [];
  }
}

function read(dir: string, k: string): string[] | 'miss' {
  const s = new CacheStore(dir);
  s.refresh();
  const r = s.lookup(key(k));
  return 'hit' in r ? r.hit.rows.map((x) => x.value) : 'miss';
}

describe('cache prune', () => {
  it('--older-than: old entries and the values only they named go; the rest merged into one pack hits', async () => {
    const dir = newDir();
    await pack(dir, 100, [['old', ['"shared"', '"only-old"']]]);
    await pack(dir, 1, [['new', ['"shared"']]]);
    await pack(dir, 2, [['new2', ['"mine"']]]);
    const r = await pruneCache(dir, { olderThanMs: 30 * DAY, now: NOW });
    assert.equal(read(dir, 'old'), 'miss');
    assert.deepEqual(read(dir, 'new'), ['"shared"']);
    assert.deepEqual(read(dir, 'new2'), ['"mine"']);
    assert.equal(r.entriesRemoved, 1);
    assert.equal(r.valuesRemoved, 1, 'only-old went, shared stayed');
    assert.deepEqual([r.packsBefore, r.packsMerged, r.packsWritten, r.packsAfter], [3, 3, 1, 1]);
    assert.ok(r.bytesAfter < r.bytesBefore);
    const [only] = packFiles(dir).map((f) => decodePack(readFileSync(f)));
    assert.ok(only && !('why' in only));
    assert.deepEqual(only.values.map((v) => v.bytes?.toString()).sort(), ['"mine"', '"shared"']);
    assert.ok(only.entries.every((e) => e.stored < NOW / 1000 - 0.5 * 86_400), 'entries keep when they were stored');
  });

  it('--max-size: the entries stored longest ago go first, until the cache fits', async () => {
    const dir = newDir();
    for (let i = 0; i < 10; i++) await pack(dir, 10 - i, [[`e${i}`, [`"${String(i).repeat(10_000)}"`]]]);
    const r = await pruneCache(dir, { maxBytes: 50_000, now: NOW });
    assert.ok(r.bytesAfter <= 50_000, `fits: ${r.bytesAfter}`);
    const hits = Array.from({ length: 10 }, (_, i) => read(dir, `e${i}`) !== 'miss');
    const first = hits.indexOf(true);
    assert.ok(first > 0 && hits.slice(first).every((h) => h), `the newest stay: ${hits.join(',')}`);
  });

  it('a key in two packs keeps only the copy stored last', async () => {
    const dir = newDir();
    await pack(dir, 3, [['k', ['"first"']], ['other', ['"o"']]]);
    await pack(dir, 5, [['k', ['"stale"']]]);
    await pruneCache(dir, { olderThanMs: 365 * DAY, now: NOW });
    const all = packFiles(dir).flatMap((f) => {
      const d = decodePack(readFileSync(f));
      return 'why' in d ? [] : d.entries.map((e) => e.key);
    });
    assert.deepEqual(all.filter((k) => k === key('k').toString('hex')).length, 1);
    assert.deepEqual(read(dir, 'k'), ['"first"']);
    assert.deepEqual(read(dir, 'other'), ['"o"']);
  });

  it('a value an entry kept names survives the pack it was in, whose own entries went', async () => {
    const dir = newDir();
    await pack(dir, 100, [['old', ['"lent"']], ['big', [`"${'b'.repeat(5000)}"`]]]);
    // A writer that loaded the old pack names its value without writing it again.
    await pack(dir, 0, [['young', ['"lent"']]], true);
    assert.equal(packFiles(dir).length, 2);
    const r = await pruneCache(dir, { olderThanMs: 30 * DAY, now: NOW, packBytes: 4000 });
    assert.equal(read(dir, 'old'), 'miss');
    assert.deepEqual(read(dir, 'young'), ['"lent"']);
    assert.deepEqual([r.packsMerged, r.packsWritten, r.entriesRemoved, r.valuesRemoved], [1, 1, 2, 1], 'the old pack rewritten: only the lent value carried');
    assert.equal(packFiles(dir).length, 2, 'the young pack, small but alone, left as it was');
  });

  it('many small packs merge into fewer; a reader that listed them misses, then finds the merged ones', async () => {
    const dir = newDir();
    for (let i = 0; i < 20; i++) await pack(dir, 1, [[`s${i}`, [`"${i}"`]]]);
    const reader = new CacheStore(dir);
    reader.refresh();
    assert.ok('hit' in reader.lookup(key('s3')));
    const r = await pruneCache(dir, { olderThanMs: 30 * DAY, now: NOW, packEntries: 8 });
    assert.deepEqual([r.packsBefore, r.packsWritten, r.packsAfter, r.entriesRemoved], [20, 3, 3, 0]);
    const stale = reader.lookup(key('s4'));
    assert.ok('miss' in stale && stale.miss === 'absent', 'a pack removed since the listing is a miss');
    reader.refresh();
    for (let i = 0; i < 20; i++) assert.ok('hit' in reader.lookup(key(`s${i}`)), `s${i} after the refresh`);
    const again = await pruneCache(dir, { olderThanMs: 30 * DAY, now: NOW, packEntries: 8 });
    assert.equal(again.packsMerged, 0, 'full packs and one small one: nothing to merge');
  });

  it('old temporary files, old packs not whole and the old layout go; young temporary files stay; stats count them', async () => {
    const dir = newDir();
    await pack(dir, 1, [['kept', ['1']]]);
    const old = new Date(NOW - PRUNE_GRACE_MS - 60_000);
    const p = packsDir(dir);
    writeFileSync(join(p, '00000000000001-1-aaaaaaaa.pack.123456'), 'half a pack');
    utimesSync(join(p, '00000000000001-1-aaaaaaaa.pack.123456'), old, old);
    writeFileSync(join(p, '00000000000002-1-bbbbbbbb.pack.987654'), 'being written');
    writeFileSync(join(p, '00000000000003-1-cccccccc.pack'), 'garbage');
    utimesSync(join(p, '00000000000003-1-cccccccc.pack'), old, old);
    mkdirSync(join(dir, 'v1', 'e', 'ab'), { recursive: true });
    writeFileSync(join(dir, 'v1', 'e', 'ab', 'cdef'), '{}');
    utimesSync(join(dir, 'v1', 'e', 'ab', 'cdef'), old, old);
    const before = await cacheStats(dir);
    assert.deepEqual([before.entries, before.values, before.packs, before.brokenPacks, before.temporary, before.oldLayout], [1, 1, 2, 1, 2, 1]);
    const r = await pruneCache(dir, { olderThanMs: 30 * DAY, now: NOW });
    assert.deepEqual([r.temporaryRemoved, r.brokenRemoved, r.oldLayoutRemoved], [1, 1, 1]);
    const after = await cacheStats(dir);
    assert.deepEqual([after.entries, after.packs, after.brokenPacks, after.temporary, after.oldLayout], [1, 1, 0, 1, 0]);
    assert.deepEqual(read(dir, 'kept'), ['1']);
    assert.deepEqual(readdirSync(dir).sort(), ['v2'], 'the old layout\'s directories went with its files');
  });
});
