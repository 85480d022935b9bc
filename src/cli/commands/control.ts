/** `shoal status`, `cancel`, `priority`, `drain`: the operator's commands against a running coordinator. */
import type { Command } from '@commander-js/extra-typings';
import type { AgentStatus, JobStatus } from '../../../protocol/index.js';
import { connOpts, withClient } from '../connect.js';
import { Output } from '../output.js';
import { Exit } from '../exit.js';
import { UsageError } from '../../errors.js';
import { atLeast, valueOption } from '../options.js';
import { COMMANDS, declaration } from './catalog.js';
import { remarks, statusTree } from '../status-tree.js';
import { agentNotes, agentTable, jobTable } from '../status-columns.js';

export function registerStatus(program: Command): void {
  connOpts(program.command(declaration('status')).description(COMMANDS.status.description))
    .option('--watch', 'keep refreshing until the job ends (or Ctrl-C); while the coordinator cannot be reached it says so and keeps the last view, marked stale, until it answers again')
    .addOption(valueOption('--interval <s>', 'refresh interval for --watch', atLeast(0.05)).default(1))
    .option('--json', "machine-readable output (with --watch: one document per refresh, a status or, while the coordinator cannot be reached, {kind: 'unreachable', since, seconds, error})")
    .addHelpText('after', STATUS_HELP)
    .action(async (job: string | undefined, opts) => {
      const out = new Output(!!opts.json);
      await withClient(opts, async (c) => {
        if (!opts.watch) {
          const st = await c.status(job);
          out.data(st);
          printStatus(out, st.jobs, st.agents);
          if (st.allocs?.length) {
            const { allocLines } = await import('./alloc.js');
            out.line('');
            for (const l of allocLines(st.allocs)) out.line(l);
          }
          return;
        }
        const { watchStatus } = await import('../watch.js');
        await watchStatus(c, out, job, opts.interval * 1000);
      });
      process.exitCode = Exit.Done;
    });
}

/** What `status --help` says of the agents' states and the figures' units. */
export const STATUS_HELP = `
Agents are active, draining, left or lost. An agent that drained (shoal drain, or SIGTERM or
SIGINT, which drain) and then falls silent holding no task has left: busy 0, nothing requeued.
One that falls silent while it still holds tasks is lost, and its tasks are requeued. Silent
means for the coordinator's --agent-timeout (10 s by default). An agent that left stays
listed for the coordinator's --left-retention (60 s by default), a lost one for its
--lost-retention (300 s by default); then it is dropped from the list.

RATE is tasks committed per second: over the last 10 s while a job runs, and its average over
the time it ran once it has ended. ETA is at that rate; '-' once the job has ended, '?' when not
known yet. MEM FREE is in GiB, MiB or KiB; SEEN is how long ago the agent was last heard from.`;

export function registerCancel(program: Command): void {
  connOpts(program.command(declaration('cancel')).description(COMMANDS.cancel.description))
    .option(
      '--downstream',
      'also cancel, in the same request, every job fed by JOB (--from) or waiting for it (--after), and the jobs downstream of those; jobs that have ended stay as they are. ' +
        'Without it only JOB is cancelled: a stage fed by JOB runs the tasks of the rows JOB committed and ends done (so the jobs waiting for the stage run), ' +
        'and a job waiting for JOB itself is cancelled by its end (--after-ok) or runs (--after-any)',
    )
    .option('--json', 'machine-readable output')
    .action(async (job: string, opts) => {
      const out = new Output(!!opts.json);
      await withClient(opts, async (c) => {
        const r = await c.cancel(job, { downstream: !!opts.downstream });
        out.data(r);
        out.line(`job ${r.job} ${r.state}`);
        for (const j of r.also ?? []) out.line(`job ${j} cancelled (downstream of ${r.job})`);
      });
      process.exitCode = Exit.Done;
    });
}

export function registerPriority(program: Command): void {
  connOpts(program.command(declaration('priority')).description(COMMANDS.priority.description))
    .option('--json', 'machine-readable output')
    .action(async (job: string, n: string, opts) => {
      const out = new Output(!!opts.json);
      const priority = Number(n);
      if (!Number.isInteger(priority) || priority < -1000 || priority > 1000) throw new UsageError(`shoal priority ${job} ${n}: the priority must be an integer from -1000 to 1000`);
      await withClient(opts, async (c) => {
        const r = await c.priority(job, priority);
        out.data(r);
        out.line(`job ${r.job} priority ${r.priority}`);
      });
      process.exitCode = Exit.Done;
    });
}

export function registerDrain(program: Command): void {
  connOpts(program.command(declaration('drain')).description(COMMANDS.drain.description))
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

/**
 * The human status: one table of jobs, each under the job that feeds it (status-tree.ts), what
 * is said of each job below it, then a table of agents; the columns are those of
 * status-columns.ts, which `--watch` draws too.
 */
export function printStatus(out: Output, jobs: JobStatus[], agents: AgentStatus[]): void {
  const rows = statusTree(jobs);
  if (jobs.length === 0) out.line('no jobs');
  else out.table(...headed(jobTable(rows)));
  for (const row of rows) for (const [label, text] of remarks(row)) out.line(`${label} (${row.job.job}): ${text}`);
  out.line('');
  if (agents.length === 0) out.line('no agents');
  else {
    out.table(...headed(agentTable(agents)));
    for (const l of agentNotes(agents)) out.line(l);
  }
}

/** A table's header row apart from its rows, as Output.table takes them. */
function headed(table: string[][]): [string[], string[][]] {
  return [table[0]!, table.slice(1)];
}
