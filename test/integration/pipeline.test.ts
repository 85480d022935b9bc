/**
 * `shoal pipeline FILE.yaml` embedded: stages run to their end and a second run resumes (each
 * stage found done), but not a stage whose upstream started over; bad files (a cycle, a stage
 * naming no stage, a YAML syntax error, an unknown option) are one line naming the file, the
 * stage and the field, exit 2, and nothing is submitted.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { assertOneRowPerTask, readRows, spinIds } from '../helpers/rows.js';
import { repoRoot } from '../helpers/paths.js';
import { runShoal } from '../helpers/shoal.js';
import { tempSuite } from '../helpers/suite.js';

const scratch = tempSuite('shoal-pipeline-');

describe('pipeline files', () => {
  it('runs every stage to its end, and running the file again finds them done', async () => {
    const file = join(scratch.dir, 'two.yaml');
    writeFileSync(file, ['name: demo', 'stages:', '  - name: a', '    kind: spin', '    options: { tasks: 40, ms: 1 }', '  - name: b', '    kind: spin', '    options:', '      tasks: 25', '      ms: 1', '      skew: true', ''].join('\n'));
    const out = join(scratch.dir, 'out');
    const r = await runShoal(['pipeline', file, '--out-dir', out], { cwd: scratch.dir });
    assert.equal(r.code, 0, r.describe());
    assertOneRowPerTask(readRows(join(out, 'demo.a.jsonl')), spinIds(40), { status: 'ok', job: 'demo.a' });
    assertOneRowPerTask(readRows(join(out, 'demo.b.jsonl')), spinIds(25), { status: 'ok', job: 'demo.b' });
    const again = await runShoal(['pipeline', file, '--out-dir', out], { cwd: scratch.dir });
    assert.equal(again.code, 0, again.describe());
    assert.match(again.stderr, /stage demo\.a: 40 tasks, 40 already done/);
    assert.match(again.stderr, /stage demo\.b: 25 tasks, 25 already done/);
    assert.equal(readRows(join(out, 'demo.a.jsonl')).length, 40, 'nothing ran twice');
  });

  it('a stage after another starts once it has ended; priority and after reach the jobs', async () => {
    const file = join(scratch.dir, 'chain.yaml');
    writeFileSync(file, ['name: chain', 'stages:', '  - { name: a, kind: spin, options: { tasks: 30, ms: 3 } }', '  - name: b', '    kind: spin', '    after: [a]', '    priority: 2', '    options: { tasks: 20, ms: 1 }', ''].join('\n'));
    const out = join(scratch.dir, 'chain-out');
    const r = await runShoal(['pipeline', file, '--out-dir', out, '--json'], { cwd: scratch.dir });
    assert.equal(r.code, 0, r.describe());
    const a = readRows(join(out, 'chain.a.jsonl'));
    const b = readRows(join(out, 'chain.b.jsonl'));
    assertOneRowPerTask(a, spinIds(30), { status: 'ok', job: 'chain.a' });
    assertOneRowPerTask(b, spinIds(20), { status: 'ok', job: 'chain.b' });
    const aEnd = Math.max(...a.map((x) => x.end as number));
    assert.ok(b.every((x) => (x.start as number) >= aEnd), 'b started after a ended');
    const finals = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { job: string; priority?: number });
    assert.equal(finals.find((j) => j.job === 'chain.b')?.priority, 2, r.stdout);
  });

  it('a stage fed by another (from) gets one task per upstream row, with the row value as its input', async () => {
    writeFileSync(join(scratch.dir, 'fns.py'), 'def double(x, params):\n    return int(x) * 2\n\ndef plus(x, params):\n    return x + params["k"]\n');
    writeFileSync(join(scratch.dir, 'nums.txt'), Array.from({ length: 12 }, (_, i) => String(i)).join('\n') + '\n');
    const file = join(scratch.dir, 'fed.yaml');
    writeFileSync(file, ['stages:', '  - { name: twice, kind: python, options: { fn: fns.py:double, inputs: nums.txt } }', '  - name: more', '    kind: python', '    from: twice', '    options: { fn: fns.py:plus, params: { k: 100 } }', ''].join('\n'));
    const out = join(scratch.dir, 'fed-out');
    const r = await runShoal(['pipeline', file, '--out-dir', out], { cwd: scratch.dir });
    assert.equal(r.code, 0, r.describe());
    const up = readRows(join(out, 'twice.jsonl'));
    const down = readRows(join(out, 'more.jsonl'));
    assert.equal(up.length, 12);
    assert.deepEqual(new Set(down.map((x) => x.task)), new Set(up.map((x) => x.task)), 'one downstream task per upstream row, ids from the upstream ids');
    const upValue = new Map(up.map((x) => [x.task, x.value as number]));
    for (const x of down) assert.equal(x.value, upValue.get(x.task)! + 100, x.task);
    // The upstream started over (its output removed): the stage's rows were made from another
    // run of it, so it is not resumed from them; it says which upstream and what to do.
    rmSync(join(out, 'twice.jsonl'));
    const over = await runShoal(['pipeline', file, '--out-dir', out], { cwd: scratch.dir });
    assert.equal(over.code, 2, over.describe());
    assert.match(over.stderr, /refusing to resume job 'more'.*another run of upstream job 'twice'/);
    assert.equal(readRows(join(out, 'more.jsonl')).length, 12, 'the old rows are left as they were');
  });

  it('a stage of a kind of your own runs embedded with --handlers', async () => {
    const handlers = join(repoRoot, 'examples', 'handlers', 'word-stats.mjs');
    const lines = join(scratch.dir, 'own-files.txt');
    writeFileSync(lines, ['README.md', 'ARCHITECTURE.md'].map((f) => join(repoRoot, f)).join('\n') + '\n');
    const file = join(scratch.dir, 'own.yaml');
    writeFileSync(file, ['stages:', `  - { name: words, kind: word-stats, options: { inputs: ${lines} } }`, ''].join('\n'));
    const out = join(scratch.dir, 'own-out');
    const r = await runShoal(['pipeline', file, '--out-dir', out, '--handlers', handlers], { cwd: scratch.dir });
    assert.equal(r.code, 0, r.describe());
    const rows = readRows(join(out, 'words.jsonl'));
    assert.equal(rows.length, 2, r.describe());
    assert.ok(rows.every((x) => x.status === 'ok' && x.kind === 'word-stats'), JSON.stringify(rows));
  });

  it('a bad file is one line naming where, exit 2, and nothing is submitted', async () => {
    const cases: Array<[string, string, RegExp]> = [
      ['cycle.yaml', 'stages:\n  - { name: a, kind: spin, after: [b] }\n  - { name: b, kind: spin, after: [a] }\n', /cycle\.yaml: the stages form a cycle: a → b → a/],
      ['nostage.yaml', 'stages:\n  - { name: a, kind: spin, from: zz }\n', /nostage\.yaml: stage 'a': 'zz' names no stage \(stages: a\)/],
      ['syntax.yaml', 'stages:\n  - name: a\n    kind: spin\n    options: { tasks: 5\n', /syntax\.yaml:5:1: /],
      ['option.yaml', 'stages:\n  - { name: a, kind: spin, options: { tasks: 3 } }\n  - { name: b, kind: spin, options: { taskz: 5 } }\n', /option\.yaml: stage 'b' \(spin\): unknown option '--taskz'/],
      ['field.yaml', 'stages:\n  - { name: a, kind: spin, colour: red }\n', /field\.yaml: stage 'a': unknown field 'colour'/],
    ];
    for (const [name, text, message] of cases) {
      const file = join(scratch.dir, name);
      writeFileSync(file, text);
      const out = join(scratch.dir, `out-${name}`);
      const r = await runShoal(['pipeline', file, '--out-dir', out], { cwd: scratch.dir });
      assert.equal(r.code, 2, `${name}\n${r.describe()}`);
      assert.match(r.stderr, message, name);
      assert.equal(r.stderr.trim().split('\n').filter((l) => l.startsWith('shoal:')).length, 1, `${name}: one line`);
      assert.ok(!existsSync(out) || readdirSync(out).length === 0, `${name}: nothing submitted`);
    }
  });
});
