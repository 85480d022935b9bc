/**
 * Speculation: a second copy of a straggler when its job's queue is empty and some agent is
 * idle. The first committed copy wins; the other is aborted (see commits).
 */
import { present, type Agent } from './agents.js';
import { log, type Ctx } from './commands.js';
import { answer, mayRun } from './dispatch.js';
import { taskMsg } from './job.js';
import type { State } from './state.js';
import type { Task, TaskState } from './task-state.js';

type Leased = Extract<TaskState, { s: 'leased' }>;

/** Copies stragglers to idle parked agents. Only leased tasks are looked at (through the agents' lease sets), never a whole job. */
export function speculate(st: State, ctx: Ctx): void {
  let idle: Agent[] | null = null;
  for (const job of st.running) {
    const q = job.queue;
    if (job.opts.speculate === false || job.stalled !== null || q.counts.queued > 0 || q.counts.leased === 0) continue;
    const spc = job.throughput.secondsPerCost();
    if (spc === null) continue;
    idle ??= [...st.agents.parked()].filter((a) => a.state.s === 'active' && a.busy === 0);
    if (idle.length === 0) return;
    const late: Array<[number, Task]> = [];
    for (const b of st.agents.values()) {
      if (!present(b)) continue;
      for (const t of b.leases) {
        const s = t.state;
        if (t.job !== job.name || s.s !== 'leased' || s.copy || s.agent !== b.id) continue;
        const lateness = (ctx.now - s.since) / Math.max(t.cost * spc * 1000, 200);
        if (lateness > st.opts.speculateFactor) late.push([lateness, t]);
      }
    }
    late.sort((x, y) => y[0] - x[0]);
    for (const [lateness, t] of late) {
      const s = t.state as Leased;
      // The copy needs its GPUs free on the idle agent, as any bundle does.
      const i = idle.findIndex((a) => a.pull && a.id !== s.agent && a.id !== t.avoid && t.gpus <= a.pull.freeGpus && mayRun(a, job));
      if (i < 0) continue;
      const a = idle.splice(i, 1)[0]!;
      const seq = ++a.seq;
      q.move(t, { ...s, copy: { agent: a.id, since: ctx.now, dispatch: seq } }, ctx.ev);
      a.leases.add(t);
      a.dispatches.set(seq, [t]);
      job.speculated++;
      const jobs = a.knows.has(job.name) ? [] : [job.info];
      a.knows.add(job.name);
      ctx.out.push(log('info', 'speculative copy of a straggler', { job: job.name, task: t.id, agent: a.id, runningOn: s.agent, lateness: +lateness.toFixed(1), event: ctx.ev }));
      a.freeGpus = a.pull!.freeGpus - t.gpus;
      answer(st, a, jobs, [{ job: job.name, threads: Math.min(t.threads, a.info.slots), ...(t.gpus > 0 ? { gpus: t.gpus } : {}), tasks: [taskMsg(t, job)] }], ctx.out);
      if (idle.length === 0) return;
    }
  }
}
