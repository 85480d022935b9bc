/** Common connection options of every command: --nats, --ns, the environment. */
import type { Command, OptionValues } from '@commander-js/extra-typings';
import { connectNats, MemoryBus, type Bus } from '../bus/index.js';
import { checkNamespace, handOverInProcess, subjects, type Subjects } from '../../protocol/index.js';
import { UsageError } from '../errors.js';
import { CtlClient } from './client.js';

export interface Conn {
  bus: Bus;
  ns: string;
  subj: Subjects;
}

/** The namespace from --ns, SHOAL_NS, or 'default'. */
export function namespaceOf(opts: { ns?: string }): string {
  const ns = opts.ns ?? process.env.SHOAL_NS ?? 'default';
  try {
    return checkNamespace(ns);
  } catch (err) {
    throw new UsageError(`--ns: ${(err as Error).message}`);
  }
}

/** The NATS URL from --nats or SHOAL_NATS (undefined when neither is set). */
export function natsUrlOf(opts: { nats?: string }): string | undefined {
  return opts.nats ?? (process.env.SHOAL_NATS || undefined);
}

/** Connects to NATS (exit code 4 on failure) or, with no URL and `embedded`, an in-process bus. */
export async function connectBus(opts: { nats?: string; ns?: string }, name: string, o: { embedded?: boolean; retryMs?: number } = {}): Promise<Conn> {
  const ns = namespaceOf(opts);
  const url = natsUrlOf(opts);
  if (!url) {
    if (!o.embedded) throw new UsageError('no NATS server given: pass --nats URL or set SHOAL_NATS');
    // This process's only bus is in-process: messages go over it as they are, not encoded.
    handOverInProcess(true);
    return { bus: new MemoryBus(), ns, subj: subjects(ns) };
  }
  const bus = await connectNats({ url, name, connectRetryMs: o.retryMs ?? 0 });
  return { bus, ns, subj: subjects(ns) };
}

/** --nats and --ns. */
export const connOpts = <Args extends unknown[], Opts extends OptionValues>(c: Command<Args, Opts>) => c.option('--nats <url>', 'NATS server URL (or SHOAL_NATS)').option('--ns <ns>', 'namespace (default: SHOAL_NS or "default")');

/** A control client for the length of `fn`. */
export async function withClient<T>(opts: { nats?: string; ns?: string }, fn: (c: CtlClient, conn: Conn) => Promise<T>): Promise<T> {
  const conn = await connectBus(opts, 'shoal-cli');
  try {
    return await fn(new CtlClient(conn.bus, conn.subj, conn.ns), conn);
  } finally {
    await conn.bus.close();
  }
}
