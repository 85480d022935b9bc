/** The coordinator: the pure scheduling core, job handling, and the actor shell. */
export {
  Scheduler,
  DEFAULT_SCHEDULER_OPTIONS,
  type SchedulerOptions,
  type Command,
  type NewTask,
  type TaskSource,
  type DoneLookup,
  type TaskOrder,
  costOrderSteps,
  type JobOptions,
  type PullParams,
  TRANSITIONS,
  moveTask,
  newTask,
  TransitionLog,
  type TaskState,
  type Task,
  AGENT_TRANSITIONS,
  type AgentState,
  INVARIANTS,
  InvariantError,
  type InvariantName,
  type LateTask,
} from './scheduler/index.js';
export { Coordinator, DEFAULT_COORDINATOR_OPTIONS, type CoordinatorOptions } from './actor.js';
export { contentFingerprint, expandJob, legacyFingerprint, readJobRecord, splitterFor, type JobRecord } from './jobs/index.js';
export { cacheStats, pruneCache, CacheStore, KeyMaker, cutRow, decodePack, packsDir, type CacheStats, type PruneReport, type CacheRun } from './cache/index.js';
