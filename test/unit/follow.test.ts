/**
 * The summary's rows read back while the job runs (src/sink/follow.ts): rows already in the file
 * and rows made durable later are all given once, in file order, only the job's own; those
 * durable before the end are read before it while the event loop is idle; a last line without
 * a newline and a line longer than a step are whole; `stop` ends the rows at once.
 */
import assert from 'node:assert/strict';
import { appendFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { RowFollower } from '../../src/sink/follow.js';
import { tempSuite } from '../helpers/suite.js';
import { until } from '../helpers/wait.js';

const scratch = tempSuite('shoal-follow-');
let files = 0;

const row = (job: string, i: number, pad = 0): string => JSON.stringify({ job, task: `t${i}`, kind: 'spin', status: 'ok', attempt: 1, value: { ms: i, pad: 'x'.repeat(pad) } }) + '\n';

/** Collects the follower's rows as they come. */
function collect(f: RowFollower): { rows: Array<Record<string, unknown>>; done: Promise<void> } {
  const rows: Array<Record<string, unknown>> = [];
  const done = (async () => {
    for await (const r of f.rows()) rows.push(r);
  })();
  return { rows, done };
}

describe('the summary\'s rows, read as they become durable', () => {
  it('gives the rows in the file and those made durable later once each, in order, only the job\'s; reads them before the end', async () => {
    const path = join(scratch.dir, `out-${files++}.jsonl`);
    // Rows of an earlier run (a resumed output), then another job's line.
    let text = '';
    for (let i = 0; i < 5000; i++) text += row('J', i, 200);
    text += row('other', 0);
    writeFileSync(path, text);
    let durable = statSync(path).size;
    const f = new RowFollower(path, () => durable, (r) => r.job === 'J');
    const got = collect(f);
    // Commits of this run, each made durable and said.
    for (let c = 0; c < 4; c++) {
      let more = '';
      for (let i = 0; i < 5000; i++) more += row('J', 5000 * (c + 1) + i, 200);
      appendFileSync(path, more);
      durable = statSync(path).size;
      f.advanced();
    }
    await until('rows read before the job ends', () => got.rows.length >= 10000);
    appendFileSync(path, row('J', 25000));
    durable = statSync(path).size;
    f.end();
    await got.done;
    assert.deepEqual(got.rows.map((r) => r.task), Array.from({ length: 25001 }, (_, i) => `t${i}`));
  });

  it('a last line without its newline and a line longer than a step are given whole', async () => {
    const path = join(scratch.dir, `out-${files++}.jsonl`);
    const long = row('J', 1, 3 << 20);
    writeFileSync(path, row('J', 0) + long + row('J', 2).trimEnd());
    const f = new RowFollower(path, () => statSync(path).size, () => true);
    const got = collect(f);
    f.advanced();
    f.end();
    await got.done;
    assert.deepEqual(got.rows.map((r) => r.task), ['t0', 't1', 't2']);
    assert.equal(((got.rows[1]!.value as { pad: string }).pad).length, 3 << 20);
  });

  it('stop ends the rows at once, whatever is left', async () => {
    const path = join(scratch.dir, `out-${files++}.jsonl`);
    writeFileSync(path, row('J', 0));
    const f = new RowFollower(path, () => statSync(path).size, () => true);
    const got = collect(f);
    f.stop();
    await got.done;
    assert.deepEqual(got.rows, []);
  });
});
