/**
 * Resuming an output written under an earlier rule of task ids: numbered ids are zero-padded to
 * the digits of the job's size now (spin_00 of 10 tasks), where an earlier shoal padded them to
 * the digits of the last number (spin_0). An output whose rows name tasks the job no longer has
 * is refused, naming one of them; one whose ids are the same under both rules is not.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { expandJob, type TaskSource } from '../../coordinator/index.js';
import { refuseRenamedIds, strayId } from '../../coordinator/jobs/renamed-ids.js';
import { ShoalError } from '../../src/errors.js';
import { PADDED_TO_SIZE, type Kind } from '../../src/kinds/index.js';
import { spinKind } from '../../src/kinds/spin/index.js';

const dir = mkdtempSync(join(tmpdir(), 'shoal-renamed-ids-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function spinTasks(n: number): Promise<TaskSource> {
  const params = spinKind.checkParams({ tasks: n });
  return expandJob({ job: 'J', kind: 'spin', params }, spinKind as Kind<unknown>, { slots: 2, maxAgentSlots: 2 }, () => {});
}

/** An output of job J with one ok row per id. */
function output(name: string, ids: string[]): string {
  const path = join(dir, name);
  writeFileSync(path, ids.map((id) => `{"job":"J","task":"${id}","kind":"spin","status":"ok","attempt":1,"agent":"a-1","host":"a","worker":1,"start":1,"end":2,"value":{"ms":0}}\n`).join(''));
  return path;
}

const earlierIds = (n: number): string[] => Array.from({ length: n }, (_, i) => `spin_${String(i).padStart(String(n - 1).length, '0')}`);

describe('strayId', () => {
  it('finds an id that is neither a task nor a half of one', async () => {
    const tasks = await spinTasks(10);
    assert.equal(strayId(['spin_00', 'spin_09', 'spin_03/0', 'spin_03/1/1'], tasks), null);
    assert.equal(strayId(['spin_00', 'spin_9', 'spin_1'], tasks), 'spin_9');
    assert.equal(strayId(['spin_3/0'], tasks), 'spin_3/0');
    assert.equal(strayId([], tasks), null);
  });
});

describe('refuseRenamedIds', () => {
  it('refuses an output whose ids an earlier rule made, naming one and the first id now', async () => {
    const tasks = await spinTasks(10);
    assert.equal(tasks.at(0).id, 'spin_00');
    const out = output('ten.jsonl', earlierIds(10).slice(0, 4));
    await assert.rejects(refuseRenamedIds('J', out, tasks, PADDED_TO_SIZE), (e: unknown) => {
      assert.ok(e instanceof ShoalError);
      assert.equal(e.code, 'E_FINGERPRINT');
      assert.match(e.message, /such as 'spin_\d', where its first task is now 'spin_00'/);
      assert.match(e.message, /zero-padded to the digits of the job's size/);
      assert.match(e.message, new RegExp(`${out}`));
      return true;
    });
  });

  it('lets an output resume whose ids are the same under both rules, halves of split tasks and all', async () => {
    // 12 tasks: the digits of 11 and of 12 are the same.
    const tasks = await spinTasks(12);
    await refuseRenamedIds('J', output('twelve.jsonl', [...earlierIds(12).slice(0, 5), 'spin_07/0', 'spin_07/1']), tasks, PADDED_TO_SIZE);
    await refuseRenamedIds('J', join(dir, 'absent.jsonl'), tasks, PADDED_TO_SIZE);
  });
});
