/** Allocation queues: the pure core (decision, allocations, queue) and the Slurm shell that carries out its commands. */
export { decide, unservable, usableSeconds, backoffMs, type Decision, type QueueFacts } from './decide.js';
export { AllocQueue, QUEUE_TRANSITIONS, type AllocCommand, type QueueStateName } from './queue.js';
export { ALLOCATION_TRANSITIONS, type Allocation } from './allocation.js';
export { SLURM_ENDED, SLURM_NEVER_STARTS, type World, type SlurmJobView, type AgentView, type JobDemand } from './world.js';
export { AllocManager, DEFAULT_ALLOC_OPTIONS, type AllocManagerOptions, type AllocHost } from './manager.js';
export { slurmCli, slurmTime, type SlurmCli } from './slurm.js';
