/**
 * The result cache's packs: written and read back byte for byte; cut short at every byte offset
 * (a miss or the whole entry, never a throw); a garbled index or data block; a key in two packs;
 * the writer's packs cut by entries, by bytes, by age and at flush; values stored once.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { decodePack, encodePack, entryBody, BLOCK, HEAD_BYTES } from '../../coordinator/cache/pack-format.js';
import { PackSet } from '../../coordinator/cache/pack-set.js';
import { PackWriter, type RowToStore } from '../../coordinator/cache/pack-writer.js';
import { CacheStore, packsDir } from '../../coordinator/cache/store.js';
import { tempSuite } from '../helpers/suite.js';
import { until } from '../helpers/wait.js';

const scratch = tempSuite('shoal-cache-packs-');
let dirs = 0;
const newDir = (): string => join(scratch.dir, `cache-${dirs++}`);

const key = (s: string): Buffer => createHash('sha256').update(s).digest();
const row = (value: string, t = ''): RowToStore => ({ t, from: '{"agent":"a","host":"h","worker":1,"start":1,"end":2,"attempt":1}', mid: ',"index":0', value });
const LIMITS = { entries: 1 << 20, bytes: 1 << 30, ageMs: 3_600_000 };

function packFiles(dir: string): string[] {
  try {
    return readdirSync(packsDir(dir)).filter((n) => n.endsWith('.pack')).map((n) => join(packsDir(dir), n));
  } catch {
    return [];
  }
}

/** A fresh reader of the cache: a hit's values, or 'miss'. */
function read(dir: string, k: Buffer): string[] | 'miss' {
  const s = new CacheStore(dir);
  s.refresh();
  const r = s.lookup(k);
  return 'hit' in r ? r.hit.rows.map((x) => x.value) : 'miss';
}

async function storeAll(dir: string, tasks: Array<[string, RowToStore[]]>, limits = LIMITS): Promise<CacheStore> {
  const s = new CacheStore(dir, limits);
  s.refresh();
  await Promise.all(tasks.map(([k, rows]) => s.store(key(k), rows)).concat(s.flush()));
  return s;
}

/** One pack of `tasks` in a new cache: its directory, file and bytes. */
async function onePack(tasks: Array<[string, RowToStore[]]>): Promise<{ dir: string; file: string; bytes: Buffer }> {
  const dir = newDir();
  await storeAll(dir, tasks);
  const [file] = packFiles(dir);
  assert.ok(file, 'a pack was written');
  return { dir, file, bytes: readFileSync(file) };
}

/** `n` tasks of one row each, padded to about `pad` bytes with `fill`. */
const padded = (prefix: string, n: number, fill: string, pad = 9000): Array<[string, RowToStore[]]> => Array.from({ length: n }, (_, i) => [`${prefix}${i}`, [row(`{"i":${i},"pad":"${fill.repeat(pad)}"}`)]]);

describe('cache packs', () => {
  it('a pack written and read back: rows and values byte for byte, split rows in order', async () => {
    const dir = newDir();
    const values = ['{"x":1}', '"ünïcödé ✓"', '[1,2,3]', '{"big":"' + 'z'.repeat(200_000) + '"}'];
    await storeAll(dir, [
      ['a', [row(values[0]!)]],
      ['b', [row(values[1]!, '/0'), row(values[2]!, '/1')]],
      ['c', [row(values[3]!)]],
    ]);
    assert.equal(packFiles(dir).length, 1);
    assert.deepEqual(read(dir, key('a')), [values[0]]);
    assert.deepEqual(read(dir, key('b')), [values[1], values[2]]);
    assert.deepEqual(read(dir, key('c')), [values[3]]);
    assert.equal(read(dir, key('nope')), 'miss');
    const s = new CacheStore(dir);
    s.refresh();
    const hit = s.lookup(key('b'));
    assert.ok('hit' in hit);
    assert.deepEqual(hit.hit.rows.map((r) => [r.t, r.from, r.mid]), [['/0', row('').from, ',"index":0'], ['/1', row('').from, ',"index":0']]);
  });

  it('a small pack cut short at every byte offset: each entry a miss or whole, never a throw', async () => {
    const tasks: Array<[string, RowToStore[]]> = [['a', [row('{"v":"aaaa"}')]], ['b', [row('{"v":"bbbb"}'), row('{"v":"cccc"}', '/1')]], ['c', [row('{"v":"aaaa"}')]]];
    const { dir, bytes } = await onePack(tasks);
    const cut = join(newDir(), 'v2', 'packs');
    mkdirSync(cut, { recursive: true });
    const whole = decodePack(bytes);
    assert.ok(!('why' in whole));
    for (let n = 0; n < bytes.length; n++) {
      const path = join(cut, `${String(n).padStart(8, '0')}.pack`);
      writeFileSync(path, bytes.subarray(0, n));
      const set = new PackSet(cut);
      assert.equal(set.refresh().length, n < whole.index.dataStart ? 1 : 0, `cut at ${n}: said not whole where the index is cut`);
      const s = new CacheStore(join(cut, '..', '..'));
      s.refresh();
      for (const [k] of tasks) assert.ok('miss' in s.lookup(key(k)), `cut at ${n}: ${k} is a miss`);
      unlinkSync(path);
    }
    for (const [k, rows] of tasks) assert.deepEqual(read(dir, key(k)), rows.map((r) => r.value));
  });

  it('a pack of several blocks cut short: entries before the cut stay whole', async () => {
    const tasks = padded('t', 40, 'p');
    const { dir, file, bytes } = await onePack(tasks);
    assert.ok(bytes.length > 4 * BLOCK);
    for (let n = HEAD_BYTES; n < bytes.length; n += 7919) {
      writeFileSync(file, bytes.subarray(0, n));
      let hits = 0;
      for (const [k, rows] of tasks) {
        const got = read(dir, key(k));
        if (got === 'miss') continue;
        assert.deepEqual(got, rows.map((r) => r.value), `cut at ${n}: ${k} whole`);
        hits++;
      }
      if (n > bytes.length - BLOCK * 2) assert.ok(hits > 0, `cut at ${n}: the entries of whole blocks hit`);
    }
  });

  it('a garbled index is a miss for the whole pack; a garbled data block for what is in it', async () => {
    const tasks = padded('g', 30, 'q');
    const { dir, file, bytes } = await onePack(tasks);
    const index = Buffer.from(bytes);
    index[HEAD_BYTES + 5]! ^= 0xff;
    writeFileSync(file, index);
    const s = new CacheStore(dir);
    const broken = s.refresh();
    assert.equal(broken.length, 1);
    assert.match(broken[0]!.why, /garbled/);
    for (const [k] of tasks) assert.ok('miss' in s.lookup(key(k)));

    const data = Buffer.from(bytes);
    data[data.length - 10]! ^= 0xff;
    writeFileSync(file, data);
    const r = new CacheStore(dir);
    assert.deepEqual(r.refresh(), []);
    const results = tasks.map(([k]) => r.lookup(key(k)));
    const broke = results.filter((x) => 'miss' in x && x.miss === 'broken');
    assert.ok(broke.length > 0 && broke.length < tasks.length, `only the last block's entries and values are broken: ${broke.length}`);
    assert.match(String('why' in broke[0]! ? broke[0].why : ''), /garbled/);
  });

  it('a pack read whole once most of it is asked for: the same rows and values; a garbled block still only misses its own', async () => {
    const dir = newDir();
    const ascii: Array<[string, RowToStore[]]> = padded('w', 100, 'w', 3000).map(([k, rows], i) => [k, [...rows, row(`[${i}]`, '/1')]]);
    const utf8: Array<[string, RowToStore[]]> = Array.from({ length: 100 }, (_, i) => [`u${i}`, [row(`"ünï ${i} ✓"`)]]);
    // Two packs: one's values all ASCII (sliced from one string), the other's not (read one by one).
    await storeAll(dir, ascii);
    await storeAll(dir, utf8);
    const s = new CacheStore(dir);
    s.refresh();
    for (const [k, rows] of [...ascii, ...utf8]) {
      const r = s.lookup(key(k));
      assert.ok('hit' in r, k);
      assert.deepEqual(r.hit.rows.map((x) => [x.t, x.value]), rows.map((x) => [x.t, x.value]), k);
    }
    const file = packFiles(dir).find((f) => readFileSync(f).includes('wwww'))!;
    const bytes = Buffer.from(readFileSync(file));
    const d = decodePack(bytes);
    assert.ok(!('why' in d));
    assert.ok(d.index.data > 3 * BLOCK);
    bytes[d.index.dataStart + BLOCK + 10]! ^= 0xff; // the second block: the pack cannot be read whole
    writeFileSync(file, bytes);
    const g = new CacheStore(dir);
    g.refresh();
    const got = ascii.map(([k]) => g.lookup(key(k)));
    const hits = got.filter((r) => 'hit' in r).length;
    assert.ok(hits > 0 && hits < ascii.length, `entries outside the garbled block hit: ${hits}`);
    for (const [i, r] of got.entries()) if ('hit' in r) assert.equal(r.hit.rows[1]!.value, `[${i}]`);
  });

  it('garbage and an empty file named .pack hold nothing and are said; other packs still hit', async () => {
    const dir = newDir();
    await storeAll(dir, [['ok', [row('1')]]]);
    writeFileSync(join(packsDir(dir), '00000000000001-1-aaaaaaaa.pack'), 'this is not a pack at all, just some text');
    writeFileSync(join(packsDir(dir), '00000000000002-1-bbbbbbbb.pack'), '');
    const s = new CacheStore(dir);
    assert.equal(s.refresh().length, 2);
    assert.ok('hit' in s.lookup(key('ok')));
  });

  it('a key in two packs: the copy stored last wins, whichever pack is newer', async () => {
    const dir = newDir();
    const set = new PackSet(packsDir(dir));
    const w = new PackWriter(set, LIMITS);
    await Promise.all([w.put(key('k'), [row('"late"')], 2_000_000_000_000), w.flush()]);
    await Promise.all([w.put(key('k'), [row('"early"')], 1_000_000_000_000), w.flush()]);
    assert.equal(packFiles(dir).length, 2);
    assert.deepEqual(read(dir, key('k')), ['"late"']);
    assert.deepEqual(read(dir, key('k')), ['"late"'], 'the same in another process (loaded from the listing)');
  });

  it('the writer: a pack at `entries`, at `bytes`, at `ageMs`, and at flush', async () => {
    const byCount = newDir();
    const c = new CacheStore(byCount, { ...LIMITS, entries: 3 });
    const puts = [1, 2, 3, 4, 5, 6, 7].map((i) => c.store(key(`n${i}`), [row(String(i))]));
    await Promise.all(puts.slice(0, 6));
    assert.equal(packFiles(byCount).length, 2, 'two packs of three, the seventh entry gathered');
    await c.flush();
    await puts[6];
    assert.equal(packFiles(byCount).length, 3);

    const byBytes = newDir();
    const b = new CacheStore(byBytes, { ...LIMITS, bytes: 1000 });
    await Promise.all([b.store(key('big1'), [row(`"${'x'.repeat(1200)}"`)]), b.store(key('big2'), [row(`"${'y'.repeat(1200)}"`)])]);
    assert.equal(packFiles(byBytes).length, 2, 'a pack per entry past the byte limit');

    const byAge = newDir();
    const a = new CacheStore(byAge, { ...LIMITS, ageMs: 50 });
    const aged = a.store(key('old'), [row('1')]);
    await until('the pack written by age', () => packFiles(byAge).length === 1);
    await aged;
    assert.deepEqual(read(byAge, key('old')), ['1']);
  });

  it('a value is stored once in a pack, and not again where a loaded pack holds it (unless that pack is gone)', async () => {
    const dir = newDir();
    const shared = '{"same":true}';
    const s = await storeAll(dir, [['v1', [row(shared)]], ['v2', [row(shared)]], ['v3', [row(shared), row(shared, '/1')]]]);
    const first = decodePack(readFileSync(packFiles(dir)[0]!));
    assert.ok(!('why' in first));
    assert.equal(first.values.length, 1);

    await Promise.all([s.store(key('v4'), [row(shared)]), s.flush()]);
    const second = packFiles(dir).map((f) => decodePack(readFileSync(f))).find((d) => !('why' in d) && d.entries.some((e) => e.key === key('v4').toString('hex')));
    assert.ok(second && !('why' in second));
    assert.equal(second.values.length, 0, 'the value is named, not written again');
    assert.deepEqual(read(dir, key('v4')), [shared], 'found in the other pack');

    // The pack holding it removed before the next one is written: the value goes in that one.
    const other = newDir();
    const t = await storeAll(other, [['w1', [row(shared)]]]);
    const p = t.store(key('w2'), [row(shared)]);
    for (const f of packFiles(other)) unlinkSync(f);
    await Promise.all([p, t.flush()]);
    assert.deepEqual(read(other, key('w2')), [shared]);
  });

  it('encodePack and decodePack agree on every field', () => {
    const body = entryBody([{ t: '', from: '{}', mid: '', v: 'ab'.repeat(32) }]);
    const buf = encodePack({ entries: [{ key: key('e'), body, stored: 1234 }], values: [{ hash: Buffer.from('ab'.repeat(32), 'hex'), bytes: Buffer.from('42') }] });
    const d = decodePack(buf);
    assert.ok(!('why' in d));
    assert.deepEqual(d.entries, [{ key: key('e').toString('hex'), stored: 1234, rows: [{ t: '', from: '{}', mid: '', v: 'ab'.repeat(32), n: -1 }] }]);
    assert.deepEqual(d.values.map((v) => [v.hash, v.bytes?.toString()]), [['ab'.repeat(32), '42']]);
  });
});
