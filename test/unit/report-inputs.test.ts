/**
 * What `shoal report` reads: a directory's shoal outputs (by name, each once), its other
 * `*.jsonl` files skipped with the reason, other files passed over; a missing path and a
 * directory with no output are InputErrors naming them; one report over a directory's files.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ErrorCode, ShoalError } from '../../src/errors.js';
import { buildReport, findInputs } from '../../src/report/index.js';
import { tempSuite } from '../helpers/suite.js';

const scratch = tempSuite('shoal-report-inputs-');

const T = 1_700_000_000_000;
/** `n` rows of `job`, one a worker, from `at` ms after T, 100 ms each. */
function rows(job: string, n: number, at: number): string {
  return Array.from({ length: n }, (_, i) => JSON.stringify({ job, task: `t${i}`, kind: 'spin', status: 'ok', attempt: 1, agent: 'n1-1', host: 'n1', worker: i % 2, start: T + at + 50 * i, end: T + at + 50 * i + 100 }) + '\n').join('');
}

/** A pipeline's out dir: two stages' outputs, their records and summaries, and files that are not outputs. */
function outDir(name: string): string {
  const dir = join(scratch.dir, name);
  mkdirSync(join(dir, 'nested.jsonl'), { recursive: true });
  writeFileSync(join(dir, 'p.score.jsonl'), rows('p.score', 6, 300));
  writeFileSync(join(dir, 'p.confs.jsonl'), rows('p.confs', 10, 0));
  writeFileSync(join(dir, 'p.confs.job.json'), '{"job":"p.confs"}\n');
  writeFileSync(join(dir, 'p.confs.summary.json'), '{}\n');
  writeFileSync(join(dir, 'notes.jsonl'), '{"note":"not a row"}\n');
  writeFileSync(join(dir, 'broken.jsonl'), 'not json\n');
  writeFileSync(join(dir, 'empty.jsonl'), '\n');
  return dir;
}

async function rejection(p: Promise<unknown>): Promise<ShoalError> {
  const err = await p.then(
    () => assert.fail('expected a rejection'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof ShoalError, String(err));
  return err;
}

describe('report inputs', () => {
  it('takes a directory\'s shoal outputs by name and skips its other *.jsonl files, saying why', async () => {
    const dir = outDir('out');
    const r = await findInputs([dir]);
    assert.deepEqual(r.files, [join(dir, 'p.confs.jsonl'), join(dir, 'p.score.jsonl')]);
    assert.deepEqual(r.skipped, [
      { file: join(dir, 'broken.jsonl'), why: 'its first line is not JSON' },
      { file: join(dir, 'empty.jsonl'), why: 'it holds no rows yet' },
      { file: join(dir, 'notes.jsonl'), why: 'its first line is not a row (job, task, kind, status)' },
    ]);
  });

  it('reads a file given twice (alone and in its directory) once, and a given file whatever it holds', async () => {
    const dir = outDir('twice');
    const r = await findInputs([join(dir, 'p.score.jsonl'), dir, join(dir, 'notes.jsonl')]);
    assert.deepEqual(r.files, [join(dir, 'p.score.jsonl'), join(dir, 'p.confs.jsonl'), join(dir, 'notes.jsonl')]);
  });

  it('names a missing path, and a directory with no output, and says what to give', async () => {
    const missing = join(scratch.dir, 'nope.jsonl');
    const e1 = await rejection(findInputs([missing]));
    assert.equal(e1.code, ErrorCode.Input);
    assert.match(e1.message, new RegExp(`^${missing}: no such file or directory: give shoal outputs`));
    const bare = join(scratch.dir, 'bare');
    mkdirSync(bare);
    writeFileSync(join(bare, 'notes.jsonl'), '{"note":1}\n');
    const e2 = await rejection(findInputs([bare]));
    assert.equal(e2.code, ErrorCode.Input);
    assert.match(e2.message, new RegExp(`^${bare}: no shoal output in it .*give the out dir of a run or pipeline, or the files themselves`));
  });

  it('builds one report over a directory: both jobs, upstream first, and the skipped files', async () => {
    const dir = outDir('report');
    const r = await buildReport(dir);
    assert.equal(r.data.file, dir);
    assert.deepEqual(r.data.files, [join(dir, 'p.confs.jsonl'), join(dir, 'p.score.jsonl')]);
    assert.deepEqual(r.summary.jobs, ['p.confs', 'p.score']);
    assert.deepEqual(
      r.summary.perJob.map((j) => [j.job, j.tasks, j.startS, j.endS, j.previous, j.overlapS]),
      [
        ['p.confs', 10, 0, 0.55, null, 0],
        ['p.score', 6, 0.3, 0.65, 'p.confs', 0.25],
      ],
    );
    assert.equal(r.skipped.length, 3);
    // One file, as before: no per-job figures but its own.
    const one = await buildReport(join(dir, 'p.score.jsonl'));
    assert.equal(one.data.file, join(dir, 'p.score.jsonl'));
    assert.deepEqual(one.summary.perJob.map((j) => [j.job, j.tasks, j.previous]), [['p.score', 6, null]]);
  });
});
