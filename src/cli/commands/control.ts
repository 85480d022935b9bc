/** `shoal submit`, `status`, `cancel`, `drain`: the operator's commands against a running coordinator. */
import type { Command, OptionValues } from '@commander-js/extra-typings';
import { builtinKinds, type Kind } from '../../kinds/index.js';
import type { AgentStatus, JobStatus } from '../../../protocol/index.js';
import { CtlClient } from '../client.js';
import { connectBus, type Conn } from '../connect.js';
import { Output, formatBytes, formatDuration, formatRate } from '../output.js';
import { addJobOptions, buildSpec, type JobCliOptions } from '../job-spec.js';
import { exitForJob, Exit } from '../exit.js';
import { report } from './run.js';
import { atLeast, valueOption } from '../options.js';
import { remoteHandlerKind } from '../../kinds/handlers/index.js';

const connOpts = <Args extends unknown[], Opts extends OptionValues>(c: Command<Args, Opts>) => c.option('--nats <url>', 'NATS server URL (or SHOAL_NATS)').option('--ns <ns>', 'namespace (default: SHOAL_NS or "default")');

async function withClient<T>(opts: { nats?: string; ns?: string }, fn: (c: CtlClient, conn: Conn) => Promise<T>): Promise<T> {
  const conn = await connectBus(opts, 'shoal-cli');
  try {
    return await fn(new CtlClient(conn.bus, conn.subj, conn.ns), conn);
  } finally {
    await conn.bus.close();
  }
}

export function registerControl(program: Command, kinds: Kind<unknown>[] = builtinKinds()): void {
  const submit = program.command('submit').description('submit a job to a running coordinator and print its id');
  for (const kind of kinds) {
    const sub = submit.command(kind.name).description(kind.description);
    kind.addOptions(sub);
    connOpts(addJobOptions(sub))
      .option('--wait', 'wait for the job to end; exit 0 done, 1 with failed tasks, 3 cancelled')
      .option('--json', 'machine-readable output')
      .action((opts) => submitJob(kind, opts));
  }

  // Any other name is a kind from the agents' --handlers modules (commander's default subcommand).
  const handler = submit
    .command('handler-kind <name>', { isDefault: true, hidden: true })
    .description("a kind from the agents' --handlers modules: one task per line of --inputs");
  remoteHandlerKind('handler').addOptions(handler);
  connOpts(addJobOptions(handler))
    .option('--wait', 'wait for the job to end; exit 0 done, 1 with failed tasks, 3 cancelled')
    .option('--json', 'machine-readable output')
    .action((name: string, opts) => submitJob(remoteHandlerKind(name), opts));
  submit.addHelpText('after', "\nKinds from handler modules (shoal agent --handlers FILE):\n  shoal submit <name> --params '{\"k\":1}' --inputs lines.txt --nats URL [--wait]");

  connOpts(program.command('status [job]').description('where jobs stand (done, failed, running, queued, rate, ETA) and the agents'))
    .option('--watch', 'keep refreshing until the job ends (or Ctrl-C)')
    .addOption(valueOption('--interval <s>', 'refresh interval for --watch', atLeast(0.05)).default(1))
    .option('--json', 'machine-readable output')
    .action(async (job: string | undefined, opts) => {
      const out = new Output(!!opts.json);
      await withClient(opts, async (c) => {
        if (!opts.watch) {
          const st = await c.status(job);
          out.data(st);
          printStatus(out, st.jobs, st.agents);
          return;
        }
        const { watchStatus } = await import('../watch.js');
        await watchStatus(c, out, job, opts.interval * 1000);
      });
      process.exitCode = Exit.Done;
    });

  connOpts(program.command('cancel <job>').description('stop a job now: no new task starts, running ones are aborted; rows already written stay'))
    .option('--json', 'machine-readable output')
    .action(async (job: string, opts) => {
      const out = new Output(!!opts.json);
      await withClient(opts, async (c) => {
        const r = await c.cancel(job);
        out.data(r);
        out.line(`job ${r.job} ${r.state}`);
      });
      process.exitCode = Exit.Done;
    });

  connOpts(program.command('drain <agent>').description('stop an agent pulling; it finishes running tasks within its grace period, hands the rest back and exits 0'))
    .addOption(valueOption('--grace <s>', "seconds running tasks get (default: the agent's --grace)", atLeast(0)))
    .option('--json', 'machine-readable output')
    .action(async (agent: string, opts) => {
      const out = new Output(!!opts.json);
      await withClient(opts, async (c) => {
        const r = await c.drain(agent, opts.grace !== undefined ? opts.grace * 1000 : undefined);
        out.data(r);
        out.line(`agent ${r.agent} draining`);
      });
      process.exitCode = Exit.Done;
    });
}

/** `submit <kind>`: sends the spec; with --wait follows the job to its end. */
/** What `submit <kind>` reads besides the job's and the kind's options. */
interface SubmitCliOptions extends JobCliOptions {
  nats?: string;
  ns?: string;
  wait?: true;
  json?: true;
}

async function submitJob(kind: Kind<unknown>, opts: SubmitCliOptions & Record<string, unknown>): Promise<void> {
  const out = new Output(!!opts.json);
  const spec = buildSpec(kind, opts, { remote: true });
  process.exitCode = await withClient(opts, async (c) => {
    const r = await c.submit(spec);
    if (!opts.wait) {
      out.data(r);
      out.line(r.job);
      if (r.alreadyDone > 0) out.note(`resuming: ${r.alreadyDone} of ${r.tasks} tasks already done`);
      return Exit.Done;
    }
    out.note(`submitted ${r.job} (${r.tasks} tasks${r.alreadyDone ? `, ${r.alreadyDone} already done` : ''})`);
    const progress = out.progress();
    const final = await c.waitFor(r.job, (j) => progress.update(j));
    progress.stop();
    report(out, kind, final);
    return exitForJob(final.state, final.failed);
  });
}

/** The human status: one table of jobs, one of agents. */
export function printStatus(out: Output, jobs: JobStatus[], agents: AgentStatus[]): void {
  if (jobs.length === 0) out.line('no jobs');
  else
    out.table(
      ['JOB', 'KIND', 'STATE', 'DONE', 'FAILED', 'RUNNING', 'QUEUED', 'RETRIED', 'SPECULATED', 'RATE/s', 'ETA'],
      jobs.map((j) => [j.job, j.kind, j.state, `${j.done}/${j.total}`, j.failed, j.running, j.queued, j.retried, j.speculated, formatRate(j.rate), j.state === 'running' ? (j.etaS === null ? '?' : formatDuration(j.etaS)) : '-']),
    );
  for (const j of jobs) for (const n of j.notes) out.line(`note (${j.job}): ${n}`);
  out.line('');
  if (agents.length === 0) out.line('no agents');
  else
    out.table(
      ['AGENT', 'HOST', 'STATE', 'SLOTS', 'BUSY', 'MEMORY', 'DONE', 'SEEN'],
      agents.map((a) => [a.agent, a.host, a.state + (a.spot ? ' (spot)' : ''), a.slots, a.busy, formatBytes(a.memory), a.done, `${(a.lastSeenMs / 1000).toFixed(1)}s ago`]),
    );
}

