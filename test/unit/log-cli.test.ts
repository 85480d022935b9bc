/**
 * What the command line says when a log option, an option value or a file is wrong: one line
 * that names what to give instead, exit code 2, and no log entry repeating it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { LOG_LEVELS } from '../../src/log.js';
import { runShoal } from '../helpers/shoal.js';

const dir = mkdtempSync(join(tmpdir(), 'shoal-log-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const lines = (text: string): string[] => text.split('\n').filter((l) => l.trim() !== '');

for (const command of [['run', 'spin'], ['coordinator'], ['agent'], ['pipeline', 'p.yaml']]) {
  test(`shoal ${command.join(' ')} --log-level chatty: exit 2, one line listing every level`, async () => {
    const r = await runShoal([...command, '--log-level', 'chatty'], { cwd: dir });
    assert.equal(r.code, 2, r.describe());
    const said = lines(r.stderr);
    assert.equal(said.length, 1, r.describe());
    assert.match(said[0]!, /^shoal: --log-level .*'chatty'/, r.describe());
    for (const level of LOG_LEVELS) assert.ok(said[0]!.includes(`'${level}'`), `${level} missing: ${said[0]}`);
  });
}

test('--log-format xml: exit 2 naming auto, json and pretty', async () => {
  const r = await runShoal(['run', 'spin', '--log-format', 'xml'], { cwd: dir });
  assert.equal(r.code, 2, r.describe());
  assert.match(r.stderr, /--log-format must be 'auto', 'json' or 'pretty', got 'xml'/, r.describe());
});

test('--granularity xyz: exit 2 naming auto, task and a number of tasks', async () => {
  const r = await runShoal(['run', 'spin', '--granularity', 'xyz'], { cwd: dir });
  assert.equal(r.code, 2, r.describe());
  assert.match(r.stderr, /--granularity must be 'auto', 'task' or an integer >= 1, got 'xyz'/, r.describe());
});

test('an input file that is not there: one line naming it, not a log entry and then the same words', async () => {
  const r = await runShoal(['run', 'frames', '--traj', 'missing.dcd', '--top', 'missing.pdb'], { cwd: dir });
  assert.equal(r.code, 2, r.describe());
  const said = lines(r.stderr);
  assert.equal(said.length, 1, r.describe());
  assert.match(said[0]!, /^shoal: .*missing\.dcd/, r.describe());
});

test('--spawn-nats with NATS_SERVER_BIN naming no file: exit 2, one line naming NATS_SERVER_BIN', async () => {
  const bin = join(dir, 'no-nats-server');
  const r = await runShoal(['coordinator', '--spawn-nats', '--listen', '127.0.0.1:1'], { cwd: dir, env: { NATS_SERVER_BIN: bin } });
  assert.equal(r.code, 2, r.describe());
  const said = lines(r.stderr);
  assert.equal(said.length, 1, r.describe());
  assert.ok(said[0]!.startsWith(`shoal: NATS_SERVER_BIN is '${bin}', which does not exist`), r.describe());
});
