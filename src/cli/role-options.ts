/**
 * The options of the coordinator and of the agent (the per-role commands and `run`), each with
 * its component's own default (DEFAULT_SCHEDULER_OPTIONS, DEFAULT_AGENT_OPTIONS), so it is
 * stated nowhere else.
 */
import { Option } from '@commander-js/extra-typings';
import { DEFAULT_AGENT_OPTIONS as AGENT, parseGpuList } from '../../agents/index.js';
import { DEFAULT_SCHEDULER_OPTIONS as SCHEDULER } from '../../coordinator/index.js';
import { atLeast, GB, integerFrom, valueOption } from './options.js';

/** Coordinator options (`coordinator` and `run`). */
export const coordinatorOptions = {
  outDir: (description: string) => new Option('--out-dir <dir>', description).default('shoal-out'),
  agentTimeout: () => valueOption('--agent-timeout <s>', 'seconds of silence before an agent is lost and its tasks requeued', atLeast(0.1)).default(SCHEDULER.agentTimeoutMs / 1000),
  lostRetention: () => valueOption('--lost-retention <s>', 'seconds a lost agent stays listed in status before it is forgotten', atLeast(0)).default(SCHEDULER.lostRetentionMs / 1000),
  leftRetention: () =>
    valueOption('--left-retention <s>', 'seconds an agent that left (drained, or stopped by SIGTERM or SIGINT) stays listed in status before it is forgotten', atLeast(0)).default(SCHEDULER.leftRetentionMs / 1000),
  dispatchMs: () => valueOption('--dispatch-ms <ms>', 'work per dispatch bundle, from measured task times (smaller: better balance; larger: less messaging)', atLeast(1)).default(SCHEDULER.dispatchMs),
  maxAttempts: () => valueOption('--max-attempts <n>', 'attempts per task before it becomes an error row', integerFrom(1)).default(SCHEDULER.maxAttempts),
  jobMemory: () => valueOption('--job-memory <gb>', "most memory one job's tasks may take in the coordinator (18 bytes a task while it is admitted, 2-10 after); a larger job is refused (default: what is free)", atLeast(0.001)),
  cache: () => new Option('--cache <dir>', 'result cache for jobs submitted without --cache of their own (README: the result cache)').env('SHOAL_CACHE'),
  splitMinS: () =>
    valueOption('--split-min-s <s>', 'split a splittable task while dispatching (when it exceeds a fair share of the work left) only if it is expected to run this long; 0 = never split', atLeast(0)).default(SCHEDULER.splitMinS),
};

/** Agent options (`agent` and the local agent of `run`). */
export const agentOptions = {
  memory: () => valueOption('--memory <gb>', 'memory tasks may use, GB (default: the least of node, cgroup and Slurm)', atLeast(0.001)),
  grace: () => valueOption('--grace <s>', 'on drain or SIGTERM, seconds running tasks get to finish', atLeast(0)).default(AGENT.graceMs / 1000),
  minFreeMemory: () => valueOption('--min-free-memory <gb>', 'stop pulling while available memory is below this', atLeast(0)).default(AGENT.minFreeMemory / GB),
  recycleAfter: () => valueOption('--recycle-after <n>', 'replace a worker thread after it ran N tasks (0 = never)', integerFrom(0)).default(AGENT.recycleAfter),
  workerHeap: () => valueOption('--worker-heap <mb>', 'heap limit per worker thread; a task over it is retried elsewhere (0 = default)', integerFrom(0)).default(AGENT.workerHeapMb),
  gpus: () =>
    new Option('--gpus <list>', "GPUs tasks may be given: indices separated by commas (0,1,2,3), or 'none' (default: nvidia-smi's, narrowed by CUDA_VISIBLE_DEVICES or Slurm's GPU lists)").argParser(parseGpuList),
  inputCache: () =>
    valueOption('--input-cache <mb>', 'parsed inputs (molecule topologies and conformers, trajectory atoms) kept once for all workers to share (0 = each worker parses its own)', atLeast(0)).default(AGENT.inputCacheMb),
};
