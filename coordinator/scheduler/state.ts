/** What the scheduler's concerns share: its options, its jobs and its agents. */
import type { AgentRoster } from './agents.js';
import type { UpstreamEnd } from './barriers.js';
import type { Job } from './job.js';
import type { SchedulerOptions } from './options.js';

export interface State {
  readonly opts: SchedulerOptions;
  readonly jobs: Map<string, Job>;
  /** Running jobs in the order they started running (dispatch picks among them by priority, then share). */
  readonly running: Job[];
  /** Jobs waiting for upstream jobs to end (`--after`), in the order they were submitted. */
  readonly waiting: Job[];
  /** Jobs this scheduler does not hold that ended before (from their records on disk), for `--after`. */
  readonly endedElsewhere: Map<string, UpstreamEnd>;
  readonly agents: AgentRoster;
  /** Bumped when work appears that no queue counter shows (a job submitted, a stall over). */
  news: number;
}
