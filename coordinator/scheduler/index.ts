/** The scheduling core: a pure state machine (no bus, no timers; time is an argument). */
export { Scheduler } from './scheduler.js';
export { DEFAULT_SCHEDULER_OPTIONS, type SchedulerOptions, type JobOptions, type Granularity, type NewTask, type PullParams, type TaskSource, type DoneLookup, type LateTask, sourceOf } from './options.js';
export { costOrder, costOrderSteps, type TaskOrder } from './cost-order.js';
export type { Command } from './commands.js';
export { TRANSITIONS, moveTask, newTask, TransitionLog, type TaskState, type Task } from './task-state.js';
export { AGENT_TRANSITIONS, type AgentState } from './agents.js';
export { INVARIANTS, InvariantError, type InvariantName } from './invariants.js';
export type { AgentView, JobDemand } from './demand.js';
