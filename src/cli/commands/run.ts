/**
 * `shoal run <kind>`: the coordinator, the sink and an agent in one process. Without --nats
 * they talk over the in-process bus (no broker needed); with --nats over NATS, so agents on
 * other nodes can join the same job.
 */
import { dirname, resolve } from 'node:path';
import type { Command } from '@commander-js/extra-typings';
import { builtinKinds, COMMAND_KINDS, type Kind } from '../../kinds/index.js';
import { createLogger } from '../../log.js';
import { Output } from '../output.js';
import { addJobOptions, buildSpec, type JobCliOptions } from '../job-spec.js';
import { addLocalTuning, startLocal, type LocalOptions } from '../local-actors.js';
import { atLeast, integerFrom, logLevelOption, valueOption, type LogLevel } from '../options.js';
import { coordinatorOptions } from '../role-options.js';
import { reportJob } from '../job-report.js';
import { ErrorCode } from '../../errors.js';
import { exitForJob, type ExitCode } from '../exit.js';
import type { JobStatus } from '../../../protocol/index.js';
import { COMMANDS, declaration } from './catalog.js';

export function registerRun(program: Command, kinds: Kind<unknown>[] = builtinKinds()): void {
  const run = program
    .command(declaration('run'))
    .description(COMMANDS.run.description)
    .addHelpText('after', '\nExample:\n  shoal run spin --tasks 5000 --ms 1 --out results.jsonl');
  for (const kind of kinds) {
    const sub = run.command(kind.name).description(kind.description);
    kind.addOptions(sub);
    addJobOptions(sub)
      .addOption(coordinatorOptions.outDir('where outputs go when --out is not given'))
      .addOption(valueOption('--workers <n>', 'worker threads of the local agent (default: usable CPUs; 0 = no local agent, with --nats)', integerFrom(0)))
      .option('--nats <url>', 'run over this NATS server so other agents can join (default: in-process bus)')
      .option('--ns <ns>', 'namespace on the NATS server (default: SHOAL_NS or "default")');
    addLocalTuning(sub);
    sub
      .option('--allow-command', 'let the local agent run command tasks')
      .addOption(valueOption('--stall-timeout <s>', 'give up (exit 5) when the output cannot be written (disk full, read-only) for this long', atLeast(0.1)).default(120))
      .option('--json', 'print the final status as JSON')
      .addOption(logLevelOption('warn'))
      .action(async (opts) => {
        process.exitCode = await runJob(kind, opts as RunCliOptions & Record<string, unknown>);
      });
  }
}

/** What `run <kind>` reads besides the job's and the kind's options. */
interface RunCliOptions extends JobCliOptions, LocalOptions {
  outDir: string;
  allowCommand?: true;
  stallTimeout: number;
  json?: true;
  logLevel: LogLevel;
}

async function runJob(kind: Kind<unknown>, opts: RunCliOptions & Record<string, unknown>): Promise<ExitCode> {
  const out = new Output(!!opts.json);
  const log = createLogger(opts.logLevel, { role: 'run' });
  const spec = buildSpec(kind, opts);
  const outDir = spec.out ? dirname(spec.out) : resolve(opts.outDir);
  const local = await startLocal(opts, log, `shoal-run ${spec.job}`, outDir, COMMAND_KINDS.has(kind.name) || !!opts.allowCommand);
  const client = local.client;
  const stallLimitMs = opts.stallTimeout * 1000;
  const progress = await out.progress();
  let interrupted = false;
  const onSignal = (): void => {
    if (interrupted) process.exit(3);
    interrupted = true;
    out.note(`\ncancelling job ${spec.job} (press Ctrl-C again to quit at once)`);
    void client.cancel(spec.job).catch(() => undefined);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let final: JobStatus;
  let stalled = false;
  try {
    const sub = await client.submit(spec);
    if (sub.alreadyDone > 0) out.note(`resuming ${spec.job}: ${sub.alreadyDone} of ${sub.tasks} tasks already in ${sub.out}`);
    final = await client.waitFor(
      spec.job,
      (j) => {
        if (j.state === 'stalled' && !stalled) out.note(`\nthe job is stalled: ${j.stalled}; it continues when the output can be written (giving up after ${stallLimitMs / 1000} s)`);
        stalled = j.state === 'stalled';
        progress.update(j);
      },
      200,
      { stallLimitMs },
    );
  } catch (err) {
    // Given up on an output that cannot be written: stop the job (its rows so far stay) and say why.
    if ((err as { code?: string }).code === ErrorCode.Stalled) await client.cancel(spec.job).catch(() => undefined);
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
