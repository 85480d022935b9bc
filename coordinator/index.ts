/** The coordinator: the pure scheduling core, job handling, and the actor shell. */
export { Scheduler, DEFAULT_SCHEDULER_OPTIONS, type SchedulerOptions, type Command, type NewTask, type JobOptions, type PullParams } from './scheduler.js';
export { Coordinator, DEFAULT_COORDINATOR_OPTIONS, type CoordinatorOptions } from './actor.js';
export { expandJob, fingerprint, readJobRecord, splitterFor, type JobRecord } from './jobs/index.js';
export { TRANSITIONS, IllegalTransitionError, moveTask, TransitionLog, type TaskState, type Task } from './task-state.js';
