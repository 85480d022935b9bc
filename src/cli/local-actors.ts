/**
 * The coordinator, its sink and one agent in this process, for `run` and `pipeline`: on the
 * in-process bus, or over --nats so other agents can join. Started together, stopped together.
 */
import type { CommandUnknownOpts } from '@commander-js/extra-typings';
import type { Logger } from '../log.js';
import { agentOptions, coordinatorOptions } from './role-options.js';
import { CtlClient } from './client.js';
import { connectBus, natsUrlOf } from './connect.js';
import { UsageError } from '../errors.js';
import { createAgent, startCoordinator } from './actors.js';

/** What the local actors are started with (the options `run` and `pipeline` share). */
export interface LocalOptions {
  nats?: string;
  ns?: string;
  workers?: number;
  agentTimeout: number;
  dispatchMs: number;
  splitMinS: number;
  jobMemory?: number;
  oversubscribe?: true;
  inputCache: number;
  memory?: number;
  /** Modules whose kinds the local agent runs (`--handlers`). */
  handlers?: string[];
}

/** Adds the local coordinator's and agent's tuning options (the rest of LocalOptions is each command's own). */
export function addLocalTuning(cmd: CommandUnknownOpts): void {
  cmd
    .addOption(coordinatorOptions.agentTimeout())
    .addOption(coordinatorOptions.dispatchMs())
    .addOption(coordinatorOptions.splitMinS())
    .addOption(coordinatorOptions.jobMemory())
    .option('--oversubscribe', 'run --workers threads even when fewer CPUs are usable')
    .addOption(agentOptions.inputCache())
    .addOption(agentOptions.memory());
}

export interface LocalActors {
  client: CtlClient;
  /** Stops the agent (if any), the coordinator and the bus, in that order. */
  stop(why: string): Promise<void>;
}

/**
 * Refuses options with which no agent could ever run the job: no local agent (--workers 0) and
 * no NATS server for agents elsewhere to join through.
 */
export function checkLocal(opts: LocalOptions): void {
  if (opts.workers === 0 && natsUrlOf(opts) === undefined) {
    throw new UsageError('--workers 0 starts no agent in this process, and without --nats (or SHOAL_NATS) no other agent can join: nothing would ever run the job. Give --nats URL for agents on other nodes to join through, or leave out --workers 0');
  }
}

/** What the command's jobs need of the local agent. */
export interface LocalNeeds {
  /** Running users' programs and code (command, python). */
  allowCommand: boolean;
  /** GPUs: a job may hold them (a built-in kind given --gpus N, or a kind of the user's). */
  gpus: boolean;
}

/** Starts them, the local agent able to do what `needs` says. */
export async function startLocal(opts: LocalOptions, log: Logger, label: string, outDir: string, needs: LocalNeeds): Promise<LocalActors> {
  checkLocal(opts);
  const conn = await connectBus(opts, label, { embedded: true });
  // Without NATS the local agent runs this command's jobs alone: when none can hold a GPU, it
  // offers none rather than asking nvidia-smi (a fork of this process: ~10 ms of the main thread).
  const gpus = needs.gpus || natsUrlOf(opts) !== undefined ? {} : { gpus: [] };
  // The agent is built while the coordinator starts (its first worker thread started before: agents/early/).
  const agentMade = opts.workers === 0 ? Promise.resolve(null) : createAgent(conn.bus, conn.subj, log, { workers: opts.workers, memory: opts.memory, oversubscribe: !!opts.oversubscribe, inputCache: opts.inputCache, allowCommand: needs.allowCommand, ...gpus, ...(opts.handlers ? { handlers: opts.handlers } : {}) });
  // No registry: running the same command again is what resumes its jobs.
  const [coordinator, made] = await Promise.allSettled([
    startCoordinator(conn.bus, conn.subj, log, { outDir, ns: conn.ns, agentTimeout: opts.agentTimeout, dispatchMs: opts.dispatchMs, splitMinS: opts.splitMinS, jobMemory: opts.jobMemory, persist: false }),
    agentMade,
  ]);
  if (coordinator.status === 'rejected' || made.status === 'rejected') {
    // A bad option of either: stop what was started so the process can exit with the error.
    if (made.status === 'fulfilled') await made.value?.stop(0, 'not started');
    if (coordinator.status === 'fulfilled') await coordinator.value.stop();
    await conn.bus.close();
    throw coordinator.status === 'rejected' ? coordinator.reason : (made as PromiseRejectedResult).reason;
  }
  const actors = coordinator.value;
  const agent = made.value;
  agent?.start();
  return {
    client: new CtlClient(conn.bus, conn.subj, conn.ns),
    async stop(why) {
      if (agent) await agent.stop(0, why);
      await actors.stop();
      await conn.bus.close();
    },
  };
}
