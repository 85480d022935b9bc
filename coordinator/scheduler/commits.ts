/**
 * Commits: the sink wrote rows for these tasks. The first result wins: the task is done, its
 * other holder is told to abort, the job's speed is measured, and the job may end.
 */
import type { CommitGroup } from '../../protocol/index.js';
import { gpuCount, present, type Agent } from './agents.js';
import type { Command, Ctx } from './commands.js';
import { serve } from './dispatch.js';
import { endIfFinished } from './lifecycle.js';
import { materialize } from './split.js';
import type { State } from './state.js';
import { DONE_ERROR, DONE_OK, type Task } from './task-state.js';

export function commit(st: State, g: CommitGroup, ctx: Ctx): void {
  const job = st.jobs.get(g.job);
  if (!job) return;
  const from = g.from;
  // Consecutive tasks usually share their holder: look it up once per run of them.
  let holderId = '';
  let holder: Agent | undefined;
  let sumMs = 0;
  let sumCost = 0;
  let measured = 0;
  let committed = 0;
  for (let i = 0; i < g.ids.length; i++) {
    const t = job.queue.get(g.ids[i]!) ?? materialize(job, g.ids[i]!, st.agents.activeSlots, ctx);
    if (!t) continue;
    const s = t.state;
    if (s.s === 'done') continue;
    if (s.s === 'leased') {
      if (s.agent !== holderId) {
        holderId = s.agent;
        holder = st.agents.get(holderId);
      }
      holder?.leases.delete(t);
      if (s.agent !== from) abortCopy(st, s.agent, t, ctx.out);
      if (s.copy) {
        st.agents.get(s.copy.agent)?.leases.delete(t);
        if (s.copy.agent !== from) abortCopy(st, s.copy.agent, t, ctx.out);
      }
    }
    const ok = g.status.charCodeAt(i) !== 101; // 'e': an error row
    job.queue.move(t, ok ? DONE_OK : DONE_ERROR, ctx.ev);
    committed++;
    if (!ok) job.errors++;
    const ms = g.ms[i]!;
    if (ok && ms > 0) {
      sumMs += ms;
      sumCost += t.cost;
      measured++;
    }
  }
  job.errorRecords += g.errorRecords;
  const a = st.agents.get(from);
  if (a) a.done += committed;
  if (measured > 0) job.throughput.add(sumMs / 1000, sumCost, measured);
  endIfFinished(st, job, ctx);
  // A pull parked while the agent's slots (or GPUs) were busy said it had none free; its leases
  // now say some are (long tasks, one per slot; GPUs counted as if each leased task held its
  // own, which is never fewer than its bundles hold), so serve it rather than wait for its expiry.
  if (a?.pull && a.state.s === 'active' && committed > 0) {
    const freeSlots = a.info.slots - a.leases.size;
    const gpus = gpuCount(a.info);
    const freeGpus = gpus > 0 ? gpus - leasedGpus(a) : 0;
    if (freeSlots > a.pull.freeSlots || freeGpus > a.pull.freeGpus) {
      a.pull.freeSlots = Math.max(freeSlots, a.pull.freeSlots);
      a.pull.freeGpus = Math.max(freeGpus, a.pull.freeGpus);
      serve(st, a, ctx);
    }
  }
}

/** GPUs the tasks leased to the agent need, summed. */
function leasedGpus(a: Agent): number {
  let n = 0;
  for (const t of a.leases) n += t.gpus;
  return n;
}

function abortCopy(st: State, agentId: string, t: Task, out: Command[]): void {
  const holder = st.agents.get(agentId);
  if (holder && present(holder)) out.push({ kind: 'abort', agent: agentId, job: t.job, tasks: [t.id], reason: 'another copy was committed first' });
}
