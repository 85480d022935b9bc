/**
 * Options checked while commander parses them (src/cli/options.ts): a bad value stops the
 * command before it starts anything, with exit code 2 and one line naming the option and value.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runShoal } from '../helpers/shoal.js';

const cases: Array<[string[], RegExp]> = [
  [['run', 'spin', '--granularity', '0'], /--granularity.*'0'/],
  [['run', 'spin', '--speculate', 'maybe'], /--speculate.*'maybe'/],
  [['run', 'spin', '--tasks', 'abc'], /--tasks.*'abc'/],
  [['coordinator', '--agent-timeout', 'x'], /--agent-timeout.*'x'/],
  [['agent', '--grace', '-3'], /--grace.*'-3'/],
  [['agent', '--log-level', 'loud'], /--log-level.*'loud'/],
  [['status', '--interval', '0'], /--interval.*'0'/],
];

for (const [args, message] of cases) {
  test(`shoal ${args.join(' ')}: exit 2 naming the option and the value`, async () => {
    const r = await runShoal(args);
    assert.equal(r.code, 2, r.describe());
    assert.match(r.stderr, message, r.describe());
  });
}
