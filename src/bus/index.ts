/** The bus: one interface, a NATS implementation and an in-process one. */
export * from './types.js';
export { MemoryBus, subjectMatches } from './memory.js';
export { NatsBus, natsAuthFromEnv, type NatsBusOptions } from './nats.js';
