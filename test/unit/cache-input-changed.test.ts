/**
 * An input that changes while its job runs: the tasks that commit after it did are not stored in
 * the cache (a key, read from the file now, might not name the bytes the task read), said once;
 * those before are, and the run's counts say how many were not. The change is seen whether the
 * file is written in place or replaced by another (a rename over it).
 */
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ResultCache } from '../../coordinator/cache/index.js';
import type { TaskSource } from '../../coordinator/index.js';
import { createLogger } from '../../src/log.js';
import { okRow } from '../../src/rows/index.js';
import { rangesKind, rangeTasks, type RangeRef } from '../helpers/kinds.js';
import { tempSuite } from '../helpers/suite.js';

const scratch = tempSuite('shoal-cache-input-changed-');

/** Three tasks over a file of three 100-byte ranges. */
function job(dir: string): { file: string; tasks: TaskSource } {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'in.dat');
  writeFileSync(file, Buffer.concat([Buffer.alloc(100, 65), Buffer.alloc(100, 66), Buffer.alloc(100, 67)]));
  const refs: RangeRef[] = [0, 1, 2].map((i) => ({ file, start: 100 * i, end: 100 * i + 100 }));
  const tasks = rangeTasks(refs);
  return { file, tasks };
}

function commit(rc: ResultCache, ids: string[]): void {
  const text = ids.map((id) => okRow({ job: 'C', task: id, kind: 'ranges', attempt: 1, agent: 'a1', host: 'h', worker: 1, start: 1, end: 2 }, JSON.stringify(id))).join('');
  rc.committed([{ job: 'C', from: 'a1', ids, status: 'o'.repeat(ids.length), attempts: ids.map(() => 1), ms: ids.map(() => 1), errorRecords: 0 }], [text], 'coordinator');
}

/** Runs the job, changing its input (`change`) after its first task commits; returns the run's counts and what was said. */
async function runChanging(dir: string, change: (file: string) => void): Promise<{ stored: number; unstored: number; warnings: Array<{ msg: string; input?: string }>; storeMs: unknown }> {
  const { file, tasks } = job(join(dir, 'in'));
  const lines: string[] = [];
  const rc = new ResultCache(createLogger('info', {}, { stream: { write: (l: string) => void lines.push(l) }, format: 'json' }), { agent: 'coordinator', host: 'h' });
  await rc.admit({ job: 'C', kindName: 'ranges', kind: rangesKind, params: {}, cache: { dir: join(dir, 'cache') }, tasks, split: undefined, fileHash: () => '', inputs: [file] }, new Set<string>(), async () => undefined);
  commit(rc, ['r0']);
  change(file);
  commit(rc, ['r1']);
  commit(rc, ['r2']);
  const run = (await rc.finish('C'))!;
  const logged = lines.map((l) => JSON.parse(l) as { level: number; msg: string; input?: string; storeMs?: unknown });
  const warnings = logged.filter((l) => l.level >= 40);
  return { stored: run.stored, unstored: run.unstored, warnings, storeMs: logged.find((l) => l.msg === 'cache use')?.storeMs };
}

describe('an input changed while its job runs', () => {
  it('written in place: the tasks after the change are not stored, said once', async () => {
    const r = await runChanging(join(scratch.dir, 'append'), (file) => appendFileSync(file, 'more records\n'));
    assert.deepEqual([r.stored, r.unstored], [1, 2]);
    assert.equal(r.warnings.length, 1, JSON.stringify(r.warnings));
    assert.match(r.warnings[0]!.msg, /in\.dat changed while the job ran: the job.s tasks are no longer stored/);
  });

  it('replaced by another file of the same size: the same', async () => {
    const r = await runChanging(join(scratch.dir, 'replace'), (file) => {
      writeFileSync(file + '.new', Buffer.alloc(300, 90));
      renameSync(file + '.new', file);
    });
    assert.deepEqual([r.stored, r.unstored], [1, 2]);
    assert.equal(r.warnings.length, 1);
  });

  it('left alone: every task is stored, nothing said; the run\'s line gives the stores\' time', async () => {
    const r = await runChanging(join(scratch.dir, 'alone'), () => undefined);
    assert.deepEqual([r.stored, r.unstored, r.warnings.length], [3, 0, 0]);
    assert.ok(typeof r.storeMs === 'number' && r.storeMs >= 0, String(r.storeMs));
  });
});
