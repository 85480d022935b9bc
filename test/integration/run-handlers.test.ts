/**
 * A kind of your own runs embedded: `shoal run <name> --handlers MODULE --inputs FILE` loads the
 * module in the local agent (no NATS server), as `shoal agent --handlers` does, one task per
 * record; the README's example command works as written; a name no module exports, or one
 * without --handlers, is a usage error that says what to do, and so is a built-in kind's name
 * misspelled with that kind's options.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { repoRoot } from '../helpers/paths.js';
import { assertOneRowPerTask, readRows } from '../helpers/rows.js';
import { runShoal } from '../helpers/shoal.js';
import { tempSuite } from '../helpers/suite.js';

const EXAMPLE = join(repoRoot, 'examples', 'handlers', 'word-stats.mjs');

const suite = tempSuite('shoal-run-handlers-');

describe('run <handler kind> --handlers MODULE', () => {
  it('runs one task per record of --inputs in this process, with --params, a final error as an error row', async () => {
    const docs = join(suite.dir, 'docs');
    mkdirSync(docs);
    const names: string[] = [];
    for (let i = 0; i < 12; i++) {
      names.push(`d${i}.txt`);
      writeFileSync(join(docs, `d${i}.txt`), `${'red '.repeat(i + 1)}blue\n`);
    }
    const inputs = join(suite.dir, 'files.txt');
    writeFileSync(inputs, [...names, 'gone.txt'].join('\n') + '\n');
    const out = join(suite.dir, 'ws.jsonl');
    const r = await runShoal(['run', 'word-stats', '--handlers', EXAMPLE, '--inputs', inputs, '--params', JSON.stringify({ dir: docs, top: 1 }), '--job', 'WS', '--out', out, '--workers', '2']);
    assert.equal(r.code, 1, `done with one failed task (gone.txt)\n${r.describe()}`);
    assert.match(r.stdout, /^job WS done: 12 ok, 1 failed .*of 13 tasks/m);

    const rows = readRows(out);
    assertOneRowPerTask(rows, Array.from({ length: 13 }, (_, i) => `task_${String(i).padStart(2, '0')}`), { job: 'WS' });
    for (let i = 0; i < 12; i++) {
      const row = rows.find((x) => x.task === `task_${String(i).padStart(2, '0')}`)!;
      assert.equal(row.kind, 'word-stats');
      assert.deepEqual(row.value, { file: `d${i}.txt`, lines: 1, words: i + 2, distinct: 2, top: [[i === 0 ? 'blue' : 'red', i === 0 ? 1 : i + 1]] });
    }
    const gone = rows.find((x) => x.task === 'task_12')!;
    assert.equal(gone.status, 'error');
    assert.equal(gone.error?.code, 'E_INPUT');
    assert.deepEqual(gone.input, { record: 12, line: 13, text: 'gone.txt' });
  });

  it("the README's example command works as written (from the repository root)", async () => {
    const outDir = join(suite.dir, 'readme');
    const r = await runShoal(['run', 'word-stats', '--handlers', 'examples/handlers/word-stats.mjs', '--inputs', 'examples/handlers/files.txt', '--out-dir', outDir, '--job', 'README'], { cwd: repoRoot });
    assert.equal(r.code, 0, r.describe());
    const rows = readRows(join(outDir, 'README.jsonl'));
    assert.deepEqual(rows.map((x) => (x.value as { file: string }).file).sort(), ['ARCHITECTURE.md', 'BENCHMARKS.md', 'README.md']);
    assert.ok(rows.every((x) => x.status === 'ok' && (x.value as { words: number }).words > 100), JSON.stringify(rows));
  });

  it('a kind without --handlers, or one the modules do not export, is a usage error naming what to give', async () => {
    const inputs = join(suite.dir, 'one.txt');
    writeFileSync(inputs, 'x\n');
    const none = await runShoal(['run', 'word-stats', '--inputs', inputs, '--out-dir', suite.dir]);
    assert.equal(none.code, 2, none.describe());
    assert.match(none.stderr, /^shoal: run word-stats: 'word-stats' is not a built-in kind \(.*spin.*\); for a kind of your own give --handlers MODULE/);

    const other = await runShoal(['run', 'wordstats', '--handlers', EXAMPLE, '--inputs', inputs, '--out-dir', suite.dir]);
    assert.equal(other.code, 2, other.describe());
    assert.ok(other.stderr.includes(`--handlers ${EXAMPLE} exports 'word-stats', 'sha256', not 'wordstats'`), other.describe());

    const typo = await runShoal(['run', 'spn', '--tasks', '3', '--out-dir', suite.dir]);
    assert.equal(typo.code, 2, typo.describe());
    assert.match(typo.stderr, /^shoal: run spn: unknown option '--tasks'\. 'spn' is not a built-in kind \(.*spin.*\)/);
  });

  it('run --help says that kinds from handler modules run here', async () => {
    const r = await runShoal(['run', '--help']);
    assert.equal(r.code, 0, r.describe());
    assert.match(r.stdout, /shoal run <name> --handlers MODULE/);
    assert.match(r.stdout, /shoal run word-stats --handlers examples\/handlers\/word-stats\.mjs --inputs examples\/handlers\/files\.txt/);
  });
});
