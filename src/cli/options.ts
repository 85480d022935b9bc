/**
 * The command line's own options that carry a value, built in one place: each value is read and
 * checked while commander parses it (the one number parser, an error naming the option and the
 * value, exit code 2), and each default is the component's own (DEFAULT_SCHEDULER_OPTIONS,
 * DEFAULT_AGENT_OPTIONS), so it is stated nowhere else. Options that several commands share are
 * made here once.
 */
import { Option } from '@commander-js/extra-typings';
import { Type, type TSchema } from '@sinclair/typebox';
import { DEFAULT_AGENT_OPTIONS as AGENT } from '../../agents/index.js';
import { DEFAULT_SCHEDULER_OPTIONS as SCHEDULER } from '../../coordinator/index.js';
import { optionParser } from '../kinds/index.js';

/** Bytes in a GiB (memory options are given in GB). */
export const GB = 2 ** 30;

/** A number of at least `min`. */
export const atLeast = (min: number) => Type.Number({ minimum: min });
/** An integer of at least `min`. */
export const integerFrom = (min: number) => Type.Integer({ minimum: min });

/** An option whose value is read against `schema` as commander parses it. */
export function valueOption<U extends string, T extends TSchema>(flags: U, description: string, schema: T) {
  const option = new Option(flags, description);
  return option.argParser(optionParser(option.long ?? flags, schema));
}

/** Coordinator options (`coordinator` and `run`). */
export const coordinatorOptions = {
  outDir: (description: string) => new Option('--out-dir <dir>', description).default('shoal-out'),
  agentTimeout: () => valueOption('--agent-timeout <s>', 'seconds of silence before an agent is lost and its tasks requeued', atLeast(0.1)).default(SCHEDULER.agentTimeoutMs / 1000),
  lostRetention: () => valueOption('--lost-retention <s>', 'seconds a lost agent stays listed in status before it is forgotten', atLeast(0)).default(SCHEDULER.lostRetentionMs / 1000),
  dispatchMs: () => valueOption('--dispatch-ms <ms>', 'work per dispatch bundle, from measured task times (smaller: better balance; larger: less messaging)', atLeast(1)).default(SCHEDULER.dispatchMs),
  maxAttempts: () => valueOption('--max-attempts <n>', 'attempts per task before it becomes an error row', integerFrom(1)).default(SCHEDULER.maxAttempts),
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
  inputCache: () =>
    valueOption('--input-cache <mb>', 'parsed inputs (molecule topologies and conformers, trajectory atoms) kept once for all workers to share (0 = each worker parses its own)', atLeast(0)).default(AGENT.inputCacheMb),
};

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** --log-level, with the command's own default. */
export const logLevelOption = (byDefault: LogLevel) => valueOption('--log-level <level>', 'log level on stderr', Type.Union(LOG_LEVELS.map((l) => Type.Literal(l)))).default(byDefault);
