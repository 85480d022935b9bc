/**
 * Resuming by content: `shoal run` again after the inputs were touched, or copied to another
 * path, resumes (only the missing tasks run); one changed byte is refused naming the file, a
 * changed option naming it with its old and new value. A stage resumes beside its touched
 * upstream, and records of an earlier shoal (no content hashes) still resume, stages and all.
 * An output whose task ids an earlier shoal padded otherwise is refused; one whose ids did not
 * change resumes.
 * A coordinator restarted after the inputs of its running job were touched resumes the job.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { legacyFingerprint, type JobRecord } from '../../coordinator/index.js';
import { killHard, rowsSoFar } from '../helpers/faults.js';
import { repoRoot } from '../helpers/paths.js';
import { assertOneRowPerTask, readRows, spinIds } from '../helpers/rows.js';
import { runShoal, startCoordinator } from '../helpers/shoal.js';
import { natsSuite } from '../helpers/suite.js';
import { until } from '../helpers/wait.js';

const suite = natsSuite('shoal-resume-content-');

/** Sets the file's mtime a minute later than it is: a `touch` that any file system's granularity shows. */
function touch(path: string): void {
  const later = Date.now() / 1000 + 60 + Math.random();
  utimesSync(path, later, later);
}

function copyTo(dir: string, ...files: string[]): string[] {
  mkdirSync(dir, { recursive: true });
  return files.map((f) => {
    const to = join(dir, f.slice(f.lastIndexOf('/') + 1));
    copyFileSync(f, to);
    return to;
  });
}

const readRecord = (path: string): JobRecord => JSON.parse(readFileSync(path, 'utf8')) as JobRecord;

/** Rewrites a job record as an earlier shoal wrote it: no content hashes, mtimes to the millisecond, the fingerprint by path, size and mtime. */
function asEarlierShoal(path: string): JobRecord {
  const r = readRecord(path);
  const inputs = r.inputs.map(({ path: p, size, mtimeMs }) => ({ path: p, size, mtimeMs: Math.round(mtimeMs) }));
  const { fingerprintBy: _by, run: _run, ...rest } = r;
  const old: JobRecord = { ...rest, inputs, fingerprint: legacyFingerprint(r.kind, r.params, inputs, r.upstream) };
  writeFileSync(path, JSON.stringify(old, null, 2) + '\n');
  return old;
}

describe('resume by content, embedded', () => {
  const REF = join(repoRoot, 'examples', 'conformers', 'ref.sdf');
  const GEN = join(repoRoot, 'examples', 'conformers', 'gen.sdf');

  it('resumes after a touch and from a copy; refuses a changed byte and a changed option, naming them', async () => {
    const [ref, gen] = copyTo(join(suite.dir, 'conf'), REF, GEN) as [string, string];
    const out = join(suite.dir, 'conf-out', 'c.jsonl');
    const run = (r: string, g: string, more: string[] = []): ReturnType<typeof runShoal> =>
      runShoal(['run', 'conformers', '--ref', r, '--gen', g, '--out', out, '--workers', '2', ...more], { cwd: suite.dir, timeoutMs: 120_000 });
    const first = await run(ref, gen);
    assert.equal(first.code, 0, first.describe());
    const rows = readRows(out).length;
    assert.ok(rows >= 12, `one row per molecule at least (${rows})`);

    touch(ref);
    const touched = await run(ref, gen);
    assert.equal(touched.code, 0, touched.describe());
    assert.match(touched.stderr, new RegExp(`resuming .*: ${rows} of ${rows} tasks already in`));

    const [ref2, gen2] = copyTo(join(suite.dir, 'scratch'), ref, gen) as [string, string];
    const copied = await run(ref2, gen2);
    assert.equal(copied.code, 0, copied.describe());
    assert.match(copied.stderr, new RegExp(`resuming .*: ${rows} of ${rows} tasks already in`));
    assert.equal(readRows(out).length, rows, 'nothing ran twice');

    // One byte of a coordinate, same size.
    const text = readFileSync(ref2, 'latin1');
    const at = text.indexOf('0.', text.indexOf('\n', text.indexOf('\n', text.indexOf('\n') + 1) + 1));
    writeFileSync(ref2, text.slice(0, at) + (text[at] === '0' ? '1' : '0') + text.slice(at + 1), 'latin1');
    touch(ref2);
    const changed = await run(ref2, gen2);
    assert.equal(changed.code, 2, changed.describe());
    assert.match(changed.stderr, new RegExp(`refusing to resume job .*: input ${ref2.replace(/[.]/g, '\\.')} changed content \\(same size, \\d+ bytes\\)`));
    assert.doesNotMatch(changed.stderr, /gen\.sdf/, 'the unchanged file is not named');

    const option = await run(ref, gen, ['--threshold', '1']);
    assert.equal(option.code, 2, option.describe());
    assert.match(option.stderr, /refusing to resume job .*: --threshold was 0\.75, now 1\./);
    assert.equal(readRows(out).length, rows, 'the refused runs wrote nothing');
  });

  it('runs the missing tasks of a records job from a touched copy of its inputs', async () => {
    const src = join(suite.dir, 'py');
    mkdirSync(src, { recursive: true });
    const n = 30;
    writeFileSync(join(src, 'words.txt'), Array.from({ length: n }, (_, i) => `w${i}`).join('\n') + '\n');
    writeFileSync(join(src, 'fns.py'), 'def up(x, params):\n    return x.upper()\n');
    const out = join(suite.dir, 'py-out', 'p.jsonl');
    const run = (dir: string): ReturnType<typeof runShoal> =>
      runShoal(['run', 'python', '--fn', 'fns.py:up', '--inputs', 'words.txt', '--out', out, '--job', 'up', '--workers', '2'], { cwd: dir, timeoutMs: 120_000 });
    const first = await run(src);
    assert.equal(first.code, 0, first.describe());
    // Only the first 10 rows were written before it stopped.
    const lines = readFileSync(out, 'utf8').split('\n').slice(0, 10);
    writeFileSync(out, lines.join('\n') + '\n');
    const copy = join(suite.dir, 'py-copy');
    copyTo(copy, join(src, 'words.txt'), join(src, 'fns.py')).forEach(touch);
    // --cwd counts (programs find their files there): the copy runs with the one it was made with.
    const again = await runShoal(['run', 'python', '--fn', join(copy, 'fns.py:up'), '--inputs', join(copy, 'words.txt'), '--out', out, '--job', 'up', '--workers', '2', '--cwd', src], { cwd: copy, timeoutMs: 120_000 });
    assert.equal(again.code, 0, again.describe());
    assert.match(again.stderr, new RegExp(`resuming up: 10 of ${n} tasks already in`));
    const rows = readRows(out);
    assertOneRowPerTask(rows, Array.from({ length: n }, (_, i) => `in_${String(i).padStart(2, '0')}`), { status: 'ok', job: 'up' });
    assert.deepEqual(rows.map((r) => r.value).sort(), Array.from({ length: n }, (_, i) => `W${i}`).sort());
    const cwd = await runShoal(['run', 'python', '--fn', join(copy, 'fns.py:up'), '--inputs', join(copy, 'words.txt'), '--out', out, '--job', 'up'], { cwd: copy, timeoutMs: 120_000 });
    assert.equal(cwd.code, 2, cwd.describe());
    assert.match(cwd.stderr, new RegExp(`--cwd was ${src}, now ${copy}`));
  });

  it('a stage resumes beside its touched upstream, and records of an earlier shoal resume and are brought up to date', async () => {
    writeFileSync(join(suite.dir, 'fns2.py'), 'def double(x, params):\n    return int(x) * 2\n\ndef plus(x, params):\n    return x + params["k"]\n');
    writeFileSync(join(suite.dir, 'nums.txt'), Array.from({ length: 12 }, (_, i) => String(i)).join('\n') + '\n');
    const file = join(suite.dir, 'fed.yaml');
    writeFileSync(file, ['stages:', '  - { name: twice, kind: python, options: { fn: fns2.py:double, inputs: nums.txt } }', '  - name: more', '    kind: python', '    from: twice', '    options: { fn: fns2.py:plus, params: { k: 100 } }', ''].join('\n'));
    const out = join(suite.dir, 'fed-out');
    const pipeline = (): ReturnType<typeof runShoal> => runShoal(['pipeline', file, '--out-dir', out], { cwd: suite.dir, timeoutMs: 120_000 });
    const first = await pipeline();
    assert.equal(first.code, 0, first.describe());
    const done = (r: Awaited<ReturnType<typeof runShoal>>): void => {
      assert.equal(r.code, 0, r.describe());
      assert.match(r.stderr, /stage twice: 12 tasks, 12 already done/);
      assert.match(r.stderr, /stage more: 12 tasks, 12 already done/);
    };
    touch(join(suite.dir, 'nums.txt'));
    touch(join(suite.dir, 'fns2.py'));
    done(await pipeline());

    // As an earlier shoal left them: the upstream's run was named by its old fingerprint, and the stage's record names that run.
    const upFile = join(out, 'twice.job.json');
    const stageFile = join(out, 'more.job.json');
    const up = asEarlierShoal(upFile);
    const run = `${up.fingerprint}@${up.createdAt}`;
    const stage = readRecord(stageFile);
    writeFileSync(stageFile, JSON.stringify({ ...stage, upstream: { job: 'twice', run } }, null, 2) + '\n');
    asEarlierShoal(stageFile);
    done(await pipeline());
    const upNow = readRecord(upFile);
    const stageNow = readRecord(stageFile);
    assert.equal(upNow.fingerprintBy, 'content');
    assert.ok(upNow.inputs.every((i) => typeof i.sha256 === 'string'), 'the inputs are hashed now');
    assert.equal(upNow.run, run, 'the upstream keeps the name of the run that made its rows');
    assert.equal(stageNow.upstream?.run, run);
    // From now on a touch resumes these too.
    touch(join(suite.dir, 'nums.txt'));
    done(await pipeline());
    assert.equal(readRows(join(out, 'more.jsonl')).length, 12, 'nothing ran twice');
  });
});

describe('resume after the rule of task ids changed', () => {
  /** Rewrites an output and its record as a shoal that padded ids to the digits of the last task number left them. */
  function asEarlierIds(out: string, n: number): void {
    const width = String(n - 1).length;
    const text = readFileSync(out, 'utf8').replace(/"task":"spin_(\d+)"/g, (_, d: string) => `"task":"spin_${String(Number(d)).padStart(width, '0')}"`);
    writeFileSync(out, text);
    const recFile = out.replace(/\.jsonl$/, '.job.json');
    const { ids, ...rec } = readRecord(recFile);
    assert.equal(ids, 'padded-to-size', 'precondition: the record names the rule of its ids');
    writeFileSync(recFile, JSON.stringify(rec, null, 2) + '\n');
  }

  it('refuses an output whose ids an earlier shoal padded otherwise, and resumes one whose ids are the same', async () => {
    const run = (n: number, out: string): ReturnType<typeof runShoal> =>
      runShoal(['run', 'spin', '--tasks', String(n), '--out', out, '--job', `ids${n}`, '--workers', '2'], { cwd: suite.dir, timeoutMs: 120_000 });
    // 10 tasks: spin_00..spin_09 now, spin_0..spin_9 before.
    const ten = join(suite.dir, 'ids', 'ten.jsonl');
    assert.equal((await run(10, ten)).code, 0);
    assertOneRowPerTask(readRows(ten), spinIds(10));
    asEarlierIds(ten, 10);
    const before = readFileSync(ten, 'utf8');
    const refused = await run(10, ten);
    assert.equal(refused.code, 2, refused.describe());
    assert.match(refused.stderr, /refusing to resume job 'ids10' into .*ten\.jsonl: its rows name tasks this job does not have \(such as 'spin_\d', where its first task is now 'spin_00'\)/);
    assert.equal(readFileSync(ten, 'utf8'), before, 'the refused run wrote nothing');
    // 12 tasks: spin_00..spin_11 under both rules.
    const twelve = join(suite.dir, 'ids', 'twelve.jsonl');
    assert.equal((await run(12, twelve)).code, 0);
    asEarlierIds(twelve, 12);
    const resumed = await run(12, twelve);
    assert.equal(resumed.code, 0, resumed.describe());
    assert.match(resumed.stderr, /resuming ids12: 12 of 12 tasks already in/);
    assert.equal(readRows(twelve).length, 12, 'nothing ran twice');
    assert.equal(readRecord(twelve.replace(/\.jsonl$/, '.job.json')).ids, 'padded-to-size', 'the record names the rule now');
  });
});

describe('resume by content after a restart', () => {
  it('a coordinator restarted after the inputs were touched resumes the job on them', async () => {
    writeFileSync(join(suite.dir, 'slow.py'), 'import time\n\ndef slow(x, params):\n    time.sleep(0.1)\n    return {"word": x}\n');
    const words = join(suite.dir, 'slow-words.txt');
    const n = 40;
    writeFileSync(words, Array.from({ length: n }, (_, i) => `w${i}`).join('\n') + '\n');
    const run = await suite.coordinator('restart', [], { out: join(suite.dir, 'restart-out') });
    const [agent] = await run.agents(1, ['--workers', '1', '--allow-command']);
    const conn = suite.conn(run.ns);
    const submitted = await runShoal(['submit', 'python', '--fn', 'slow.py:slow', '--job', 'S', '--inputs', words, '--granularity', 'task', ...conn], { cwd: suite.dir });
    assert.equal(submitted.code, 0, submitted.describe());
    const out = join(run.out, 'S.jsonl');
    await until('a few rows of S', () => rowsSoFar(out).length >= 3, 60_000);
    await killHard(agent!.proc);
    await killHard(run.coord);
    assert.ok(rowsSoFar(out).length < n, 'precondition: S was still running at the kill');
    touch(words);
    const second = await startCoordinator(suite.nats.url, run.ns, run.out);
    try {
      await second.waitForLog((l) => l.msg === 'resuming job after restart' && l.job === 'S');
      await run.agents(1, ['--workers', '2', '--allow-command']);
      const end = await run.ctl.waitEnd('S', 120_000);
      assert.equal(end.state, 'done', JSON.stringify(end));
      const rows = readRows(out);
      assert.equal(rows.length, n);
      assert.equal(new Set(rows.map((r) => r.task)).size, n, 'no task twice');
      assert.ok(rows.every((r) => r.status === 'ok'), JSON.stringify(rows.find((r) => r.status !== 'ok')));
      assert.ok(!second.logs.some((l) => l.msg === 'cannot resume job'), 'resumed');
    } finally {
      second.kill('SIGTERM');
      await second.exited;
    }
  });
});
