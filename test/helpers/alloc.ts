/** Builders for the allocation core's tests: a queue's spec, a job's demand, an agent. */
import type { AllocQueueSpec } from '../../protocol/index.js';
import type { AgentView, JobDemand } from '../../coordinator/alloc/index.js';

export function spec(o: Partial<AllocQueueSpec> = {}): AllocQueueSpec {
  return { manager: 'slurm', maxJobs: 4, nodes: 1, walltimeS: 600, sbatchArgs: [], agentArgs: [], idleTimeoutS: 60, drainBeforeS: 60, connectTimeoutS: 120, maxFailures: 3, cpusPerNode: 4, ...o };
}
export function job(o: Partial<JobDemand> = {}): JobDemand {
  return { job: 'J', queued: 100, running: 0, taskSeconds: 10, timeoutS: 0, threads: 1, memory: 0, gpus: 0, needsCommand: false, ...o };
}
export function agent(o: Partial<AgentView> = {}): AgentView {
  return { agent: 'a1', slurmJob: null, slots: 4, busy: 4, active: true, present: true, endsAt: null, ...o };
}
