/**
 * Whether an agent may run a job's kind, and, for a job that no connected agent may run, one
 * line saying why and what to do. That line is worked out from the roster each time status is
 * asked (an agent that joins or leaves changes it), so a job is never left waiting in silence:
 * `submit --wait` and `run` print it, `status` shows it among the job's notes.
 */
import type { Agent } from './agents.js';
import type { Job } from './job.js';

/** Handler kinds named in the line at most; the rest are counted. */
const MAX_KINDS_NAMED = 12;

/** Why the agent may not run the job's kind (the note recorded for the job), or null when it may. */
export function whyNot(a: Agent, job: Job): string | null {
  if (job.opts.needsCommand && !a.info.allowCommand) return `agent ${a.id} declines ${job.spec.kind} tasks (started without --allow-command)`;
  if (!job.opts.builtin && !a.info.kinds.includes(job.spec.kind)) return `agent ${a.id} has no handler for kind '${job.spec.kind}' (--handlers)`;
  return null;
}

/**
 * When agents are connected (active) and none of them may run the job's kind while the job has
 * tasks to run: which kind, what the agents offer instead and what to do. Null otherwise, also
 * with no agent connected at all (one may still join: the waiting CLI says that itself).
 */
export function unrunnable(job: Job, agents: Iterable<Agent>): string | null {
  if (job.state !== 'running' && job.state !== 'waiting') return null;
  if (job.queue.counts.queued === 0 && !job.fed) return null;
  const active: Agent[] = [];
  for (const a of agents) {
    if (a.state.s !== 'active') continue;
    if (whyNot(a, job) === null) return null;
    active.push(a);
  }
  if (active.length === 0) return null;
  const kind = job.spec.kind;
  const who = active.length === 1 ? `agent ${active[0]!.id}` : `the ${active.length} connected agents`;
  if (job.opts.needsCommand) {
    return `no connected agent runs ${kind} tasks: ${active.length === 1 ? `${who} was` : `all ${active.length} connected agents were`} started without --allow-command; start an agent with --allow-command (it lets tasks run programs and code), or cancel the job`;
  }
  return `no connected agent has a handler for kind '${kind}': ${who} ${active.length === 1 ? 'offers' : 'offer'} ${offered(active)}; start an agent with --handlers MODULE whose module exports '${kind}', or fix the kind's name (cancel this job, submit it again)`;
}

/** What the agents offer: the built-in kinds, and their handler kinds (a few named). */
function offered(agents: readonly Agent[]): string {
  const kinds = new Set<string>();
  for (const a of agents) for (const k of a.info.kinds) kinds.add(k);
  if (kinds.size === 0) return 'only the built-in kinds (started without --handlers)';
  const names = [...kinds].sort();
  const shown = names.slice(0, MAX_KINDS_NAMED).map((k) => `'${k}'`).join(', ');
  const more = names.length > MAX_KINDS_NAMED ? ` and ${names.length - MAX_KINDS_NAMED} more` : '';
  return `the built-in kinds and ${shown}${more}`;
}
