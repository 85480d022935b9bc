/** The agent: resource probe, worker pool, the actor (a shell around its pure core). */
export { Agent, DEFAULT_AGENT_OPTIONS, type AgentOptions } from './agent.js';
export { probeGpus, parseGpuList, type Gpu } from './gpu-probe.js';
export { probePython, parsePythonVersion } from './python-probe.js';
export { probeNode, availableMemory, cgroupMemoryLimit, slurmFacts, usableCpus, type NodeProbe, type SlurmFacts } from './probe.js';
export { WorkerPool, type PoolOptions, type BundleEnd } from './pool.js';
export { InlinePool, inlinePool } from './inline-pool.js';
export type { BundlePool, PoolFactory } from './bundle-pool.js';
export * from './core/index.js';
export * as bundleFlags from './flags.js';
