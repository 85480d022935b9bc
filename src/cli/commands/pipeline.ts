/**
 * `shoal pipeline FILE.yaml`: the stages of a pipeline file (pipeline-file.ts), each a job,
 * checked whole before anything is submitted (one line naming the stage and field, exit 2),
 * then submitted in order: upstream stages first, each downstream one fed by its `from` or held
 * by its `after` at the coordinator. Without --nats the coordinator and an agent run in this
 * process, as for `run`, until every stage has ended; with --nats the stages go to a running
 * coordinator (--wait follows them to their end). Running the same file again resumes: jobs keep
 * their names, so finished stages are found done and the others continue.
 */
import { resolve } from 'node:path';
import { Command as Cmd, type Command } from '@commander-js/extra-typings';
import type { JobSpec, JobStatus } from '../../../protocol/index.js';
import { UsageError } from '../../errors.js';
import { getKind, gpusAsked, type Kind } from '../../kinds/index.js';
import { remoteHandlerKind } from '../../kinds/handlers/index.js';
import { createLogger } from '../../log.js';
import type { CtlClient } from '../client.js';
import { namespaceOf, natsUrlOf, withClient } from '../connect.js';
import { Exit, exitForJob, type ExitCode } from '../exit.js';
import { reportJob } from '../job-report.js';
import { addJobOptions, buildSpec } from '../job-spec.js';
import { addLocalTuning, startLocal, type LocalOptions } from '../local-actors.js';
import { agentHint, WaitNotes } from '../wait-notes.js';
import { integerFrom, logLevelOption, valueOption, type LogLevel } from '../options.js';
import { Output } from '../output.js';
import { readPipeline, type Pipeline } from '../pipeline-file.js';
import { coordinatorOptions } from '../role-options.js';
import { COMMANDS, declaration } from './catalog.js';

interface PipelineCliOptions extends LocalOptions {
  outDir: string;
  wait?: true;
  json?: true;
  logLevel: LogLevel;
}

export function registerPipeline(program: Command): void {
  const cmd = program
    .command(declaration('pipeline'))
    .description(COMMANDS.pipeline.description)
    .addOption(coordinatorOptions.outDir('where the stages\' outputs go (embedded; over --nats the coordinator\'s)'))
    .addOption(valueOption('--workers <n>', 'worker threads of the local agent (default: usable CPUs)', integerFrom(1)))
    .option('--nats <url>', 'submit the stages to the coordinator on this NATS server (default: run them in this process)')
    .option('--ns <ns>', 'namespace on the NATS server (default: SHOAL_NS or "default")')
    .option('--wait', 'with --nats: wait for every stage to end (without --nats the run always waits)')
    .option('--handlers <module...>', 'modules exporting kinds of your own that stages use, loaded by the local agent (as `shoal agent --handlers` does; with --nats the agents must load them)');
  addLocalTuning(cmd);
  cmd
    .option('--json', 'print the stages\' final status as JSON')
    .addOption(logLevelOption('warn'))
    .addHelpText('after', '\nThe file lists named stages: kind, options, and from (stream a stage\'s rows in as they commit) or after (wait for stages to end):\n  stages:\n    - { name: confs, kind: python, options: { fn: gen.py:confs, inputs: ligands.smi } }\n    - { name: score, kind: python, from: confs, options: { fn: score.py:score } }\nRelative paths in it are taken from its directory. Running it again resumes.')
    .action(async (file: string, opts) => {
      process.exitCode = await runPipeline(file, opts as PipelineCliOptions);
    });
}

/** The kind of a stage: built in, or a handler kind (run by agents that load its module). */
function kindOf(name: string): Kind<unknown> {
  return getKind(name) ?? remoteHandlerKind(name);
}

/** Each stage's job spec, parsed as `submit <kind>` parses its options, from the file's directory. */
export function stageSpecs(p: Pipeline, remote: boolean): JobSpec[] {
  const here = process.cwd();
  process.chdir(p.dir);
  try {
    return p.stages.map((s) => {
      const kind = kindOf(s.kind);
      const cmd = new Cmd(s.kind).exitOverride().configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
      kind.addOptions(cmd);
      addJobOptions(cmd).action(() => undefined);
      try {
        cmd.parse(s.argv, { from: 'user' });
        return buildSpec(kind, cmd.opts() as Record<string, unknown> & Parameters<typeof buildSpec>[1], { remote });
      } catch (err) {
        const msg = ((err as Error).message ?? String(err)).replace(/^error: /, '');
        throw new UsageError(`${p.file}: stage '${s.name}' (${s.kind}): ${msg}`);
      }
    });
  } finally {
    process.chdir(here);
  }
}

/**
 * Submits the specs in order and, when asked, follows every job to its end, saying when no
 * agent can run a stage's kind (as `submit --wait` does); the worst exit code.
 */
async function submitAll(client: CtlClient, specs: JobSpec[], out: Output, wait: boolean, hint: string): Promise<ExitCode> {
  for (const spec of specs) {
    const r = await client.submit(spec);
    out.note(`stage ${spec.job}: ${r.tasks} tasks${r.alreadyDone ? `, ${r.alreadyDone} already done` : ''}`);
  }
  if (!wait) return Exit.Done;
  const finals = await Promise.all(
    specs.map((s) => {
      const notes = new WaitNotes((l) => out.note(l), hint);
      return client.waitFor(s.job, (j, agents) => notes.update(j, agents));
    }),
  );
  const codes = finals.map((f: JobStatus, i) => {
    reportJob(out, kindOf(specs[i]!.kind), f);
    return exitForJob(f.state, f.failed);
  });
  return Math.max(...codes) as ExitCode;
}

async function runPipeline(file: string, opts: PipelineCliOptions): Promise<ExitCode> {
  const out = new Output(!!opts.json);
  const pipeline = readPipeline(file);
  const remote = opts.nats !== undefined;
  const specs = stageSpecs(pipeline, remote);
  if (remote) return withClient(opts, (c) => submitAll(c, specs, out, !!opts.wait, agentHint(natsUrlOf(opts), namespaceOf(opts))));
  const log = createLogger(opts.logLevel, { role: 'pipeline' });
  // Pipelines run users' code (python, command): the local agent may, as `run python` does.
  const gpus = specs.some((s) => getKind(s.kind) === undefined || gpusAsked(s.params) > 0);
  const local = await startLocal(opts, log, `shoal-pipeline ${pipeline.file}`, resolve(opts.outDir), { allowCommand: true, gpus });
  try {
    return await submitAll(local.client, specs, out, true, agentHint(natsUrlOf(opts), namespaceOf(opts)));
  } finally {
    await local.stop('pipeline finished');
  }
}
