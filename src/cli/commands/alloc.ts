/** `shoal alloc add slurm|list|pause|resume|remove`: a running coordinator's allocation queues. */
import type { Command } from '@commander-js/extra-typings';
import type { AllocQueueStatus } from '../../../protocol/index.js';
import { connOpts, withClient } from '../connect.js';
import { Output } from '../output.js';
import { Exit } from '../exit.js';
import { UsageError } from '../../errors.js';
import { ALLOC_OPTIONS, allocSpec } from '../alloc-spec.js';
import { COMMANDS, declaration } from './catalog.js';

export function registerAlloc(program: Command): void {
  const alloc = program.command(declaration('alloc')).description(COMMANDS.alloc.description);
  const add = connOpts(alloc.command('add').argument('<manager>', 'the resource manager: slurm').description('add an allocation queue: Slurm jobs of agents that join this coordinator when the queued work needs them'));
  for (const [name, help] of Object.entries(ALLOC_OPTIONS)) add.option(`--${name} <value>`, help);
  add.option('--json', 'machine-readable output').action(async (manager: string, opts: Record<string, unknown>) => {
    if (manager !== 'slurm') throw new UsageError(`shoal alloc add ${manager}: the only resource manager is slurm`);
    const values: Record<string, unknown> = {};
    for (const name of Object.keys(ALLOC_OPTIONS)) {
      const v = opts[name.replace(/-(\w)/g, (_, c: string) => c.toUpperCase())];
      if (v !== undefined) values[name] = v;
    }
    const spec = allocSpec(values, (k) => `--${k}`);
    const out = new Output(!!opts.json);
    await withClient(opts as { nats?: string; ns?: string }, async (c) => {
      const r = await c.alloc('add', { spec });
      out.data(r);
      out.line(`allocation queue ${r.queues[0]!.id} added`);
    });
    process.exitCode = Exit.Done;
  });
  connOpts(alloc.command('list').description('the allocation queues, their allocations (Slurm job ids, states, agents) and why each last decided as it did'))
    .option('--json', 'machine-readable output')
    .action(async (opts) => {
      const out = new Output(!!opts.json);
      await withClient(opts, async (c) => {
        const r = await c.alloc('list');
        out.data(r);
        if (r.queues.length === 0) out.line('no allocation queues');
        for (const l of allocLines(r.queues)) out.line(l);
      });
      process.exitCode = Exit.Done;
    });
  for (const op of ['pause', 'resume', 'remove'] as const) {
    const help = { pause: 'stop submitting allocations (those running go on)', resume: 'submit again after a pause (its failures in a row start again from 0)', remove: 'remove the queue: allocations not started are cancelled, its agents drain' }[op];
    connOpts(alloc.command(op).argument('<queue>', 'its id or name').description(help))
      .option('--json', 'machine-readable output')
      .action(async (queue: string, opts) => {
        const out = new Output(!!opts.json);
        await withClient(opts, async (c) => {
          const r = await c.alloc(op, { queue });
          out.data(r);
          out.line(`allocation queue ${r.queues[0]!.id} ${op === 'pause' ? 'paused' : op === 'resume' ? 'resumed' : 'removed'}`);
        });
        process.exitCode = Exit.Done;
      });
  }
}

/** Each queue in a few lines: its state, counts, last decision, unservable jobs, then its allocations. */
export function allocLines(queues: readonly AllocQueueStatus[]): string[] {
  const lines: string[] = [];
  for (const q of queues) {
    const s = q.spec;
    const live = q.allocations.filter((a) => a.state === 'submitting' || a.state === 'pending' || a.state === 'running');
    lines.push(`queue ${q.id}${s.name ? ` (${s.name})` : ''}: ${q.state}, ${s.nodes} node(s) × ${s.walltimeS} s${s.partition ? `, partition ${s.partition}` : ''}; ${live.length}/${s.maxJobs} live, ${q.submitted} submitted, ${q.failed} failed`);
    if (q.paused) lines.push(`  paused: ${q.paused}`);
    lines.push(`  decision: ${q.decision}`);
    for (const u of q.unservable) lines.push(`  cannot serve ${u}`);
    for (const a of q.allocations) {
      lines.push(`  ${a.id} ${a.slurmJob ? `slurm job ${a.slurmJob}` : '(no job id yet)'} ${a.state}${a.agents.length ? `, agents ${a.agents.join(' ')}` : ''}${a.reason ? `: ${a.reason}` : ''}`);
    }
  }
  return lines;
}
