/**
 * `shoal cache stats` and `shoal cache prune`: a walk over the cache's files. Pruning removes
 * entries (oldest stored first), then the values no entry names any more and temporary files
 * left by crashes, each only once it is older than a grace period: a coordinator writing at the
 * same moment writes a value before the entry that names it, and its temporary file is renamed
 * within moments.
 */
import { readdir, readFile, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { cacheRoot, type CacheRun } from './store.js';

/** Files younger than this are never removed by a prune (they may be a writer's work in progress). */
export const PRUNE_GRACE_MS = 10 * 60 * 1000;

interface FileFact {
  path: string;
  name: string;
  bytes: number;
  mtimeMs: number;
}

async function list(dir: string): Promise<FileFact[]> {
  const out: FileFact[] = [];
  let shards: string[];
  try {
    shards = await readdir(dir);
  } catch {
    return out;
  }
  for (const s of shards) {
    let names: string[];
    try {
      names = await readdir(join(dir, s));
    } catch {
      continue;
    }
    for (const n of names) {
      const path = join(dir, s, n);
      try {
        const st = await stat(path);
        if (st.isFile()) out.push({ path, name: s + n, bytes: st.size, mtimeMs: st.mtimeMs });
      } catch {
        // Removed meanwhile by another prune.
      }
    }
  }
  return out;
}

/** A temporary file of write-file-atomic (`<name>.<digits>`), not an entry or a value. */
function isTemp(f: FileFact): boolean {
  return f.name.includes('.');
}

export interface CacheStats {
  dir: string;
  entries: number;
  values: number;
  /** Bytes of entries and values. */
  bytes: number;
  /** Temporary files (left by a crash, or being written now). */
  temporary: number;
  /** The most recent job runs, newest first. */
  runs: CacheRun[];
}

/** What the cache holds, and its `recent` latest runs' hits and misses. */
export async function cacheStats(dir: string, recent = 10): Promise<CacheStats> {
  const root = cacheRoot(dir);
  const [entries, values] = await Promise.all([list(join(root, 'e')), list(join(root, 'v'))]);
  const all = [...entries, ...values];
  let runNames: string[] = [];
  try {
    runNames = (await readdir(join(root, 'runs'))).filter((n) => n.endsWith('.json')).sort().reverse().slice(0, recent);
  } catch {
    runNames = [];
  }
  const runs: CacheRun[] = [];
  for (const n of runNames) {
    try {
      runs.push(JSON.parse(await readFile(join(root, 'runs', n), 'utf8')) as CacheRun);
    } catch {
      // A run file cut short: left out.
    }
  }
  return {
    dir,
    entries: entries.filter((f) => !isTemp(f)).length,
    values: values.filter((f) => !isTemp(f)).length,
    bytes: all.filter((f) => !isTemp(f)).reduce((a, f) => a + f.bytes, 0),
    temporary: all.filter(isTemp).length,
    runs,
  };
}

export interface PruneReport {
  entriesRemoved: number;
  valuesRemoved: number;
  temporaryRemoved: number;
  bytesBefore: number;
  bytesAfter: number;
}

/**
 * Removes entries stored more than `olderThanMs` ago, then the oldest until the cache is at most
 * `maxBytes`, then values no entry names and old temporary files.
 */
export async function pruneCache(dir: string, o: { olderThanMs?: number; maxBytes?: number; now?: number }): Promise<PruneReport> {
  const now = o.now ?? Date.now();
  const root = cacheRoot(dir);
  const entries = (await list(join(root, 'e'))).sort((a, b) => a.mtimeMs - b.mtimeMs);
  const values = await list(join(root, 'v'));
  const valueBytes = new Map(values.filter((f) => !isTemp(f)).map((f) => [f.name, f]));
  const refs = new Map<string, number>();
  const named = new Map<string, string[]>();
  const report: PruneReport = { entriesRemoved: 0, valuesRemoved: 0, temporaryRemoved: 0, bytesBefore: 0, bytesAfter: 0 };
  for (const f of [...entries, ...values]) if (!isTemp(f)) report.bytesBefore += f.bytes;
  let total = report.bytesBefore;
  const remove = async (f: FileFact): Promise<boolean> => {
    try {
      await unlink(f.path);
      return true;
    } catch {
      return false;
    }
  };
  const live: FileFact[] = [];
  for (const e of entries) {
    if (isTemp(e)) {
      if (now - e.mtimeMs > PRUNE_GRACE_MS && (await remove(e))) report.temporaryRemoved++;
      continue;
    }
    const vs = await valuesOf(e.path);
    // A broken entry (cut short) is removed: it is a miss anyway.
    if (vs === null || (o.olderThanMs !== undefined && now - e.mtimeMs > o.olderThanMs)) {
      if (await remove(e)) {
        report.entriesRemoved++;
        total -= e.bytes;
      }
      continue;
    }
    named.set(e.name, vs);
    for (const v of vs) refs.set(v, (refs.get(v) ?? 0) + 1);
    live.push(e);
  }
  if (o.maxBytes !== undefined) {
    for (const e of live) {
      if (total <= o.maxBytes) break;
      if (!(await remove(e))) continue;
      report.entriesRemoved++;
      total -= e.bytes;
      for (const v of named.get(e.name) ?? []) {
        const n = (refs.get(v) ?? 1) - 1;
        refs.set(v, n);
        if (n === 0) total -= valueBytes.get(v)?.bytes ?? 0;
      }
    }
  }
  for (const f of values) {
    if (now - f.mtimeMs <= PRUNE_GRACE_MS) continue;
    if (isTemp(f)) {
      if (await remove(f)) report.temporaryRemoved++;
    } else if ((refs.get(f.name) ?? 0) === 0 && (await remove(f))) report.valuesRemoved++;
  }
  const after = [...(await list(join(root, 'e'))), ...(await list(join(root, 'v')))];
  report.bytesAfter = after.filter((f) => !isTemp(f)).reduce((a, f) => a + f.bytes, 0);
  return report;
}

/** The values an entry names, or null when it is not a whole entry. */
async function valuesOf(path: string): Promise<string[] | null> {
  try {
    const e = JSON.parse(await readFile(path, 'utf8')) as { rows?: Array<{ v?: unknown }> };
    if (!Array.isArray(e.rows)) return null;
    const vs = e.rows.map((r) => r.v);
    return vs.every((v) => typeof v === 'string') ? (vs as string[]) : null;
  } catch {
    return null;
  }
}
