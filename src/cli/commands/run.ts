/**
 * `shoal run <kind>`: the coordinator, the sink and an agent in one process. Without --nats
 * they talk over the in-process bus (no broker needed); with --nats over NATS, so agents on
 * other nodes can join the same job. A kind of your own runs as well: the local agent loads
 * its --handlers modules, as `shoal agent --handlers` does.
 */
import { dirname, resolve } from 'node:path';
import type { Command, OptionValues } from '@commander-js/extra-typings';
import { builtinKinds, COMMAND_KINDS, getKind, gpusAsked, type Kind } from '../../kinds/index.js';
import { loadHandlerModules, remoteHandlerKind } from '../../kinds/handlers/index.js';
import { createLogger } from '../../log.js';
import { Output } from '../output.js';
import { addJobOptions, buildSpec, type JobCliOptions } from '../job-spec.js';
import { addLocalTuning, checkLocal, startLocal, type LocalOptions } from '../local-actors.js';
import { namespaceOf, natsUrlOf } from '../connect.js';
import { addKindCommands, builtinNames, handlerKindCommand, handlerKindName } from '../handler-kind.js';
import { agentHint, WaitNotes } from '../wait-notes.js';
import { atLeast, integerFrom, logLevelOption, valueOption, type LogLevel } from '../options.js';
import { coordinatorOptions } from '../role-options.js';
import { reportJob } from '../job-report.js';
import { ErrorCode, UsageError } from '../../errors.js';
import { exitForJob, type ExitCode } from '../exit.js';
import type { JobStatus } from '../../../protocol/index.js';
import { COMMANDS, declaration } from './catalog.js';

export function registerRun(program: Command, args: readonly string[] = [], kinds: Kind<unknown>[] = builtinKinds()): void {
  const run = program
    .command(declaration('run'))
    .description(COMMANDS.run.description)
    .addHelpText(
      'after',
      `
Kinds from handler modules run here too: the local agent loads the modules.
  shoal run <name> --handlers MODULE [--params '{"k":1}'] --inputs FILE
  shoal run word-stats --handlers examples/handlers/word-stats.mjs --inputs examples/handlers/files.txt

Example:
  shoal run spin --tasks 5000 --ms 1 --out results.jsonl`,
    );
  addKindCommands(run, kinds, args, (sub, kind) => {
    kind.addOptions(sub);
    addRunOptions(sub).action(async (opts) => {
      process.exitCode = await runJob(kind, opts as RunCliOptions & Record<string, unknown>);
    });
  });

  // Any other name is a kind from --handlers modules (commander's default subcommand), as with submit.
  const handler = handlerKindCommand(run, 'a kind from the --handlers modules: one task per record of --inputs');
  handler.option('--handlers <module...>', 'modules exporting kinds of your own, loaded by the local agent (as `shoal agent --handlers` does); without --nats one of them must export the kind');
  addRunOptions(handler).action(async (name, opts, cmd) => {
    const kind = remoteHandlerKind(handlerKindName(run, name, cmd.args.slice(1)));
    process.exitCode = await runJob(kind, opts as RunCliOptions & Record<string, unknown>);
  });
}

/** The options of `run <kind>` besides the kind's own. */
function addRunOptions<Args extends unknown[], Opts extends OptionValues>(sub: Command<Args, Opts>) {
  addJobOptions(sub)
    .addOption(coordinatorOptions.outDir('where outputs go when --out is not given'))
    .addOption(valueOption('--workers <n>', 'worker threads of the local agent (default: usable CPUs; 0 = no local agent, only with --nats: agents elsewhere join)', integerFrom(0)))
    .option('--nats <url>', 'run over this NATS server so other agents can join (default: in-process bus)')
    .option('--ns <ns>', 'namespace on the NATS server (default: SHOAL_NS or "default")');
  addLocalTuning(sub);
  return sub
    .option('--allow-command', 'let the local agent run command tasks')
    .addOption(valueOption('--stall-timeout <s>', 'give up (exit 5) when the output cannot be written (disk full, read-only) for this long', atLeast(0.1)).default(120))
    .addOption(valueOption('--wait-timeout <s>', 'give up (exit 6) when the job has not ended after this long, e.g. while no agent can run it (a note on stderr says so); the rows written stay, the same command resumes', atLeast(0.001)))
    .option('--json', 'print the final status as JSON')
    .addOption(logLevelOption('warn'));
}

/** What `run <kind>` reads besides the job's and the kind's options. */
interface RunCliOptions extends JobCliOptions, LocalOptions {
  outDir: string;
  allowCommand?: true;
  stallTimeout: number;
  /** Seconds. */
  waitTimeout?: number;
  json?: true;
  logLevel: LogLevel;
}

async function runJob(kind: Kind<unknown>, opts: RunCliOptions & Record<string, unknown>): Promise<ExitCode> {
  checkLocal(opts);
  const out = new Output(!!opts.json);
  const log = createLogger(opts.logLevel, { role: 'run' });
  const spec = buildSpec(kind, opts);
  if (getKind(kind.name) === undefined) await checkHandlerKind(kind.name, opts);
  const outDir = spec.out ? dirname(spec.out) : resolve(opts.outDir);
  const needs = { allowCommand: COMMAND_KINDS.has(kind.name) || !!opts.allowCommand, gpus: getKind(kind.name) === undefined || gpusAsked(spec.params) > 0 };
  const local = await startLocal(opts, log, `shoal-run ${spec.job}`, outDir, needs);
  const client = local.client;
  const stallLimitMs = opts.stallTimeout * 1000;
  const progress = await out.progress();
  const notes = new WaitNotes((l) => out.note(l), agentHint(natsUrlOf(opts), namespaceOf(opts)));
  let interrupted = false;
  const onSignal = (): void => {
    if (interrupted) process.exit(3);
    interrupted = true;
    out.note(`cancelling job ${spec.job} (press Ctrl-C again to quit at once)`);
    void client.cancel(spec.job).catch(() => undefined);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let final: JobStatus;
  let stalled = false;
  try {
    // On a terminal the steps of a long preparation are said; through a pipe stderr stays the log's.
    const sub = out.tty ? await client.submitSaying(spec, (l) => out.note(l)) : await client.submit(spec);
    if (sub.alreadyDone > 0) out.note(`resuming ${spec.job}: ${sub.alreadyDone} of ${sub.tasks} tasks already in ${sub.out}`);
    final = await client.waitFor(
      spec.job,
      (j, agents) => {
        if (j.state === 'stalled' && !stalled) out.note(`\nthe job is stalled: ${j.stalled}; it continues when the output can be written (giving up after ${stallLimitMs / 1000} s)`);
        stalled = j.state === 'stalled';
        progress.update(j);
        notes.update(j, agents);
      },
      200,
      {
        stallLimitMs,
        ...(opts.waitTimeout !== undefined ? { timeoutMs: opts.waitTimeout * 1000 } : {}),
        afterTimeout: `The job is stopped; its rows so far stay in ${sub.out}: the same command with --job ${spec.job} resumes it`,
      },
    );
  } catch (err) {
    // Given up (an output that cannot be written, --wait-timeout): stop the job (its rows so far stay) and say why.
    const code = (err as { code?: string }).code;
    if (code === ErrorCode.Stalled || code === ErrorCode.WaitTimeout) await client.cancel(spec.job).catch(() => undefined);
    throw err;
  } finally {
    progress.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await local.stop('run finished');
  }
  reportJob(out, kind, final);
  return exitForJob(final.state, final.failed);
}

/**
 * A kind that is not built in runs here only if a --handlers module exports it; over --nats an
 * agent elsewhere may have it (status and the wait's note say so when none does).
 */
async function checkHandlerKind(name: string, opts: { handlers?: string[]; nats?: string }): Promise<void> {
  const loaded = await loadHandlerModules(opts.handlers ?? []);
  const kinds = loaded.flatMap((h) => h.kinds);
  if (kinds.includes(name) || natsUrlOf(opts) !== undefined) return;
  if (loaded.length === 0) {
    throw new UsageError(`run ${name}: '${name}' is not a built-in kind (${builtinNames()}); for a kind of your own give --handlers MODULE, a module that exports it (see examples/handlers/word-stats.mjs)`);
  }
  throw new UsageError(`run ${name}: --handlers ${loaded.map((h) => h.path).join(' ')} export${loaded.length === 1 ? 's' : ''} ${kinds.map((k) => `'${k}'`).join(', ')}, not '${name}': fix the kind's name, or add the module that exports it`);
}
