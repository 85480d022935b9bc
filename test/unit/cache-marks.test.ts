/**
 * The marks of job keys (coordinator/cache/store.ts `marked`): a mark is written again after each
 * pack its job stores, so it is never older than the job's newest entry; `cache prune
 * --older-than` keeps the marks of jobs that stored within it and removes the others with their
 * entries, after which such a job is not looked up.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ResultCache } from '../../coordinator/cache/index.js';
import { CachedJob } from '../../coordinator/cache/cached-job.js';
import { KeyMaker } from '../../coordinator/cache/key.js';
import { cacheRoot, CacheStore } from '../../coordinator/cache/store.js';
import { pruneCache } from '../../coordinator/cache/prune.js';
import { silentLogger } from '../../src/log.js';
import { okRow } from '../../src/rows/index.js';
import { rangesKind, rangeTasks, type RangeRef } from '../helpers/kinds.js';
import { tempSuite } from '../helpers/suite.js';

const scratch = tempSuite('shoal-cache-marks-');
const DAY = 86_400_000;

/** One run of job C over three 100-byte ranges that stores the tasks `ids`. */
async function storeRun(cache: string, refs: RangeRef[], ids: string[]): Promise<void> {
  const rc = new ResultCache(silentLogger(), { agent: 'coordinator', host: 'h' });
  await rc.admit({ job: 'C', kindName: 'ranges', kind: rangesKind, params: {}, cache: { dir: cache }, tasks: rangeTasks(refs), split: undefined, fileHash: () => '', inputs: [refs[0]!.file] }, new Set<string>(), async () => undefined);
  const text = ids.map((id) => okRow({ job: 'C', task: id, kind: 'ranges', attempt: 1, agent: 'a1', host: 'h', worker: 1, start: 1, end: 2 }, JSON.stringify(id))).join('');
  rc.committed([{ job: 'C', from: 'a1', ids, status: 'o'.repeat(ids.length), attempts: ids.map(() => 1), ms: ids.map(() => 1), errorRecords: 0 }], [text], 'coordinator');
  assert.equal((await rc.finish('C'))!.stored, ids.length);
}

/** Counts the marks written. */
class CountingStore extends CacheStore {
  marks: string[] = [];
  override async mark(what: 'jobs' | 'halves', jobKey: string): Promise<void> {
    this.marks.push(what);
    return super.mark(what, jobKey);
  }
}

describe('the marks of job keys', () => {
  it('a job\'s mark is written before its first pack and again after each pack', async () => {
    const dir = join(scratch.dir, 'per-pack');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'in.dat');
    writeFileSync(file, Buffer.concat([Buffer.alloc(100, 65), Buffer.alloc(100, 66)]));
    const refs: RangeRef[] = [0, 1].map((i) => ({ file, start: 100 * i, end: 100 * i + 100 }));
    const store = new CountingStore(join(dir, 'cache'));
    const keys = KeyMaker.of({ kindName: 'ranges', kind: rangesKind, params: {}, fileHash: () => '' })!;
    const job = new CachedJob({ job: 'C', kind: 'ranges', store, keys, tasks: rangeTasks(refs), split: undefined, write: true, inputs: [file], agent: 'coordinator', host: 'h', log: silentLogger() });
    const commit = (id: string): void => job.committed('o', [id], okRow({ job: 'C', task: id, kind: 'ranges', attempt: 1, agent: 'a1', host: 'h', worker: 1, start: 1, end: 2 }, JSON.stringify(id)));
    commit('r0');
    await store.flush(); // the first pack
    commit('r1');
    const run = await job.finish(); // the second
    assert.equal(run.stored, 2);
    assert.equal(readdirSync(join(cacheRoot(join(dir, 'cache')), 'packs')).filter((n) => n.endsWith('.pack')).length, 2);
    assert.deepEqual(store.marks, ['jobs', 'jobs', 'jobs']);
  });

  it('a new run writes an old mark again; prune --older-than keeps it, then removes it with its entries once they are past the cutoff', async () => {
    const dir = join(scratch.dir, 'marks');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'in.dat');
    writeFileSync(file, Buffer.concat([Buffer.alloc(100, 65), Buffer.alloc(100, 66), Buffer.alloc(100, 67)]));
    const refs: RangeRef[] = [0, 1, 2].map((i) => ({ file, start: 100 * i, end: 100 * i + 100 }));
    const cache = join(dir, 'cache');
    await storeRun(cache, refs, ['r0']);
    const marks = readdirSync(join(cacheRoot(cache), 'jobs'));
    assert.equal(marks.length, 1);
    const mark = join(cacheRoot(cache), 'jobs', marks[0]!);
    // The mark as old as a run two months ago; a new run's pack writes it again.
    const old = new Date(Date.now() - 60 * DAY);
    utimesSync(mark, old, old);
    await storeRun(cache, refs, ['r1']);
    assert.ok(Date.now() - statSync(mark).mtimeMs < DAY, 'the mark written again after the pack');

    const kept = await pruneCache(cache, { olderThanMs: 30 * DAY });
    assert.deepEqual([kept.entriesRemoved, kept.marksRemoved], [0, 0]);
    assert.ok(new CacheStore(cache).marked('jobs', marks[0]!));

    // Forty days on, both runs' entries are past the cutoff, and so is the mark.
    const later = await pruneCache(cache, { olderThanMs: 30 * DAY, now: Date.now() + 40 * DAY });
    assert.deepEqual([later.entriesRemoved, later.marksRemoved], [2, 1]);
    assert.equal(new CacheStore(cache).marked('jobs', marks[0]!), false);
  });
});
