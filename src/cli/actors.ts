/**
 * Starting the actors from command-line options: the coordinator with its sink, and an
 * agent with its probe. Shared by `run` (all in one process) and the per-role commands.
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Bus } from '../bus/index.js';
import { ANONYMOUS, subjectToken, type Subjects, type AllocQueueSpec } from '../../protocol/index.js';
import type { Logger } from '../log.js';
import { Coordinator } from '../../coordinator/index.js';
import { Agent, availableMemory, probeGpus, probeNode, probePython, type Gpu, type NodeProbe } from '../../agents/index.js';
import { UsageError } from '../errors.js';
import { loadHandlerModules, WORKER_ADAPTER } from '../kinds/handlers/index.js';
import { GB } from './options.js';


/** The coordinator's command-line options, read and checked (see options.ts); absent ones take the scheduler's defaults. */
export interface CoordinatorCliOptions {
  outDir: string;
  /** The result cache of jobs that name none (`--cache DIR`). */
  cache?: string;
  /** Seconds of silence before an agent is lost. */
  agentTimeout?: number;
  /** Seconds a lost agent stays listed (and known) before it is forgotten. */
  lostRetention?: number;
  /** Seconds an agent that left (drained) stays listed (and known) before it is forgotten. */
  leftRetention?: number;
  /** Target work per dispatch bundle, ms. */
  dispatchMs?: number;
  maxAttempts?: number;
  /** Seconds a task must be expected to run before it may be split while dispatching (0 = never split). */
  splitMinS?: number;
  /** GB one job's tasks may take in the coordinator (absent: what is free). */
  jobMemory?: number;
  persist: boolean;
  /** Allocation queues to add once it runs, the NATS URL their agents use, how often they decide (s). */
  allocs?: AllocQueueSpec[];
  agentNats?: string | null;
  allocPoll?: number;
  /** The namespace (for messages). */
  ns: string;
  /** Another coordinator turned out to own the namespace after this one started. */
  onConflict?: (message: string) => void;
}

/** Seconds → ms, keeping absence (so the component's default applies). */
const ms = (s: number | undefined): number | undefined => (s === undefined ? undefined : s * 1000);

/** The fields of `o` that are set: what is not set takes the component's default. */
function given<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Starts the coordinator (and the sink it hosts) on the bus; refuses (E_REFUSED) when the namespace has an owner. */
export async function startCoordinator(bus: Bus, subj: Subjects, log: Logger, o: CoordinatorCliOptions): Promise<{ coordinator: Coordinator; stop(): Promise<void> }> {
  const coordinator = new Coordinator(bus, subj, log, {
    outDir: resolve(o.outDir),
    ns: o.ns,
    persist: o.persist,
    ...(o.cache ? { cacheDir: resolve(o.cache) } : {}),
    ...(o.jobMemory !== undefined ? { jobMemory: o.jobMemory * 2 ** 30 } : {}),
    onConflict: o.onConflict ?? (() => undefined),
    alloc: { nats: o.agentNats ?? null, ...(o.allocPoll !== undefined ? { pollMs: ms(o.allocPoll)! } : {}) },
    scheduler: given({
      agentTimeoutMs: ms(o.agentTimeout),
      lostRetentionMs: ms(o.lostRetention),
      leftRetentionMs: ms(o.leftRetention),
      dispatchMs: o.dispatchMs,
      maxAttempts: o.maxAttempts,
      splitMinS: o.splitMinS,
    }),
  });
  try {
    await coordinator.start();
    for (const spec of o.allocs ?? []) coordinator.alloc.add(spec);
  } catch (err) {
    await coordinator.stop();
    throw err;
  }
  return {
    coordinator,
    stop: () => coordinator.stop(),
  };
}

/** The agent's command-line options, read and checked (see options.ts); absent ones take the agent's defaults. */
export interface AgentCliOptions {
  workers?: number;
  /** GPUs declared with --gpus (instead of the probe's). */
  gpus?: Gpu[];
  /** GB. */
  memory?: number;
  spot?: boolean;
  strictAffinity?: boolean;
  /** Run --workers threads even when fewer CPUs are usable (benchmarks, I/O-bound kinds). */
  oversubscribe?: boolean;
  allowCommand?: boolean;
  /** Seconds. */
  grace?: number;
  /** GB. */
  minFreeMemory?: number;
  handlers?: string[];
  recycleAfter?: number;
  workerHeap?: number;
  /** MB. */
  inputCache?: number;
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

/**
 * How many workers to run: asked for, or the usable CPUs (under Slurm, no more than it
 * allocated), but never fewer than the agent's GPUs (`gpus`), unless fewer are asked for: a
 * GPU task holds a thread while it runs, and that thread mostly waits on its GPU, so a node
 * with fewer CPUs than GPUs would otherwise leave GPUs idle. --strict-affinity counts CPUs only.
 */
export function resolveWorkers(asked: number | undefined, probe: NodeProbe, strict: boolean, log: Logger, oversubscribe = false, gpus = 0): number {
  let usable = probe.cpus.usable;
  if (probe.slurm?.cpusOnNode) usable = Math.min(usable, probe.slurm.cpusOnNode);
  const room = Math.max(usable, gpus);
  if (asked === undefined) return Math.max(1, room);
  if (asked > usable && oversubscribe && !strict) {
    log.warn({ asked, usable }, `running ${asked} workers on ${usable} usable CPUs (--oversubscribe)`);
    return asked;
  }
  if (asked > usable && strict) throw new UsageError(`--strict-affinity: asked for ${asked} workers but this process may use only ${usable} CPUs (affinity/Slurm allocation)`);
  if (asked > room) {
    const also = gpus > 0 ? ` and it has ${gpus} GPU${gpus === 1 ? '' : 's'}` : '';
    log.warn({ asked, usable, gpus }, `asked for ${asked} workers but only ${usable} CPUs are usable${also}; using ${room} (--oversubscribe runs all ${asked})`);
    return Math.max(1, room);
  }
  if (asked > usable) log.info({ asked, usable, gpus }, `running ${asked} workers on ${usable} usable CPUs: one thread per GPU`);
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
  // Only agents that run users' code (python, command) need to know their Python.
  const [probe, gpus, python] = await Promise.all([probeNode(), o.gpus ?? probeGpus(process.env, (f, m) => log.debug(f, m)), o.allowCommand ? probePython() : null]);
  if (o.allowCommand) {
    if (python) log.info({ python }, 'python3 for python tasks');
    else log.warn('no python3 on PATH: python tasks fail here unless their job names an interpreter (--python)');
  }
  if (gpus.length > 0) log.info({ gpus: gpus.map((g) => g.index), from: o.gpus ? '--gpus' : 'nvidia-smi' }, 'GPUs for tasks');
  const workers = resolveWorkers(o.workers, probe, !!o.strictAffinity, log, !!o.oversubscribe, gpus.length);
  let limit = probe.memory.total;
  if (probe.memory.cgroupLimit !== null) limit = Math.min(limit, probe.memory.cgroupLimit);
  if (probe.slurm?.memPerNode) limit = Math.min(limit, probe.slurm.memPerNode);
  // Under DefMemPerCPU Slurm sets only the memory per CPU.
  else if (probe.slurm?.memPerCpu && probe.slurm.cpusOnNode) limit = Math.min(limit, probe.slurm.memPerCpu * probe.slurm.cpusOnNode);
  if (o.memory !== undefined) limit = Math.min(limit, o.memory * GB);
  const info = {
    host: probe.slurm?.node ?? probe.host,
    pid: process.pid,
    cpus: probe.cpus,
    memory: { total: probe.memory.total, available: probe.memory.available, limit },
    ...(probe.slurm ? { slurm: { ...probe.slurm } } : {}),
    ...(gpus.length > 0 ? { gpus } : {}),
    ...(python ? { python } : {}),
  };
  return new Agent(bus, subj, info, log.child({ component: 'agent' }), {
    workers,
    principal: principalFromEnv(process.env),
    memoryLimit: limit,
    spot: !!o.spot,
    allowCommand: !!o.allowCommand,
    handlers,
    handlerKinds,
    ...given({
      graceMs: ms(o.grace),
      minFreeMemory: o.minFreeMemory === undefined ? undefined : o.minFreeMemory * GB,
      recycleAfter: o.recycleAfter,
      workerHeapMb: o.workerHeap,
      inputCacheMb: o.inputCache,
    }),
  }, availableMemory);
}
