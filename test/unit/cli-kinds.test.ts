/**
 * `run` and `submit` define in full only the kind the command line names (its options and
 * action); the others are listed by name and description, and their help must read the same
 * whichever kind is named.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Command } from '@commander-js/extra-typings';
import { registerRun } from '../../src/cli/commands/run.js';
import { registerSubmit } from '../../src/cli/commands/submit.js';
import { kindNamed } from '../../src/cli/handler-kind.js';
import { builtinKinds } from '../../src/kinds/index.js';

test('the kind named after the command, as commander routes it', () => {
  assert.equal(kindNamed('run', ['run', 'spin', '--tasks', '3']), 'spin');
  assert.equal(kindNamed('run', ['run', 'help', 'frames']), 'frames');
  assert.equal(kindNamed('submit', ['submit', 'python', '--nats', 'nats://h:4222']), 'python');
  assert.equal(kindNamed('run', ['run', '--help']), undefined);
  assert.equal(kindNamed('run', ['help', 'run']), undefined);
  assert.equal(kindNamed('run', ['status']), undefined);
});

for (const [name, register] of [['run', registerRun], ['submit', registerSubmit]] as const) {
  test(`${name}: the named kind in full, the others listed; its help the same whichever is named`, () => {
    const helpWith = (args: string[]): { help: string; kinds: Map<string, number> } => {
      const program = new Command();
      register(program, args);
      const cmd = program.commands.find((c) => c.name() === name)!;
      const kinds = new Map(cmd.commands.filter((c) => builtinKinds().some((k) => k.name === c.name())).map((c) => [c.name(), c.options.length]));
      return { help: cmd.helpInformation(), kinds };
    };
    const none = helpWith([name, '--help']);
    assert.deepEqual([...none.kinds.keys()], builtinKinds().map((k) => k.name));
    for (const kind of builtinKinds()) {
      const named = helpWith([name, kind.name, '--json']);
      assert.equal(named.help, none.help, `${name} --help with ${kind.name} named`);
      for (const [k, options] of named.kinds) {
        if (k === kind.name) assert.ok(options > 0, `${kind.name} defined with its options`);
        else assert.equal(options, 0, `${k} only listed while ${kind.name} is named`);
      }
    }
  });
}
