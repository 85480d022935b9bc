/**
 * `shoal cache stats`: what the packs hold (their indexes read, not their data), the temporary
 * files crashes left, the files of the layout before packs, and the counts of recent job runs.
 * The listing helpers here are `prune`'s too (prune.ts).
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { digestsDir, isDigestName } from './digest-memo.js';
import { isPackName, PackSet } from './pack-set.js';
import { cacheRoot, packsDir, type CacheRun } from './store.js';

/** Files younger than this are never removed by a prune (they may be a writer's work in progress). */
export const PRUNE_GRACE_MS = 10 * 60 * 1000;

export interface FileFact {
  path: string;
  name: string;
  bytes: number;
  mtimeMs: number;
}

/** The files of a directory (none where it is missing), each with its size and time. */
export async function listFiles(dir: string): Promise<FileFact[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const out: FileFact[] = [];
  for (const name of names.sort()) {
    const path = join(dir, name);
    try {
      const st = await stat(path);
      if (st.isFile()) out.push({ path, name, bytes: st.size, mtimeMs: st.mtimeMs });
    } catch {
      // Removed meanwhile (a prune merged it).
    }
  }
  return out;
}

/** A writer's temporary file (`<name>.pack.<digits>`, `<name>.dg.<digits>`), left where a crash stopped it. */
export const isTempName = (n: string): boolean => /\.(pack|dg)\.\d+$/.test(n);

/** The memos of input digests (digest-memo.ts). */
export async function digestFiles(dir: string): Promise<FileFact[]> {
  return (await listFiles(digestsDir(dir))).filter((f) => isDigestName(f.name));
}

/** The files of the layout before packs (DIR/v1), which is not read: `prune` removes them. */
export async function oldLayoutFiles(dir: string): Promise<FileFact[]> {
  const root = join(dir, 'v1');
  const out: FileFact[] = [];
  for (const sub of ['e', 'v']) {
    let shards: string[];
    try {
      shards = await readdir(join(root, sub));
    } catch {
      continue;
    }
    for (const s of shards) out.push(...(await listFiles(join(root, sub, s))));
  }
  out.push(...(await listFiles(join(root, 'runs'))));
  return out;
}

export interface CacheStats {
  dir: string;
  /** Distinct keys in whole packs. */
  entries: number;
  /** Distinct values in whole packs. */
  values: number;
  /** Bytes of the packs. */
  bytes: number;
  packs: number;
  /** Packs that are not whole (each a miss for all it holds; prune removes them). */
  brokenPacks: number;
  /** Temporary files (left by a crash, or being written now). */
  temporary: number;
  /** Files of the layout before packs (DIR/v1), not read; prune removes them. */
  oldLayout: number;
  /** Memos of the digests of large inputs (files, bytes): re-runs' keys without reading the inputs. */
  digests: { files: number; bytes: number };
  /** The most recent job runs, newest first. */
  runs: CacheRun[];
}

/** What the cache holds, and its `recent` latest runs' hits and misses. */
export async function cacheStats(dir: string, recent = 10): Promise<CacheStats> {
  const files = await listFiles(packsDir(dir));
  const packs = files.filter((f) => isPackName(f.name));
  const set = new PackSet(packsDir(dir));
  let broken: number;
  try {
    broken = set.refresh().length;
  } catch {
    broken = packs.length;
  }
  const memoDir = await listFiles(digestsDir(dir));
  const digests = memoDir.filter((f) => isDigestName(f.name));
  const temporary = [...files, ...memoDir].filter((f) => isTempName(f.name)).length;
  return {
    dir,
    entries: set.entryCount,
    values: set.valueCount,
    bytes: packs.reduce((a, f) => a + f.bytes, 0),
    packs: packs.length,
    brokenPacks: broken,
    temporary,
    oldLayout: (await oldLayoutFiles(dir)).length,
    digests: { files: digests.length, bytes: digests.reduce((a, f) => a + f.bytes, 0) },
    runs: await recentRuns(dir, recent),
  };
}

async function recentRuns(dir: string, recent: number): Promise<CacheRun[]> {
  const runsDir = join(cacheRoot(dir), 'runs');
  let names: string[];
  try {
    names = (await readdir(runsDir)).filter((n) => n.endsWith('.json')).sort().reverse().slice(0, recent);
  } catch {
    return [];
  }
  const runs: CacheRun[] = [];
  for (const n of names) {
    try {
      runs.push(JSON.parse(await readFile(join(runsDir, n), 'utf8')) as CacheRun);
    } catch {
      // A run file cut short: left out.
    }
  }
  return runs;
}
