/**
 * Lookups that start before the hasher of input ranges is loaded (coordinator/cache/range-digest.ts
 * compiles it while a job's lookups go on): a key that wants it waits for it and the task is
 * looked up again, so a fresh process finds every task another one stored, and counts each once;
 * where it cannot load (an install without it), the job runs uncached and the log says so once.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ResultCache } from '../../coordinator/cache/index.js';
import { DIGEST_MIN_BYTES } from '../../coordinator/cache/digest-memo.js';
import { silentLogger } from '../../src/log.js';
import { okRow } from '../../src/rows/index.js';
import { rangesKind, rangeTasks, type RangeRef } from '../helpers/kinds.js';
import { repoRoot } from '../helpers/paths.js';
import { tempSuite } from '../helpers/suite.js';

const scratch = tempSuite('shoal-cache-hasher-wait-');

/** A file of large and small ranges, its tasks stored in a cache by this process; the refs and the cache. */
async function stored(name: string): Promise<{ refs: RangeRef[]; cache: string }> {
  const dir = join(scratch.dir, name);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'in.dat');
  const sizes = [DIGEST_MIN_BYTES * 2, 500, DIGEST_MIN_BYTES + 3, DIGEST_MIN_BYTES * 5];
  writeFileSync(file, Buffer.concat(sizes.map((n, i) => Buffer.alloc(n, 97 + i))));
  const refs: RangeRef[] = [];
  let at = 0;
  for (const n of sizes) {
    refs.push({ file, start: at, end: at + n });
    at += n;
  }
  const cache = join(dir, 'cache');
  // Stored here, with a clock at the epoch: every file counts as just written, so no digest is
  // remembered and the other process must hash each large range itself.
  const rc = new ResultCache(silentLogger(), { agent: 'coordinator', host: 'h' }, { now: () => 0 });
  await rc.admit({ job: 'C', kindName: 'ranges', kind: rangesKind, params: {}, cache: { dir: cache }, tasks: rangeTasks(refs), split: undefined, fileHash: () => '', inputs: [file] }, new Set<string>(), async () => undefined);
  const ids = refs.map((_, i) => `r${i}`);
  const text = ids.map((id) => okRow({ job: 'C', task: id, kind: 'ranges', attempt: 1, agent: 'a1', host: 'h', worker: 1, start: 1, end: 2 }, JSON.stringify(id))).join('');
  rc.committed([{ job: 'C', from: 'a1', ids, status: 'o'.repeat(ids.length), attempts: ids.map(() => 1), ms: ids.map(() => 1), errorRecords: 0 }], [text], 'coordinator');
  assert.equal((await rc.finish('C'))!.stored, refs.length);
  return { refs, cache };
}

/** The lookups of another process, fresh (cache-lookup-child.ts). */
function lookUpElsewhere(args: { cache: string; refs: RangeRef[]; failLoad?: boolean }): { hitsWritten: number; hits: number; misses: number; loadedBefore: boolean; uncached: boolean; warnings: string[] } {
  const child = spawnSync(process.execPath, [join(repoRoot, 'dist', 'test', 'helpers', 'cache-lookup-child.js'), JSON.stringify(args)], { encoding: 'utf8' });
  assert.equal(child.status, 0, child.stderr);
  return JSON.parse(child.stdout.trim()) as ReturnType<typeof lookUpElsewhere>;
}

describe('lookups before the range hasher is loaded', () => {
  it('wait for it: a fresh process finds every stored task, each counted once', async () => {
    const { refs, cache } = await stored('wait');
    assert.deepEqual(lookUpElsewhere({ cache, refs }), { hitsWritten: refs.length, hits: refs.length, misses: 0, loadedBefore: false, uncached: false, warnings: [] });
  });

  it('a hasher that cannot load runs the job uncached, said once', async () => {
    const { refs, cache } = await stored('no-hasher');
    const got = lookUpElsewhere({ cache, refs, failLoad: true });
    assert.deepEqual({ ...got, warnings: got.warnings.length }, { hitsWritten: 0, hits: 0, misses: 0, loadedBefore: false, uncached: true, warnings: 1 });
    assert.match(got.warnings[0]!, /the hasher of input ranges cannot be loaded; the job runs uncached/);
  });
});
