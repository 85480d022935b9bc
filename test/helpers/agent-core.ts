/** Builders for driving the agent's core by events, without a bus or a pool. */
import type { JobInfo, TaskMsg, Welcome } from '../../protocol/index.js';
import { AgentCore, type AgentCommand, type Bundle, type BundleEnd, type CoreOptions } from '../../agents/index.js';
import { GroupBuilder } from '../../src/rows/index.js';

export const JOB: JobInfo = { job: 'J', kind: 'spin', params: {} };

/** A core of `slots` slots (one bundle per thread unless `depth` says more), already started and welcomed. */
export function newCore(opts: Partial<CoreOptions> = {}): AgentCore {
  const core = new AgentCore({ agent: 'h-1', host: 'h', slots: 1, prefetch: 2, depth: 1, memoryLimit: 1e9, minFreeMemory: 0, freeMemory: 1e9, ...opts });
  core.start();
  core.welcomed(welcome(1), 0);
  core.check();
  return core;
}

/** A welcome of `epoch` from coordinator boot `boot`. */
export function welcome(epoch: number, boot = 'boot-a'): Pick<Welcome, 'coordinator' | 'epoch' | 'seq' | 'heartbeatMs'> {
  return { epoch, seq: 0, heartbeatMs: 2000, coordinator: { boot, host: 'c', pid: 1, since: 0, outDir: '/out' } };
}

/** `n` tasks named prefix0, prefix1, …; `final` marks their last attempt. */
export function tasks(n: number, prefix = 't', final = false): TaskMsg[] {
  return Array.from({ length: n }, (_, i) => ({ id: `${prefix}${i}`, attempt: 1, cost: 1, final, ref: null }));
}

/** Dispatches bundles of the given task lists (one thread each) and returns the commands. */
export function dispatch(core: AgentCore, ...bundles: TaskMsg[][]): AgentCommand[] {
  const cmds = core.dispatched(1, [JOB], bundles.map((t) => ({ job: JOB.job, threads: 1, tasks: t })));
  core.check();
  return cmds;
}

/** The bundles the commands run. */
export function runs(cmds: readonly AgentCommand[]): Bundle[] {
  return cmds.flatMap((c) => (c.kind === 'run' ? [c.bundle] : []));
}

/** The kinds of the commands, in order. */
export function kinds(cmds: readonly AgentCommand[]): string[] {
  return cmds.map((c) => c.kind);
}

/** A bundle end where the tasks `ok` ran to a result and `failed` failed (retryable). */
export function done(b: Bundle, ok: readonly string[], failed: readonly string[] = []): BundleEnd {
  const g = new GroupBuilder(b.job);
  for (const id of ok) g.add(id, 1, true, 1, `{"task":"${id}"}\n`);
  const failures = failed.map((id) => ({ id, attempt: 1, error: { code: 'E_TASK', message: 'boom' } }));
  return { kind: 'done', out: { group: g.build(), failures, threadId: 1, tasksRun: ok.length + failed.length } };
}

/** The ids of the reports waiting, taking them. */
export function reported(core: AgentCore): string[] {
  return core.takeReports().map((r) => r.id);
}

/** The epoch the core pulls under, or null while it joins. */
export function epochOf(core: AgentCore): number | null {
  return core.link?.epoch ?? null;
}
