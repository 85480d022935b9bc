#!/usr/bin/env node
/** The `shoal` command line. */
import { Command, CommanderError } from '@commander-js/extra-typings';
import { registerRun } from './commands/run.js';
import { registerDaemons } from './commands/daemons.js';
import { registerControl } from './commands/control.js';
import { registerReport } from './commands/report.js';
import { registerOutput } from './commands/output.js';
import { exitFor } from './exit.js';

export function buildProgram(): Command {
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
the namespace or output), 3 cancelled, 4 NATS unreachable or refused, 5 the output cannot be
written (disk full, read-only) and run gave up (--stall-timeout).`,
    );
  program.exitOverride();
  registerRun(program);
  registerDaemons(program);
  registerControl(program);
  registerReport(program);
  registerOutput(program);
  return program;
}

async function main(): Promise<void> {
  // A closed pipe (`shoal status | head -1`) ends output quietly instead of crashing.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw err;
    });
  }
  const program = buildProgram();
  try {
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
