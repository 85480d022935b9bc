/**
 * `run <name>` and `submit <name>` for a name that is not a built-in kind: a kind from handler
 * modules, as commander's default subcommand of each (hidden: the kinds' own list stays the
 * built-in ones). A misspelled built-in kind lands here too, usually with options only that kind
 * takes: the error then says which kinds are built in, instead of only that an option is unknown.
 */
import { Help, type Command } from '@commander-js/extra-typings';
import { builtinKinds, type Kind } from '../kinds/index.js';
import { remoteHandlerKind } from '../kinds/handlers/index.js';
import { UsageError } from '../errors.js';

/** The built-in kinds' names, for messages. */
export function builtinNames(): string {
  return builtinKinds()
    .map((k) => k.name)
    .join(', ');
}

/**
 * Adds the kinds as subcommands of `parent` (`run` or `submit`): the one the command line names
 * in full (`define` adds its options and action), every other by its name and description only,
 * which is all that `--help` lists of them. Defining every kind's options took 10-15 ms of each
 * `run`, for the one kind it runs.
 */
export function addKindCommands(parent: Command, kinds: readonly Kind<unknown>[], args: readonly string[], define: (sub: Command, kind: Kind<unknown>) => void): void {
  const named = kindNamed(parent.name(), args);
  for (const kind of kinds) {
    const sub = parent.command(kind.name).description(kind.description);
    if (kind.name === named) define(sub, kind);
  }
  // Each kind is listed as it would be once defined in full: every kind takes options.
  const help = new Help();
  const isKind = (name: string): boolean => kinds.some((k) => k.name === name);
  parent.configureHelp({ subcommandTerm: (cmd) => (isKind(cmd.name()) ? `${cmd.name()} [options]` : help.subcommandTerm(cmd)) });
}

/**
 * The kind the arguments name after `command` (`run spin ...`, `run help spin`), as commander
 * finds it: the first word after the command that is not an option.
 */
export function kindNamed(command: string, args: readonly string[]): string | undefined {
  const words = args.filter((a) => !a.startsWith('-'));
  const at = words.indexOf(command);
  if (at < 0) return undefined;
  return words[at + 1] === 'help' ? words[at + 2] : words[at + 1];
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
