/** `shoal status`, `cancel`, `priority`, `drain`: the operator's commands against a running coordinator. */
import type { Command } from '@commander-js/extra-typings';
import type { AgentStatus, JobStatus } from '../../../protocol/index.js';
import { connOpts, withClient } from '../connect.js';
import { Output, formatBytes, formatDuration, formatRate } from '../output.js';
import { Exit } from '../exit.js';
import { UsageError } from '../../errors.js';
import { atLeast, valueOption } from '../options.js';
import { COMMANDS, declaration } from './catalog.js';
import { remarks, shownState, statusTree } from '../status-tree.js';

export function registerStatus(program: Command): void {
  connOpts(program.command(declaration('status')).description(COMMANDS.status.description))
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
}

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
 * is said of each job below it, then a table of agents.
 */
export function printStatus(out: Output, jobs: JobStatus[], agents: AgentStatus[]): void {
  const rows = statusTree(jobs);
  if (jobs.length === 0) out.line('no jobs');
  else
    out.table(
      ['JOB', 'KIND', 'STATE', 'DONE', 'FAILED', 'RUNNING', 'QUEUED', 'RETRIED', 'SPECULATED', 'RATE/s', 'ETA'],
      rows.map(({ job: j, prefix }) => [prefix + j.job, j.kind, shownState(j), `${j.done}/${j.total}`, j.failed, j.running, j.queued, j.retried, j.speculated, formatRate(j.rate), j.state === 'running' ? (j.etaS === null ? '?' : formatDuration(j.etaS)) : '-']),
    );
  for (const row of rows) for (const [label, text] of remarks(row)) out.line(`${label} (${row.job.job}): ${text}`);
  out.line('');
  if (agents.length === 0) out.line('no agents');
  else {
    // A GPU column only where some agent has GPUs: free/total, '-' for an agent without; a
    // PYTHON column (its python3's version) only where some agent runs users' code.
    const gpus = agents.some((a) => a.gpus);
    const python = agents.some((a) => a.python);
    // An interpreters column only where some agent has live ones (python jobs).
    const py = agents.some((a) => a.interpreters);
    out.table(
      ['AGENT', 'HOST', 'STATE', 'SLOTS', 'BUSY', 'MEMORY', ...(py ? ['INTERPRETERS'] : []), ...(gpus ? ['GPUS FREE'] : []), ...(python ? ['PYTHON'] : []), 'DONE', 'SEEN'],
      agents.map((a) => [a.agent, a.host, a.state + (a.spot ? ' (spot)' : ''), a.slots, a.busy, formatBytes(a.memory), ...(py ? [interpreterCell(a)] : []), ...(gpus ? [gpuCell(a)] : []), ...(python ? [a.python ?? '-'] : []), a.done, `${(a.lastSeenMs / 1000).toFixed(1)}s ago`]),
    );
    for (const a of agents) for (const j of a.interpreters?.jobs ?? []) out.line(`interpreters (${a.agent}, job ${j.job}): ${j.count}, ${formatBytes(j.rss)} resident, largest ${formatBytes(j.maxRss)}`);
  }
}

/** An agent's live interpreters as `count: memory`, or '-' when it has none. */
export function interpreterCell(a: AgentStatus): string {
  return a.interpreters ? `${a.interpreters.count}: ${formatBytes(a.interpreters.rss)}` : '-';
}

/** An agent's GPUs as `free/total`, or '-' when it has none. */
export function gpuCell(a: AgentStatus): string {
  return a.gpus ? `${a.freeGpus ?? 0}/${a.gpus}` : '-';
}

