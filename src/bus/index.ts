/**
 * The bus: one interface, a NATS implementation and an in-process one. The NATS client is
 * loaded by the first `connectNats`, so a process on the in-process bus never loads it.
 */
import type { NatsBus, NatsBusOptions } from './nats.js';

export * from './types.js';
export { MemoryBus, subjectMatches } from './memory.js';
export type { NatsBus, NatsBusOptions };

/** Connects to NATS (see NatsBus.connect: retries for `connectRetryMs`, refused credentials fail at once). */
export async function connectNats(opts: NatsBusOptions): Promise<NatsBus> {
  const { NatsBus } = await import('./nats.js');
  return NatsBus.connect(opts);
}
