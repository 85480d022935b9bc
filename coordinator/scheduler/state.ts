/** What the scheduler's concerns share: its options, its jobs and its agents. */
import type { AgentRoster } from './agents.js';
import type { Job } from './job.js';
import type { SchedulerOptions } from './options.js';

export interface State {
  readonly opts: SchedulerOptions;
  readonly jobs: Map<string, Job>;
  /** Running jobs in the order they were submitted (dispatch serves them in that order). */
  readonly running: Job[];
  readonly agents: AgentRoster;
  /** Bumped when work appears that no queue counter shows (a job submitted, a stall over). */
  news: number;
}
