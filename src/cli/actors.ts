/**
 * Starting the actors from command-line options: the coordinator with its sink, and an
 * agent with its probe. Shared by `run` (all in one process) and the per-role commands.
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Bus } from '../bus/index.js';
import { ANONYMOUS, subjectToken, type Subjects } from '../../protocol/index.js';
import type { Logger } from '../log.js';
import { Coordinator, DEFAULT_SCHEDULER_OPTIONS } from '../../coordinator/index.js';
import { Agent, availableMemory, probeNode, type NodeProbe } from '../../agents/index.js';
import { UsageError } from '../errors.js';
import { loadHandlerModules, WORKER_ADAPTER } from '../kinds/handlers/index.js';

export interface CoordinatorCliOptions {
  outDir: string;
  agentTimeout?: string;
  /** Seconds a lost agent stays listed (and known) before it is forgotten (default 300). */
  lostRetention?: string;
  /** Target work per dispatch bundle, ms (default 50). */
  dispatchMs?: string;
  maxAttempts?: string;
  /** Seconds a task must be expected to run before it may be split while dispatching (default 2; 0 = never split). */
  splitMinS?: string;
  persist: boolean;
  /** The namespace (for messages). */
  ns: string;
  /** Another coordinator turned out to own the namespace after this one started. */
  onConflict?: (message: string) => void;
}

export function positive(name: string, v: string | undefined, def: number, opts: { integer?: boolean; min?: number } = {}): number {
  if (v === undefined) return def;
  const n = Number(v);
  const min = opts.min ?? 0;
  if (!Number.isFinite(n) || n < min || (opts.integer && !Number.isInteger(n))) {
    throw new UsageError(`${name} must be ${opts.integer ? 'an integer' : 'a number'} >= ${min}, got '${v}'`);
  }
  return n;
}

/** Starts the coordinator (and the sink it hosts) on the bus; refuses (E_REFUSED) when the namespace has an owner. */
export async function startCoordinator(bus: Bus, subj: Subjects, log: Logger, o: CoordinatorCliOptions): Promise<{ coordinator: Coordinator; stop(): Promise<void> }> {
  const coordinator = new Coordinator(bus, subj, log.child({ component: 'coordinator' }), {
    outDir: resolve(o.outDir),
    ns: o.ns,
    persist: o.persist,
    onConflict: o.onConflict ?? (() => undefined),
    scheduler: {
      agentTimeoutMs: positive('--agent-timeout', o.agentTimeout, 10, { min: 0.1 }) * 1000,
      lostRetentionMs: positive('--lost-retention', o.lostRetention, 300) * 1000,
      dispatchMs: positive('--dispatch-ms', o.dispatchMs, 50, { min: 1 }),
      maxAttempts: positive('--max-attempts', o.maxAttempts, 3, { integer: true, min: 1 }),
      splitMinS: positive('--split-min-s', o.splitMinS, DEFAULT_SCHEDULER_OPTIONS.splitMinS),
    },
  });
  try {
    await coordinator.start();
  } catch (err) {
    await coordinator.stop();
    throw err;
  }
  return {
    coordinator,
    stop: () => coordinator.stop(),
  };
}

export interface AgentCliOptions {
  workers?: string;
  memory?: string;
  spot?: boolean;
  strictAffinity?: boolean;
  /** Run --workers threads even when fewer CPUs are usable (benchmarks, I/O-bound kinds). */
  oversubscribe?: boolean;
  allowCommand?: boolean;
  grace?: string;
  minFreeMemory?: string;
  handlers?: string[];
  recycleAfter?: string;
  workerHeap?: string;
  inputCache?: string;
}

/**
 * The principal an agent speaks under: SHOAL_PRINCIPAL, else its NATS user (SHOAL_NATS_USER),
 * else the anonymous one. With a .creds file (whose user name the client cannot read) set
 * SHOAL_PRINCIPAL to the name your NATS permissions grant it.
 */
export function principalFromEnv(env: NodeJS.ProcessEnv): string {
  const p = env.SHOAL_PRINCIPAL || env.SHOAL_NATS_USER;
  return p ? subjectToken(p) : ANONYMOUS;
}

/** How many workers to run: asked for, or the usable CPUs (under Slurm, no more than it allocated). */
export function resolveWorkers(asked: number | undefined, probe: NodeProbe, strict: boolean, log: Logger, oversubscribe = false): number {
  let usable = probe.cpus.usable;
  if (probe.slurm?.cpusOnNode) usable = Math.min(usable, probe.slurm.cpusOnNode);
  if (asked === undefined) return Math.max(1, usable);
  if (asked > usable && oversubscribe && !strict) {
    log.warn({ asked, usable }, `running ${asked} workers on ${usable} usable CPUs (--oversubscribe)`);
    return asked;
  }
  if (asked > usable) {
    if (strict) throw new UsageError(`--strict-affinity: asked for ${asked} workers but this process may use only ${usable} CPUs (affinity/Slurm allocation)`);
    log.warn({ asked, usable }, `asked for ${asked} workers but only ${usable} CPUs are usable; using ${usable}`);
    return Math.max(1, usable);
  }
  return asked;
}

/**
 * Probes the node and builds an agent (not started). Handler modules are imported here once,
 * in the main thread, to check them and learn the kind names the agent offers; a module that
 * throws while loading is a UsageError naming it (exit code 2).
 */
export async function createAgent(bus: Bus, subj: Subjects, log: Logger, o: AgentCliOptions): Promise<Agent> {
  const loaded = await loadHandlerModules(o.handlers ?? []);
  const handlerKinds = loaded.flatMap((h) => h.kinds);
  for (const h of loaded) log.info({ module: h.path, kinds: h.kinds }, 'handler module loaded');
  // The workers load the same modules; the adapter (last) wraps simple { name, run } kinds.
  const handlers = loaded.length > 0 ? [...loaded.map((h) => h.path), fileURLToPath(WORKER_ADAPTER)] : [];
  const probe = await probeNode();
  const asked = o.workers !== undefined ? positive('--workers', o.workers, 1, { integer: true, min: 1 }) : undefined;
  const workers = resolveWorkers(asked, probe, !!o.strictAffinity, log, !!o.oversubscribe);
  const GB = 2 ** 30;
  let limit = probe.memory.total;
  if (probe.memory.cgroupLimit !== null) limit = Math.min(limit, probe.memory.cgroupLimit);
  if (probe.slurm?.memPerNode) limit = Math.min(limit, probe.slurm.memPerNode);
  // Under DefMemPerCPU Slurm sets only the memory per CPU.
  else if (probe.slurm?.memPerCpu && probe.slurm.cpusOnNode) limit = Math.min(limit, probe.slurm.memPerCpu * probe.slurm.cpusOnNode);
  if (o.memory !== undefined) limit = Math.min(limit, positive('--memory', o.memory, 0, { min: 0.001 }) * GB);
  const info = {
    host: probe.slurm?.node ?? probe.host,
    pid: process.pid,
    cpus: probe.cpus,
    memory: { total: probe.memory.total, available: probe.memory.available, limit },
    ...(probe.slurm ? { slurm: { ...probe.slurm } } : {}),
  };
  return new Agent(bus, subj, info, log.child({ component: 'agent' }), {
    workers,
    principal: principalFromEnv(process.env),
    memoryLimit: limit,
    spot: !!o.spot,
    allowCommand: !!o.allowCommand,
    graceMs: positive('--grace', o.grace, 30) * 1000,
    minFreeMemory: positive('--min-free-memory', o.minFreeMemory, 0) * GB,
    handlers,
    handlerKinds,
    recycleAfter: positive('--recycle-after', o.recycleAfter, 0, { integer: true }),
    workerHeapMb: positive('--worker-heap', o.workerHeap, 0, { integer: true }),
    inputCacheMb: positive('--input-cache', o.inputCache, 256),
  }, availableMemory);
}
