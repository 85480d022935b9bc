/**
 * `shoal cache prune`: packs rewritten without what goes, small ones merged into fewer.
 *
 * What goes: entries stored (last) longer ago than --older-than, then the oldest stored until
 * the cache fits --max-size; a key's older copies (the copy stored last stays); entries not
 * whole; values no entry kept names. A pack with nothing to drop stays as it is unless it is
 * small and has others to merge with. A value any entry kept names stays, in whichever pack it
 * was (carried into a merged pack where that one is rewritten). With --older-than, the marks of
 * job keys written before the cutoff go too (pruneMarks). A pack is whole once it has its
 * name, so packs of any age are merged; only temporary files (a writer's work in progress) and
 * packs that are not whole (which a network filesystem may not show whole at once) are left
 * until they are older than a grace period.
 *
 * Nothing is removed before what replaces it is written: the merged packs are written whole
 * (renamed into place), then the packs they replace are removed. A reader that listed a removed
 * pack finds it gone: a miss, not an error. A prune cut short leaves both, and a key in two
 * packs is no harm (the copy stored last wins). Memory: the facts of every entry (about 200
 * bytes each) and one pack's bytes at a time.
 */
import { readdir, readFile, rmdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { digestsDir } from './digest-memo.js';
import { digestFiles, isTempName, listFiles, oldLayoutFiles, PRUNE_GRACE_MS, type FileFact } from './manage.js';
import { BLOCK, decodePack, encodePack, entryBody, entryRecord, ENTRY_RECORD, HEAD_BYTES, VALUE_RECORD, type PackParts } from './pack-format.js';
import { isPackName } from './pack-set.js';
import { packName, writePack } from './pack-writer.js';
import { cacheRoot, packsDir } from './store.js';

export interface PruneOptions {
  olderThanMs?: number;
  maxBytes?: number;
  now?: number;
  /** A merged pack's bytes at most (about). */
  packBytes?: number;
  /** A merged pack's entries at most. */
  packEntries?: number;
}

export interface PruneReport {
  entriesRemoved: number;
  valuesRemoved: number;
  packsBefore: number;
  packsAfter: number;
  /** Packs rewritten (merged into the packs written). */
  packsMerged: number;
  packsWritten: number;
  /** Packs that were not whole, removed. */
  brokenRemoved: number;
  temporaryRemoved: number;
  /** Files of the layout before packs (DIR/v1) removed. */
  oldLayoutRemoved: number;
  /** Memos of input digests removed (not used for --older-than, or the oldest past --max-size). */
  digestsRemoved: number;
  /** Marks of job keys removed (not written within --older-than). */
  marksRemoved: number;
  bytesBefore: number;
  bytesAfter: number;
}

const MERGED_BYTES = 64 << 20;
const MERGED_ENTRIES = 65536;

interface EntryFact {
  pack: number;
  rec: number;
  key: string;
  stored: number;
  bytes: number;
  /** The values it names; null when it is not whole. */
  values: string[] | null;
}

interface PackFact {
  file: FileFact;
  entries: EntryFact[];
  /** Its whole values' hashes and lengths. */
  values: Map<string, number>;
}

export async function pruneCache(dir: string, o: PruneOptions): Promise<PruneReport> {
  const now = o.now ?? Date.now();
  const packBytes = o.packBytes ?? MERGED_BYTES;
  const packEntries = o.packEntries ?? MERGED_ENTRIES;
  const files = await listFiles(packsDir(dir));
  const report: PruneReport = { entriesRemoved: 0, valuesRemoved: 0, packsBefore: 0, packsAfter: 0, packsMerged: 0, packsWritten: 0, brokenRemoved: 0, temporaryRemoved: 0, oldLayoutRemoved: 0, digestsRemoved: 0, marksRemoved: 0, bytesBefore: 0, bytesAfter: 0 };
  const old = (f: FileFact): boolean => now - f.mtimeMs > PRUNE_GRACE_MS;
  const remove = async (f: FileFact): Promise<boolean> => unlink(f.path).then(() => true, () => false);

  // Every pack read once: what each entry names, which values are whole where.
  const packs: PackFact[] = [];
  const whole = new Map<string, number[]>();
  for (const f of files.filter((x) => isPackName(x.name))) {
    report.packsBefore++;
    report.bytesBefore += f.bytes;
    const d = await readPack(f.path);
    if (d === null) continue; // removed meanwhile
    if ('why' in d) {
      if (old(f) && (await remove(f))) report.brokenRemoved++;
      continue;
    }
    const p = packs.length;
    const fact: PackFact = { file: f, entries: [], values: new Map() };
    d.entries.forEach((e, rec) => fact.entries.push({ pack: p, rec, key: e.key, stored: e.stored, bytes: entryRecord(d.index, rec).len, values: e.rows ? e.rows.map((r) => r.v) : null }));
    for (const v of d.values) {
      if (!v.bytes) continue;
      fact.values.set(v.hash, v.bytes.length);
      const at = whole.get(v.hash);
      if (at) at.push(p);
      else whole.set(v.hash, [p]);
    }
    packs.push(fact);
  }

  // The copy of each key stored last, among those whose values are whole somewhere.
  const winner = new Map<string, EntryFact>();
  for (const p of packs) {
    for (const e of p.entries) {
      if (e.values === null || !e.values.every((v) => whole.has(v))) continue;
      const w = winner.get(e.key);
      if (!w || e.stored >= w.stored) winner.set(e.key, e);
    }
  }
  const kept = new Set<EntryFact>();
  const cutoff = o.olderThanMs === undefined ? -Infinity : (now - o.olderThanMs) / 1000;
  for (const p of packs) for (const e of p.entries) if (winner.get(e.key) === e && e.stored >= cutoff) kept.add(e);
  const refs = new Map<string, number>();
  for (const e of kept) for (const v of e.values ?? []) refs.set(v, (refs.get(v) ?? 0) + 1);

  if (o.maxBytes !== undefined) {
    // What the cache would take: what is kept of it.
    let size = 0;
    const valueBytes = (v: string): number => firstLength(packs, whole.get(v)!, v) + VALUE_RECORD;
    for (const e of kept) size += e.bytes + ENTRY_RECORD;
    for (const v of refs.keys()) size += valueBytes(v);
    // The new packs' heads and block checksums, at most what all that is kept now would need.
    const overhead = Math.ceil(size / packBytes + 1) * HEAD_BYTES + Math.ceil(size / BLOCK + 1) * 32;
    const oldest = [...kept].sort((a, b) => a.stored - b.stored);
    for (const e of oldest) {
      if (size + overhead <= o.maxBytes) break;
      kept.delete(e);
      size -= e.bytes + ENTRY_RECORD;
      for (const v of e.values ?? []) {
        const n = refs.get(v)! - 1;
        if (n > 0) refs.set(v, n);
        else {
          refs.delete(v);
          size -= valueBytes(v);
        }
      }
    }
  }

  // Packs that lose something, and small ones (by bytes and by entries) where there are several to merge.
  const small = packs.filter((p) => p.file.bytes < packBytes / 2 && p.entries.length < packEntries / 2);
  const rewrite = new Set<number>();
  packs.forEach((p, i) => {
    const loses = p.entries.some((e) => !kept.has(e)) || [...p.values.keys()].some((v) => !refs.has(v) || whole.get(v)![0] !== i);
    if (loses || (small.length > 1 && small.includes(p))) rewrite.add(i);
  });

  // Values kept alive whose every whole copy is in a pack rewritten: carried into the new packs.
  const carry = new Set<string>();
  for (const v of refs.keys()) if (whole.get(v)!.every((q) => rewrite.has(q))) carry.add(v);
  let parts: { entries: PackParts['entries'][number][]; values: PackParts['values'][number][]; bytes: number } = { entries: [], values: [], bytes: 0 };
  const written: string[] = [];
  const cut = async (): Promise<void> => {
    if (parts.entries.length === 0 && parts.values.length === 0) return;
    const name = packName(now);
    await writePack(join(packsDir(dir), name), encodePack(parts));
    written.push(name);
    parts = { entries: [], values: [], bytes: 0 };
  };
  const carried = new Set<string>();
  for (const i of [...rewrite].sort((a, b) => a - b)) {
    const p = packs[i]!;
    const d = await readPack(p.file.path);
    if (d === null || 'why' in d) throw new Error(`${p.file.path}: changed or removed while the prune read it; run the prune again`);
    for (const e of p.entries) {
      if (!kept.has(e)) continue;
      // Values are found through the values' table in merged packs: their record numbers change.
      parts.entries.push({ key: Buffer.from(e.key, 'hex'), body: entryBody(d.entries[e.rec]!.rows!.map((r) => ({ ...r, n: -1 }))), stored: e.stored });
      parts.bytes += e.bytes + ENTRY_RECORD;
      if (parts.bytes >= packBytes || parts.entries.length >= packEntries) await cut();
    }
    for (const v of d.values) {
      if (!v.bytes || !carry.has(v.hash) || carried.has(v.hash)) continue;
      carried.add(v.hash);
      parts.values.push({ hash: Buffer.from(v.hash, 'hex'), bytes: v.bytes });
      parts.bytes += v.bytes.length + VALUE_RECORD;
      if (parts.bytes >= packBytes) await cut();
    }
  }
  await cut();
  report.packsWritten = written.length;

  // Only now, with their replacements in place: the packs rewritten go.
  for (const i of rewrite) {
    const p = packs[i]!;
    if (!(await remove(p.file))) continue;
    report.packsMerged++;
    report.entriesRemoved += p.entries.filter((e) => !kept.has(e)).length;
    report.valuesRemoved += [...p.values.keys()].filter((v) => !carried.has(v) && !refs.has(v)).length;
  }
  for (const f of files) if (isTempName(f.name) && old(f) && (await remove(f))) report.temporaryRemoved++;
  for (const f of await oldLayoutFiles(dir)) if (old(f) && (await remove(f))) report.oldLayoutRemoved++;
  if (report.oldLayoutRemoved > 0) await removeEmptyDirs(join(dir, 'v1'));
  for (const f of await listFiles(digestsDir(dir))) if (isTempName(f.name) && old(f) && (await remove(f))) report.temporaryRemoved++;
  const after = (await listFiles(packsDir(dir))).filter((f) => isPackName(f.name));
  report.packsAfter = after.length;
  report.bytesAfter = after.reduce((a, f) => a + f.bytes, 0);
  report.digestsRemoved = await pruneDigests(dir, now, o, report.bytesAfter);
  report.marksRemoved = await pruneMarks(dir, now, o);
  return report;
}

/**
 * The marks of job keys (store.ts `marked`) not written within --older-than: a mark is written
 * again after each pack of its job, so the entries of one this old were stored before the cutoff
 * and went above; without its mark such a job is not looked up (nothing left to find).
 */
async function pruneMarks(dir: string, now: number, o: PruneOptions): Promise<number> {
  if (o.olderThanMs === undefined) return 0;
  let removed = 0;
  for (const what of ['jobs', 'halves']) {
    for (const f of await listFiles(join(cacheRoot(dir), what))) {
      if (now - f.mtimeMs > o.olderThanMs && (await unlink(f.path).then(() => true, () => false))) removed++;
    }
  }
  return removed;
}

/**
 * Memos of input digests (a re-run's keys without reading its inputs; one is used and its time
 * renewed by each run that keys those files): those not used within --older-than go, then the
 * least recently used until packs and memos fit --max-size. Losing one costs a re-read only.
 */
async function pruneDigests(dir: string, now: number, o: PruneOptions, packBytes: number): Promise<number> {
  const memos = (await digestFiles(dir)).sort((a, b) => a.mtimeMs - b.mtimeMs);
  let size = packBytes + memos.reduce((a, f) => a + f.bytes, 0);
  let removed = 0;
  for (const f of memos) {
    const stale = o.olderThanMs !== undefined && now - f.mtimeMs > o.olderThanMs;
    if (!stale && (o.maxBytes === undefined || size <= o.maxBytes)) continue;
    if (await unlink(f.path).then(() => true, () => false)) {
      removed++;
      size -= f.bytes;
    }
  }
  return removed;
}

async function readPack(path: string): Promise<ReturnType<typeof decodePack> | null> {
  try {
    return decodePack(await readFile(path));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    return { why: (err as Error).message };
  }
}

function firstLength(packs: readonly PackFact[], at: readonly number[], v: string): number {
  return packs[at[0]!]!.values.get(v) ?? 0;
}

/** Removes the directories under `root` (and it) that are empty; leaves any with files. */
async function removeEmptyDirs(root: string): Promise<void> {
  const walk = async (d: string): Promise<void> => {
    let names: string[];
    try {
      names = await readdir(d);
    } catch {
      return;
    }
    for (const n of names) await walk(join(d, n));
    await rmdir(d).catch(() => undefined);
  };
  await walk(root);
}
