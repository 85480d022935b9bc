/**
 * What this node offers: cores (logical, physical, usable by this process's affinity),
 * memory (node, cgroup limit, --memory), and the Slurm facts of the allocation.
 */
import { readFileSync, existsSync, readdirSync } from 'node:fs';
import { availableParallelism, cpus, freemem, hostname, totalmem } from 'node:os';

export interface SlurmFacts {
  jobId?: string;
  node?: string;
  cpusOnNode?: number;
  cpusPerTask?: number;
  /** Bytes. */
  memPerNode?: number;
  /** Bytes. */
  memPerCpu?: number;
  /** Epoch ms when the job's walltime ends (SLURM_JOB_END_TIME, in seconds, when Slurm sets it). */
  endTime?: number;
}

export interface NodeProbe {
  host: string;
  cpus: { logical: number; physical: number; usable: number };
  memory: { total: number; available: number; cgroupLimit: number | null };
  slurm: SlurmFacts | null;
}

const MB = 1024 * 1024;

/** Slurm facts from the environment (null outside Slurm). */
export function slurmFacts(env: NodeJS.ProcessEnv = process.env): SlurmFacts | null {
  if (!env.SLURM_JOB_ID) return null;
  const num = (v: string | undefined): number | undefined => {
    if (v === undefined) return undefined;
    // SLURM_CPUS_ON_NODE may look like "2" or "2(x3)"; take the leading number.
    const n = Number.parseInt(v, 10);
    return Number.isFinite(n) ? n : undefined;
  };
  const f: SlurmFacts = { jobId: env.SLURM_JOB_ID };
  const node = env.SLURMD_NODENAME ?? env.SLURM_NODENAME;
  if (node) f.node = node;
  const cpus = num(env.SLURM_CPUS_ON_NODE);
  if (cpus !== undefined) f.cpusOnNode = cpus;
  const cpt = num(env.SLURM_CPUS_PER_TASK);
  if (cpt !== undefined) f.cpusPerTask = cpt;
  const mpn = num(env.SLURM_MEM_PER_NODE);
  if (mpn !== undefined) f.memPerNode = mpn * MB;
  const mpc = num(env.SLURM_MEM_PER_CPU);
  if (mpc !== undefined) f.memPerCpu = mpc * MB;
  const end = num(env.SLURM_JOB_END_TIME);
  if (end !== undefined && end > 0) f.endTime = end * 1000;
  return f;
}

/** The memory limit of this process's cgroup (v2, or v1), or null when unlimited or unknown. */
export function cgroupMemoryLimit(): number | null {
  try {
    const lines = readFileSync('/proc/self/cgroup', 'utf8').split('\n');
    let least: number | null = null;
    const consider = (file: string): void => {
      if (!existsSync(file)) return;
      const raw = readFileSync(file, 'utf8').trim();
      if (raw === 'max') return;
      const n = Number(raw);
      // cgroup v1 reports "unlimited" as a huge number.
      if (Number.isFinite(n) && n > 0 && n < 2 ** 60) least = least === null ? n : Math.min(least, n);
    };
    for (const line of lines) {
      const [, controllers, path] = line.split(':');
      if (path === undefined) continue;
      if (controllers === '') {
        // v2: check the cgroup and its ancestors.
        let p = path;
        for (;;) {
          consider(`/sys/fs/cgroup${p === '/' ? '' : p}/memory.max`);
          if (p === '/' || p === '') break;
          p = p.slice(0, p.lastIndexOf('/')) || '/';
        }
      } else if (controllers?.split(',').includes('memory')) {
        consider(`/sys/fs/cgroup/memory${path}/memory.limit_in_bytes`);
      }
    }
    return least;
  } catch {
    return null;
  }
}

/** CPUs this process may run on (its affinity mask; what Slurm's binding leaves it). */
export function usableCpus(): number {
  return availableParallelism();
}

/**
 * Physical cores of the online CPUs: distinct (package, core) pairs in the kernel's CPU
 * topology. Null when the topology cannot be read (not Linux); then systeminformation is asked.
 */
export function physicalCores(root = '/sys/devices/system/cpu'): number | null {
  try {
    const cores = new Set<string>();
    for (const name of readdirSync(root)) {
      if (!/^cpu\d+$/.test(name)) continue;
      const topo = `${root}/${name}/topology`;
      // An offline CPU has no topology (cpu0 often has no `online` file: it cannot go offline).
      if (!existsSync(`${topo}/core_id`)) continue;
      if (existsSync(`${root}/${name}/online`) && readFileSync(`${root}/${name}/online`, 'utf8').trim() === '0') continue;
      cores.add(`${readFileSync(`${topo}/physical_package_id`, 'utf8').trim()}:${readFileSync(`${topo}/core_id`, 'utf8').trim()}`);
    }
    return cores.size > 0 ? cores.size : null;
  } catch {
    return null;
  }
}

/**
 * Probes the node once (startup). Cheap on Linux: node's os module (logical CPUs, affinity,
 * total and available memory: libuv reads MemTotal and MemAvailable), /sys for the physical
 * cores and the cgroup files; systeminformation is loaded only where /sys has no topology.
 */
export async function probeNode(env: NodeJS.ProcessEnv = process.env): Promise<NodeProbe> {
  const physical = physicalCores() ?? (await import('systeminformation')).default.cpu().then((c) => c.physicalCores);
  return {
    host: hostname(),
    cpus: { logical: cpus().length, physical: await physical, usable: usableCpus() },
    memory: { total: totalmem(), available: freemem(), cgroupLimit: cgroupMemoryLimit() },
    slurm: slurmFacts(env),
  };
}

/** Memory available now (bytes): the node's available memory, bounded by the cgroup's headroom. */
export async function availableMemory(): Promise<number> {
  let avail = freemem();
  const limit = cgroupMemoryLimit();
  if (limit !== null) {
    const used = cgroupMemoryUsage();
    if (used !== null) avail = Math.min(avail, Math.max(0, limit - used));
  }
  return avail;
}

function cgroupMemoryUsage(): number | null {
  try {
    const line = readFileSync('/proc/self/cgroup', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('0::'));
    if (!line) return null;
    const p = line.slice(3);
    const f = `/sys/fs/cgroup${p === '/' ? '' : p}/memory.current`;
    return existsSync(f) ? Number(readFileSync(f, 'utf8').trim()) : null;
  } catch {
    return null;
  }
}
