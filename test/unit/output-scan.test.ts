/**
 * The output scan, `verifyOutput` and `repairOutput` on crafted files: what counts as a row,
 * each problem with its count and line numbers, the torn tail the sink cuts on resume, and a
 * repair that keeps exactly the first complete set per task and moves the rest aside byte
 * for byte.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ErrorCode, ShoalError } from '../../src/errors.js';
import { formatProblems, repairOutput, scanJournal, scanOutput, verifyOutput, type OutputProblems, type Segment } from '../../src/sink/index.js';
import { errorRow, okRow, type RowHead } from '../../src/rows/index.js';

const dir = mkdtempSync(join(tmpdir(), 'shoal-output-scan-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

/** Writes `text` to a fresh file in its own directory (so rejected files and temps are easy to list). */
function file(text: string): string {
  const d = join(dir, `f${++files}`);
  mkdirSync(d);
  const p = join(d, 'out.jsonl');
  writeFileSync(p, text);
  return p;
}

const head = (task: string, job = 'J'): RowHead => ({ job, task, kind: 'spin', attempt: 1, agent: 'a-1', host: 'a', worker: 1, start: 1, end: 2 });
/** A single-row task's row. */
const ok = (task: string, job = 'J'): string => okRow(head(task, job), '{"ms":1}');
const err = (task: string): string => errorRow(head(task), { code: 'E_TASK', message: 'boom' });
/** The row of record `index` (a frame number, say) of a task with `of` rows. */
const rec = (task: string, index: number, of: number, status: 'ok' | 'error' = 'ok'): string =>
  status === 'ok' ? okRow(head(task), String(index), { index, of }) : errorRow(head(task), { code: 'E_TASK', message: 'boom' }, { index, of });
const set = (task: string, of: number): string[] => Array.from({ length: of }, (_, i) => rec(task, 100 + i, of));

const none = { count: 0, lines: [] };

async function expectInputError(p: Promise<unknown>, path: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => e instanceof ShoalError && e.code === ErrorCode.Input && e.message.includes(path));
}

describe('scan: rows and problems', () => {
  it('a clean file: single rows, an error row, record sets numbered by frame and in any order', async () => {
    const lines = [ok('a'), err('b'), rec('f', 40, 3), rec('f', 41, 3, 'error'), rec('f', 42, 3), rec('e', 9, 2), rec('e', 3, 2), rec('g', 0, 1)];
    const r = await verifyOutput(file(lines.join('')), { job: 'J' });
    assert.equal(r.clean, true);
    assert.deepEqual([r.lines, r.rows, r.tasks, r.okTasks, r.errorTasks, r.errorRows], [8, 8, 5, 3, 2, 2]);
    assert.deepEqual(r.problems, { foreign: none, duplicates: none, incomplete: none });
    assert.deepEqual(r.torn, { bytes: 0, line: null });
    assert.equal(r.firstLine, 'row');
    assert.equal(r.firstJob, 'J');
  });

  it('garbage and lines that are almost rows are foreign, with the first five line numbers', async () => {
    const lines = [ok('a'), 'garbage\n', '\n', '[1,2]\n', '{"job":"J","task":"x","status":"ok"}\n', ok('b'), '{"job":"J","task":"y","kind":"k","status":"maybe"}\n', '{"job":"J","task":"z","kind":"k","status":"ok","index":"3","of":3}\n', '{"job":"J","task":"w","kind":"k","status":"ok","index":1,"of":0}\n'];
    const r = await verifyOutput(file(lines.join('')), { job: 'J' });
    assert.deepEqual(r.problems.foreign, { count: 7, lines: [2, 3, 4, 5, 7] });
    assert.equal(r.rows, 2);
    assert.equal(r.clean, false);
    assert.deepEqual(r.torn, { bytes: 0, line: null }, 'foreign lines are complete lines, never a torn tail');
  });

  it('a row of another job is foreign', async () => {
    const r = await verifyOutput(file([ok('a'), ok('a', 'K'), ok('b')].join('')), { job: 'J' });
    assert.deepEqual(r.problems.foreign, { count: 1, lines: [2] });
    assert.equal(r.tasks, 2);
  });

  it('a duplicate single row: the first is kept, the later one counted with its line', async () => {
    const s = await scanOutput(file([ok('a'), ok('b'), err('a')].join('')), { job: 'J' });
    assert.deepEqual(s.problems.duplicates, { count: 1, lines: [3] });
    assert.equal(s.done.get('a'), 'ok', 'the first row decides');
    assert.deepEqual([s.rows, s.keptRows, s.okTasks, s.errorTasks], [3, 2, 2, 0]);
  });

  it('a duplicate multi-record set counts its rows', async () => {
    const r = await verifyOutput(file([...set('f', 3), ok('b'), ...set('f', 3)].join('')), { job: 'J' });
    assert.deepEqual(r.problems.duplicates, { count: 3, lines: [5, 6, 7] });
    assert.deepEqual([r.rows, r.tasks], [4, 2]);
  });

  it('an interrupted set, a lone record and a set that started over are incomplete', async () => {
    const lines = [ok('a'), rec('f', 100, 3), rec('f', 101, 3), ok('b'), rec('g', 5, 2), ok('c'), rec('h', 7, 2), rec('h', 7, 2), rec('h', 8, 2)];
    const s = await scanOutput(file(lines.join('')), { job: 'J' });
    assert.deepEqual(s.problems.incomplete, { count: 4, lines: [2, 3, 5, 7] });
    assert.deepEqual([...s.done.keys()], ['a', 'b', 'c', 'h']);
    assert.equal(s.repairedBytes, 0);
    assert.equal(s.foreign, 0);
  });

  it('a torn last line is the torn tail, not a problem; scanJournal cuts exactly it', async () => {
    const whole = ok('a') + ok('b');
    const torn = ok('c').slice(0, 30);
    const p = file(whole + torn);
    const r = await verifyOutput(p, { job: 'J' });
    assert.deepEqual(r.torn, { bytes: Buffer.byteLength(torn), line: 3 });
    assert.deepEqual(r.problems, { foreign: none, duplicates: none, incomplete: none });
    assert.equal(r.clean, false);
    const j = await scanJournal(p, 'J', true);
    assert.equal(j.repairedBytes, Buffer.byteLength(torn));
    assert.equal(readFileSync(p, 'utf8'), whole);
  });

  it('a trailing incomplete set (and a fragment after it) is the torn tail', async () => {
    const whole = ok('a') + ok('a');
    const tail = rec('f', 10, 3) + rec('f', 11, 3) + rec('g', 1, 2) + '{"job":"J","ta';
    const p = file(whole + tail);
    const s = await scanJournal(p, 'J', true);
    assert.equal(s.repairedBytes, Buffer.byteLength(tail));
    assert.equal(s.tornLine, 3);
    assert.deepEqual(s.problems.incomplete, none, 'unfinished rows at the very end are not incomplete');
    assert.deepEqual(s.problems.duplicates, { count: 1, lines: [2] });
    assert.equal(s.rows, 2, 'rows of complete tasks, duplicates included (they stay in the file)');
    assert.equal(readFileSync(p, 'utf8'), whole, 'the duplicate stays: only the torn tail is cut on resume');
  });

  it('an empty file, a missing file', async () => {
    const r = await verifyOutput(file(''), { job: 'J' });
    assert.equal(r.firstLine, 'none');
    assert.equal(r.clean, true);
    assert.equal(r.lines, 0);
    const missing = join(dir, 'no-such.jsonl');
    await expectInputError(verifyOutput(missing), missing);
    await expectInputError(repairOutput(missing), missing);
    const j = await scanJournal(missing, 'J', true);
    assert.deepEqual([j.exists, j.rows, j.done.size, j.firstLine], [false, 0, 0, 'none']);
    assert.equal(existsSync(missing), false);
  });

  it("a file whose first line is not a row is 'other'; a first row torn mid-line is still a row", async () => {
    const s = await scanOutput(file('hello\n' + ok('a', 'K')));
    assert.deepEqual([s.firstLine, s.firstJob, s.job], ['other', 'K', 'K']);
    assert.deepEqual(s.problems.foreign, { count: 1, lines: [1] });
    assert.equal((await scanOutput(file('hello'))).firstLine, 'other');
    assert.equal((await scanOutput(file(ok('a', 'K').slice(0, 20)))).firstLine, 'row');
    assert.equal((await scanOutput(file(ok('a', 'K')))).firstLine, 'row');
  });

  it('the job: the option, else the job record beside the file, else the first row', async () => {
    const p = file(ok('a', 'K') + ok('b', 'J'));
    assert.deepEqual([(await verifyOutput(p)).job, (await verifyOutput(p)).jobFrom], ['K', 'first-row']);
    writeFileSync(p.replace(/\.jsonl$/, '.job.json'), JSON.stringify({ job: 'J', kind: 'spin' }));
    const r = await verifyOutput(p);
    assert.deepEqual([r.job, r.jobFrom, r.problems.foreign.lines], ['J', 'job-record', [1]]);
    assert.deepEqual([(await verifyOutput(p, { job: 'K' })).jobFrom, (await verifyOutput(p, { job: 'K' })).rows], ['option', 1]);
  });

  it('CRLF lines are rows, and offsets stay exact', async () => {
    const lines = [ok('a').replace('\n', '\r\n'), 'junk\r\n', ok('b')];
    const p = file(lines.join(''));
    const r = await repairOutput(p, { job: 'J' });
    assert.equal(r.kept.rows, 2);
    assert.equal(readFileSync(p, 'utf8'), lines[0]! + lines[2]!);
    assert.equal(readFileSync(r.rejectedPath!, 'utf8'), 'junk\r\n');
  });

  it('formats problems as one line', () => {
    const p: OutputProblems = { foreign: { count: 2, lines: [3, 9] }, duplicates: { count: 1, lines: [40] }, incomplete: none };
    assert.equal(formatProblems(p, 'J'), '2 lines that are not rows of job J (first at lines 3, 9), 1 duplicate row (line 40)');
    assert.equal(formatProblems({ foreign: { count: 1, lines: [1] }, duplicates: none, incomplete: { count: 7, lines: [2, 3, 4, 5, 6] } }, null), '1 line that is not a row (line 1), 7 rows of incomplete record sets (first at lines 2, 3, 4, 5, 6)');
    assert.equal(formatProblems({ foreign: none, duplicates: none, incomplete: none }, 'J'), 'no problems');
  });
});

/** The temp files a repair may have left in a file's directory. */
const leftovers = (p: string): string[] => readdirSync(join(p, '..')).filter((f) => f.startsWith('.'));

describe('repair', () => {
  // [line, kept?] in file order: every kind of problem, and a torn tail at the end.
  const messy: Array<[string, boolean]> = [
    [ok('a'), true],
    ['garbage\n', false],
    [rec('f', 20, 2), true],
    [rec('f', 21, 2), true],
    [ok('a'), false],
    [rec('g', 30, 3), false],
    [rec('g', 31, 3), false],
    [ok('x', 'K'), false],
    [err('b'), true],
    [rec('f', 20, 2), false],
    [rec('f', 21, 2), false],
    [ok('c'), true],
    [rec('h', 40, 2), false],
    ['{"job":"J","task":"d"', false],
  ];
  const text = (keep: boolean): string => messy.filter(([, k]) => k === keep).map(([l]) => l).join('');

  it('keeps exactly the first complete set per task in order and moves the other lines byte for byte', async () => {
    const p = file(messy.map(([l]) => l).join(''));
    const r = await repairOutput(p, { job: 'J' });
    assert.equal(r.repaired, true);
    assert.equal(readFileSync(p, 'utf8'), text(true));
    assert.equal(r.rejectedPath, `${p}.rejected`);
    assert.equal(readFileSync(r.rejectedPath, 'utf8'), text(false));
    assert.deepEqual(r.kept, { rows: 5, tasks: 4, okTasks: 3, errorTasks: 1 });
    assert.deepEqual(r.rejected.foreign, { count: 2, lines: [2, 8] });
    assert.deepEqual(r.rejected.duplicates, { count: 3, lines: [5, 10, 11] });
    assert.deepEqual(r.rejected.incomplete, { count: 2, lines: [6, 7] });
    assert.deepEqual(r.rejected.torn, { bytes: Buffer.byteLength(rec('h', 40, 2) + messy.at(-1)![0]), line: 13 });
    assert.equal(r.rejected.lines, 9);
    assert.equal(r.rejected.bytes, Buffer.byteLength(text(false)));
    assert.deepEqual(leftovers(p), []);

    const again = await repairOutput(p, { job: 'J' });
    assert.deepEqual([again.repaired, again.rejectedPath, again.rejected.lines], [false, null, 0]);
    assert.equal(existsSync(`${p}.rejected.2`), false, 'nothing to reject: nothing written');
    assert.equal(readFileSync(p, 'utf8'), text(true));
    assert.equal((await verifyOutput(p, { job: 'J' })).clean, true);
  });

  it('a second rejected file is numbered', async () => {
    const p = file(ok('a') + 'junk\n');
    writeFileSync(`${p}.rejected`, 'earlier\n');
    const r = await repairOutput(p, { job: 'J' });
    assert.equal(r.rejectedPath, `${p}.rejected.2`);
    assert.equal(readFileSync(`${p}.rejected`, 'utf8'), 'earlier\n');
    assert.equal(readFileSync(`${p}.rejected.2`, 'utf8'), 'junk\n');
  });

  it('refuses a file with no row of the job, leaving it untouched and no temp file behind', async () => {
    const original = ok('a') + 'junk\n' + ok('b');
    const p = file(original);
    await assert.rejects(repairOutput(p, { job: 'other' }), (e: unknown) => e instanceof ShoalError && e.code === ErrorCode.Input && /no row of job other/.test(e.message));
    assert.equal(readFileSync(p, 'utf8'), original);
    assert.deepEqual(readdirSync(join(p, '..')), ['out.jsonl']);
  });

  it('random files: segments cover the file in order, and repair then verify is clean', async () => {
    let seed = 12345;
    const rand = (n: number): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8) % n;
    for (let round = 0; round < 40; round++) {
      const parts: string[] = [];
      for (let i = 0, n = rand(60); i < n; i++) {
        const task = `t${rand(12)}`;
        const pick = rand(10);
        if (pick < 4) parts.push(ok(task));
        else if (pick < 6) parts.push(...set(task, 1 + rand(3)));
        else if (pick === 6) parts.push(rec(task, rand(3), 3));
        else if (pick === 7) parts.push(ok(task, 'K'));
        else if (pick === 8) parts.push('x'.repeat(rand(5)) + '\n');
        else parts.push(err(task));
      }
      if (rand(3) === 0) parts.push(ok('z').slice(0, 1 + rand(20)));
      const original = parts.join('');
      const p = file(original);
      const segs: Segment[] = [];
      const s = await scanOutput(p, { job: 'J', onSegment: (g) => segs.push(g) });
      let at = 0;
      let line = 1;
      for (const g of segs) {
        assert.deepEqual([g.start, g.line], [at, line], `round ${round}: segments are contiguous`);
        assert.ok(g.end > g.start && g.lines > 0);
        at = g.end;
        line += g.lines;
      }
      assert.equal(at, Buffer.byteLength(original));
      const count = (v: Segment['verdict']): number => segs.filter((g) => g.verdict === v).reduce((t, g) => t + g.lines, 0);
      assert.deepEqual([count('kept'), count('foreign'), count('duplicate'), count('incomplete')], [s.keptRows, s.problems.foreign.count, s.problems.duplicates.count, s.problems.incomplete.count]);
      assert.equal(segs.filter((g) => g.verdict === 'torn').reduce((t, g) => t + g.end - g.start, 0), s.repairedBytes);

      const r = await repairOutput(p, { job: 'J' }).catch((e: Error) => e);
      if (r instanceof Error) {
        assert.ok(s.keptRows === 0 && s.problems.foreign.count > 0, `round ${round}: ${r.message}`);
        continue;
      }
      const kept = readFileSync(p, 'utf8');
      const rejected = r.rejectedPath ? readFileSync(r.rejectedPath, 'utf8') : '';
      assert.equal(kept.length + rejected.length, original.length);
      assert.equal((await verifyOutput(p, { job: 'J' })).clean, true, `round ${round}`);
      assert.equal((await verifyOutput(p, { job: 'J' })).rows, s.keptRows);
    }
  });
});
