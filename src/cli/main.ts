#!/usr/bin/env node
/** The `shoal` command line. */
import { Command, CommanderError, Help } from '@commander-js/extra-typings';
import { COMMANDS, commandNames, declaration, outline, type CommandName } from './commands/catalog.js';
import { exitFor } from './exit.js';
import { isLogFormat, setLogFormat } from '../log-settings.js';
import { earlyAgent } from './early-agent.js';

/**
 * The command the arguments name (`shoal status ...`, `shoal help status`), or undefined
 * (`shoal --help`, a typo). The program itself takes only --help and --version, so the first
 * word that is not an option is the command.
 */
function commandNamed(args: readonly string[]): string | undefined {
  const words = args.filter((a) => !a.startsWith('-'));
  return words[0] === 'help' ? words[1] : words[0];
}

/**
 * The program, with the command `args` name defined in full and every other one only by its
 * name and description (enough for the top-level help and for commander to suggest a name
 * for a typo): a command's module is loaded only when it is used.
 */
async function buildProgram(args: readonly string[]): Promise<Command> {
  const program = new Command();
  program
    .name('shoal')
    .description('Run large batches of scientific tasks on every core of every node: a coordinator hands tasks out over NATS, one agent per node runs them, one sink writes JSONL.')
    .version('0.1.0')
    .showHelpAfterError()
    .addHelpText(
      'after',
      `
Environment: SHOAL_NATS (server URL), SHOAL_NS (namespace), SHOAL_NATS_USER/SHOAL_NATS_PASS,
SHOAL_NATS_TOKEN, SHOAL_NATS_CREDS, SHOAL_NATS_TLS_CA/CERT/KEY.
Exit codes: 0 done, 1 done with failed tasks, 2 usage or input error (or another owner has
the namespace or output, or the job failed: its code could not be loaded), 3 cancelled, 4 NATS unreachable or refused, 5 the output cannot be
written (disk full, read-only) and run gave up (--stall-timeout), 6 submit --wait or run gave up
waiting for the job to end (--wait-timeout).`,
    );
  program.exitOverride();
  // A command that logs takes --log-format beside --log-level; its loggers use it from the start.
  program.hook('preAction', (_program, action) => {
    const format = action.opts().logFormat;
    if (isLogFormat(format)) setLogFormat(format);
  });
  const named = commandNamed(args);
  for (const name of commandNames()) {
    const c = COMMANDS[name];
    if (name === named) (await c.load())(program, args);
    else program.command(declaration(name)).description(c.description);
  }
  await addLogFormat(program);
  // A command not loaded is listed as it would be once loaded (`status [options] [job]`).
  const help = new Help();
  program.configureHelp({ subcommandTerm: (cmd) => (cmd.name() in COMMANDS ? outline(cmd.name() as CommandName) : help.subcommandTerm(cmd)) });
  return program;
}

/**
 * Gives every loaded command that takes --log-level a --log-format too, so the two always go
 * together; the value reaches the loggers through the preAction hook.
 */
async function addLogFormat(program: Command): Promise<void> {
  const all = (c: Command): Command[] => [c, ...(c.commands as Command[]).flatMap(all)];
  const logging = all(program).filter((c) => c.options.some((o) => o.long === '--log-level'));
  if (logging.length === 0) return;
  const { logFormatOption } = await import('./options.js');
  for (const c of logging) c.addOption(logFormatOption());
}

async function main(): Promise<void> {
  // A closed pipe (`shoal status | head -1`) ends output quietly instead of crashing.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw err;
    });
  }
  try {
    const args = process.argv.slice(2);
    // The local agent's first thread boots (~100 ms in Node) while the command loads.
    const early = earlyAgent(args, process.env);
    if (early) (await import('../../agents/early/index.js')).startEarlyThreads(early.workers);
    const program = await buildProgram(args);
    await program.parseAsync(process.argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version print and exit 0; usage errors were already printed by commander.
      process.exitCode = err.exitCode === 0 ? 0 : 2;
      return;
    }
    const { code, message } = exitFor(err);
    process.stderr.write(`shoal: ${message}\n`);
    if (process.env.SHOAL_DEBUG) process.stderr.write(`${(err as Error)?.stack ?? ''}\n`);
    process.exitCode = code;
  }
}

await main();
