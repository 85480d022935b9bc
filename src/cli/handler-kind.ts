/**
 * `run <name>` and `submit <name>` for a name that is not a built-in kind: a kind from handler
 * modules, as commander's default subcommand of each (hidden: the kinds' own list stays the
 * built-in ones). A misspelled built-in kind lands here too, usually with options only that kind
 * takes: the error then says which kinds are built in, instead of only that an option is unknown.
 */
import type { Command } from '@commander-js/extra-typings';
import { builtinKinds } from '../kinds/index.js';
import { remoteHandlerKind } from '../kinds/handlers/index.js';
import { UsageError } from '../errors.js';

/** The built-in kinds' names, for messages. */
export function builtinNames(): string {
  return builtinKinds()
    .map((k) => k.name)
    .join(', ');
}

/** Adds the hidden default subcommand `<name>` to `parent` (`run` or `submit`) with a handler job's options. */
export function handlerKindCommand(parent: Command, description: string) {
  const cmd = parent.command('handler-kind [name]', { isDefault: true, hidden: true }).description(description).allowUnknownOption().allowExcessArguments();
  remoteHandlerKind('handler').addOptions(cmd);
  return cmd;
}

/**
 * The kind's name, checked: no name shows the parent's help (exit 2); options the handler kind
 * does not take are refused naming the first, and the built-in kinds in case the name is one of
 * theirs misspelled. `rest` is what commander left unparsed (the subcommand's `args` after the name).
 */
export function handlerKindName(parent: Command, name: string | undefined, rest: readonly string[]): string {
  if (name === undefined) parent.help({ error: true });
  const unknown = rest.find((a) => a.startsWith('-'));
  if (unknown !== undefined) {
    throw new UsageError(
      `${parent.name()} ${name}: unknown option '${unknown}'. '${name}' is not a built-in kind (${builtinNames()}); a kind from a handler module takes --inputs FILE or --from JOB, --params JSON, --format and the options every job takes (shoal ${parent.name()} --help)`,
    );
  }
  if (rest.length > 0) throw new UsageError(`${parent.name()} ${name}: unexpected argument '${rest[0]}'`);
  return name;
}
