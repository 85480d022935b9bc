/**
 * Handler modules end to end over a real nats-server: an agent started with
 * `--handlers examples/handlers/word-stats.mjs` offers the module's kinds, `shoal submit
 * <name> --params JSON --inputs FILE` runs one task per line there (params reach the tasks,
 * a final error from the module is an error row), an agent without the module runs none
 * and status says why; and a module that throws while loading stops the agent with exit
 * code 2 and a message naming the module.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { repoRoot } from '../helpers/paths.js';
import { assertOneRowPerTask, readRows } from '../helpers/rows.js';
import { agentId, jobStatus, runShoal, spawnShoal, type Agent } from '../helpers/shoal.js';
import { natsSuite, type Run } from '../helpers/suite.js';

const EXAMPLE = join(repoRoot, 'examples', 'handlers', 'word-stats.mjs');

const suite = natsSuite('shoal-handlers-');

describe('handler modules', () => {
  let run: Run;
  const conn = (): string[] => suite.conn(run.ns);
  let idWith: string;
  let idWithout: string;

  before(async () => {
    run = await suite.coordinator('handlers');
    [{ id: idWithout }] = (await run.agents(1, ['--workers', '1'])) as [Agent];
    const withModule = spawnShoal(['agent', ...conn(), '--workers', '1', '--handlers', EXAMPLE]);
    const loaded = await withModule.waitForLog('handler module loaded');
    assert.deepEqual(loaded.kinds, ['word-stats', 'sha256']);
    idWith = await agentId(withModule);
  });

  it('submit <name> --params --inputs runs one task per line on the agent that has the module', async () => {
    const files: string[] = [];
    for (let i = 0; i < 30; i++) {
      const name = `doc${i}.txt`;
      files.push(name);
      writeFileSync(join(suite.dir, name), `${'alpha '.repeat(i + 3)}beta beta gamma\nsecond line\n`);
    }
    const inputs = join(suite.dir, 'inputs.txt');
    writeFileSync(inputs, [...files, 'missing.txt'].join('\n') + '\n');
    const r = await runShoal(['submit', 'word-stats', ...conn(), '--job', 'H1', '--inputs', inputs, '--params', JSON.stringify({ dir: suite.dir, top: 2 }), '--wait']);
    assert.equal(r.code, 1, `one input is missing: done with a failed task\n${r.describe()}`);

    const rows = readRows(join(run.out, 'H1.jsonl'));
    const ids = Array.from({ length: 31 }, (_, i) => `task_${String(i).padStart(2, '0')}`);
    assertOneRowPerTask(rows, ids, { job: 'H1' });
    assert.ok(rows.every((row) => row.agent === idWith && row.kind === 'word-stats'), 'only the agent with the module ran them');
    for (let i = 0; i < 30; i++) {
      const row = rows.find((x) => x.task === ids[i])!;
      assert.equal(row.status, 'ok', JSON.stringify(row));
      assert.deepEqual(row.value, { file: `doc${i}.txt`, lines: 2, words: i + 3 + 3 + 2, distinct: 5, top: [['alpha', i + 3], ['beta', 2]] });
    }
    const missing = rows.find((x) => x.task === 'task_30')!;
    assert.equal(missing.status, 'error');
    assert.deepEqual(missing.error, { code: 'E_INPUT', message: `${join(suite.dir, 'missing.txt')}: no such file` });
    assert.equal(missing.attempt, 1, 'a final error from the module is not retried');
    assert.deepEqual(missing.input, { record: 30, line: 31, text: 'missing.txt' });

    const j = await jobStatus(suite.nats.url, run.ns, 'H1');
    assert.ok((j.notes as string[]).some((n) => n.includes(`agent ${idWithout} has no handler for kind 'word-stats'`)), `notes: ${JSON.stringify(j.notes)}`);
  });

  it('a second kind of the same module runs too', async () => {
    const inputs = join(suite.dir, 'one.txt');
    writeFileSync(join(suite.dir, 'hello.txt'), 'hello\n');
    writeFileSync(inputs, 'hello.txt\n');
    const r = await runShoal(['submit', 'sha256', ...conn(), '--job', 'H2', '--inputs', inputs, '--params', JSON.stringify({ dir: suite.dir }), '--wait']);
    assert.equal(r.code, 0, r.describe());
    const [row] = readRows(join(run.out, 'H2.jsonl'));
    assert.deepEqual(row!.value, { file: 'hello.txt', bytes: 6, sha256: '5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03' });
  });

  it('submit without --inputs, or with --params that is not a JSON object, exits 2 naming the option', async () => {
    const a = await runShoal(['submit', 'word-stats', ...conn()]);
    assert.equal(a.code, 2, a.describe());
    assert.match(a.stderr, /--inputs/);
    const b = await runShoal(['submit', 'word-stats', ...conn(), '--inputs', join(suite.dir, 'one.txt'), '--params', '[1,2]']);
    assert.equal(b.code, 2, b.describe());
    assert.match(b.stderr, /--params must be a JSON object/);
  });

  it('a module that throws while loading stops the agent with exit code 2, naming the module', async () => {
    const bad = join(suite.dir, 'broken-kinds.mjs');
    writeFileSync(bad, "export const kinds = [{ name: 'x', run() {} }];\nthrow new Error('cannot find the force field');\n");
    const r = await runShoal(['agent', ...conn(), '--workers', '1', '--handlers', bad], { timeoutMs: 20_000 });
    assert.equal(r.code, 2, r.describe());
    assert.match(r.stderr, new RegExp(`--handlers ${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: the module failed to load: cannot find the force field`));
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'one line, no stack trace');
  });

  it('a module without kinds, or one that reuses a built-in name, is refused the same way', async () => {
    const empty = join(suite.dir, 'empty-kinds.mjs');
    writeFileSync(empty, 'export const answer = 42;\n');
    const clash = join(suite.dir, 'clash-kinds.mjs');
    writeFileSync(clash, "export default { name: 'spin', run() { return 1; } };\n");
    for (const [file, msg] of [
      [empty, /exports no kinds/],
      [clash, /kind 'spin' is built into shoal/],
    ] as const) {
      const r = await runShoal(['agent', ...conn(), '--workers', '1', '--handlers', file], { timeoutMs: 20_000 });
      assert.equal(r.code, 2, r.describe());
      assert.match(r.stderr, msg);
      assert.ok(r.stderr.includes(file), r.describe());
    }
  });
});
