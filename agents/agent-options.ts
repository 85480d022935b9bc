/** The agent's options, their defaults, and what its shell parts share. */
import type { Bus } from '../src/bus/index.js';
import { ANONYMOUS, type Subjects } from '../protocol/index.js';
import type { Logger } from '../src/log.js';
import type { ResultSender } from '../src/sink/index.js';
import type { AgentCommand, AgentCore } from './core/index.js';
import type { PoolFactory } from './bundle-pool.js';

/** Agent options; defaults in DEFAULT_AGENT_OPTIONS. */
export interface AgentOptions {
  /** Worker threads (slots). */
  workers: number;
  /** Bundles held beyond the running ones, so the pool never waits on the network. Default = workers. */
  prefetch: number;
  /** Memory this agent may use, bytes (least of node, cgroup and --memory). */
  memoryLimit: number;
  /** Stop pulling while available memory is below this (bytes). Default 0. */
  minFreeMemory: number;
  /** Time running tasks get to finish on drain (ms). Default 30,000. */
  graceMs: number;
  /** Longest a pull waits at the coordinator for work (ms). Default 5,000. */
  pullWaitMs: number;
  spot: boolean;
  allowCommand: boolean;
  handlers: string[];
  /** Kinds the handler modules provide (told to the coordinator). */
  handlerKinds: string[];
  recycleAfter: number;
  workerHeapMb: number;
  /** MB of parsed inputs kept for the workers to share (0 = off). Default 256. */
  inputCacheMb: number;
  /** Result groups (about one per bundle) waiting for the sink above which the agent stops pulling. Default 256. */
  outboxHighWater: number;
  /**
   * The name NATS permissions grant this agent to speak under (its NATS user): it is part of
   * its id and of the subjects it sends on. Default ANONYMOUS (no NATS user).
   */
  principal: string;
  /**
   * Builds the pool that runs the bundles. Default: worker threads (WorkerPool). Simulated
   * agents pass `inlinePool`, whose slots run on the main thread and cost no thread.
   */
  pool?: PoolFactory;
}

export const DEFAULT_AGENT_OPTIONS: Omit<AgentOptions, 'workers' | 'memoryLimit'> = {
  prefetch: -1,
  minFreeMemory: 0,
  graceMs: 30_000,
  pullWaitMs: 5_000,
  spot: false,
  allowCommand: false,
  handlers: [],
  handlerKinds: [],
  recycleAfter: 0,
  workerHeapMb: 0,
  inputCacheMb: 256,
  outboxHighWater: 256,
  principal: ANONYMOUS,
};

/** What the agent's shell parts (link, pull loop, actor) share. */
export interface AgentShell {
  readonly id: string;
  readonly bus: Bus;
  readonly subj: Subjects;
  readonly log: Logger;
  readonly opts: AgentOptions;
  readonly core: AgentCore;
  readonly sender: ResultSender;
  /** Carries out the core's commands, in order. */
  apply(cmds: readonly AgentCommand[]): void;
  /** Stops the agent; idempotent, resolves with the exit code. */
  stop(code: number, why: string): Promise<number>;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
