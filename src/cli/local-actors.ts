/**
 * The coordinator, its sink and one agent in this process, for `run` and `pipeline`: on the
 * in-process bus, or over --nats so other agents can join. Started together, stopped together.
 */
import type { Logger } from '../log.js';
import { CtlClient } from './client.js';
import { connectBus } from './connect.js';
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
}

export interface LocalActors {
  client: CtlClient;
  /** Stops the agent (if any), the coordinator and the bus, in that order. */
  stop(why: string): Promise<void>;
}

/** Starts them; `allowCommand` lets the local agent run users' programs and code. */
export async function startLocal(opts: LocalOptions, log: Logger, label: string, outDir: string, allowCommand: boolean): Promise<LocalActors> {
  const conn = await connectBus(opts, label, { embedded: true });
  // No registry: running the same command again is what resumes its jobs.
  let actors: Awaited<ReturnType<typeof startCoordinator>>;
  try {
    actors = await startCoordinator(conn.bus, conn.subj, log, { outDir, ns: conn.ns, agentTimeout: opts.agentTimeout, dispatchMs: opts.dispatchMs, splitMinS: opts.splitMinS, jobMemory: opts.jobMemory, persist: false });
  } catch (err) {
    await conn.bus.close();
    throw err;
  }
  let agent: Awaited<ReturnType<typeof createAgent>> | null = null;
  try {
    if (opts.workers !== 0) agent = await createAgent(conn.bus, conn.subj, log, { workers: opts.workers, memory: opts.memory, oversubscribe: !!opts.oversubscribe, inputCache: opts.inputCache, allowCommand });
  } catch (err) {
    // A bad agent option: stop what was started so the process can exit with the error.
    await actors.stop();
    await conn.bus.close();
    throw err;
  }
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
