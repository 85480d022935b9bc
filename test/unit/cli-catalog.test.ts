/**
 * The command catalog against the commands' full definitions: `shoal --help` lists a command
 * from the catalog without loading it, so its name, arguments, `[options]` and description
 * must be what the loaded command would show.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Command, Help } from '@commander-js/extra-typings';
import { COMMANDS, commandNames, outline } from '../../src/cli/commands/catalog.js';

for (const name of commandNames()) {
  test(`the catalog lists '${name}' as its full definition does`, async () => {
    const program = new Command();
    (await COMMANDS[name].load())(program);
    const cmd = program.commands.find((c) => c.name() === name);
    assert.ok(cmd, `loading '${name}' defines a command of that name`);
    assert.equal(program.commands.length, 1, `loading '${name}' defines only that command`);
    assert.equal(outline(name), new Help().subcommandTerm(cmd));
    assert.equal(cmd.description(), COMMANDS[name].description);
  });
}
