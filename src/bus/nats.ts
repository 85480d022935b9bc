/**
 * The NATS implementation of the bus (`@nats-io/transport-node`, the v3 client).
 *
 * Credentials come from the environment so they never appear on a command line:
 * SHOAL_NATS_CREDS (a .creds file), SHOAL_NATS_USER + SHOAL_NATS_PASS, SHOAL_NATS_TOKEN,
 * and SHOAL_NATS_TLS_CA / SHOAL_NATS_TLS_CERT / SHOAL_NATS_TLS_KEY for TLS.
 */
import { readFileSync } from 'node:fs';
import {
  connect,
  credsAuthenticator,
  type ConnectionOptions,
  type NatsConnection,
  type Msg,
  type Subscription,
  type TlsOptions,
} from '@nats-io/transport-node';
import { BusError, timeoutError, type Bus, type BusMsg, type BusStatus, type BusSubscription } from './types.js';
import { ErrorCode } from '../errors.js';
import { onTheWire } from '../../protocol/index.js';

export interface NatsBusOptions {
  /** Server URL(s), comma-separated (`nats://host:4222`). */
  url: string;
  /** Connection name shown by the server (`shoal-agent node12-4711`). */
  name: string;
  /** Keep retrying the first connection this long (ms) when the server is not up yet; 0 = fail at once. */
  connectRetryMs?: number;
  /** Environment to read credentials from (default: process.env). */
  env?: NodeJS.ProcessEnv;
}

/** Connection options from the environment's credentials. Throws UsageError-like BusError on unreadable files. */
export function natsAuthFromEnv(env: NodeJS.ProcessEnv): Partial<ConnectionOptions> {
  const out: Partial<ConnectionOptions> = {};
  const read = (what: string, path: string): Uint8Array => {
    try {
      return readFileSync(path);
    } catch (err) {
      throw new BusError(ErrorCode.Bus, `cannot read ${what} '${path}': ${(err as Error).message}`, { retryable: false, cause: err });
    }
  };
  if (env.SHOAL_NATS_CREDS) {
    const creds = read('SHOAL_NATS_CREDS', env.SHOAL_NATS_CREDS);
    out.authenticator = credsAuthenticator(creds);
  } else if (env.SHOAL_NATS_TOKEN) {
    out.token = env.SHOAL_NATS_TOKEN;
  } else if (env.SHOAL_NATS_USER) {
    out.user = env.SHOAL_NATS_USER;
    out.pass = env.SHOAL_NATS_PASS ?? '';
  }
  const tls: TlsOptions = {};
  if (env.SHOAL_NATS_TLS_CA) tls.caFile = env.SHOAL_NATS_TLS_CA;
  if (env.SHOAL_NATS_TLS_CERT) tls.certFile = env.SHOAL_NATS_TLS_CERT;
  if (env.SHOAL_NATS_TLS_KEY) tls.keyFile = env.SHOAL_NATS_TLS_KEY;
  if (Object.keys(tls).length > 0) {
    for (const [k, p] of Object.entries(tls)) read(`TLS ${k}`, p as string);
    out.tls = tls;
  }
  return out;
}

/** Classifies a connect failure: refused credentials are final, an absent server may come later. */
function connectFailure(url: string, err: unknown): BusError {
  const e = err as Error & { code?: string };
  const text = `${e?.name ?? ''} ${e?.message ?? String(err)}`;
  if (/authori[sz]ation|authentication|permission/i.test(text)) {
    return new BusError(ErrorCode.Bus, `NATS at ${url} refused the connection: ${e.message} (check SHOAL_NATS_USER/SHOAL_NATS_PASS, SHOAL_NATS_TOKEN or SHOAL_NATS_CREDS)`, { retryable: false, cause: err });
  }
  return new BusError(ErrorCode.Bus, `NATS unreachable at ${url}: ${e?.message ?? String(err)}`, { retryable: true, cause: err });
}

class NatsSubscription implements BusSubscription {
  constructor(private readonly sub: Subscription) {}
  get subject(): string {
    return this.sub.getSubject();
  }
  unsubscribe(): void {
    if (!this.sub.isClosed()) this.sub.unsubscribe();
  }
  async *[Symbol.asyncIterator](): AsyncIterator<BusMsg> {
    for await (const m of this.sub) yield wrap(m);
  }
}

function wrap(m: Msg): BusMsg {
  return {
    subject: m.subject,
    data: m.data,
    reply: m.reply || undefined,
    respond: (d: Uint8Array) => m.respond(onTheWire(d)),
  };
}

export class NatsBus implements Bus {
  readonly kind = 'nats' as const;
  private closing: Promise<void> | null = null;
  private readonly listeners: Array<(s: BusStatus) => void> = [];

  private constructor(
    private readonly nc: NatsConnection,
    readonly url: string,
  ) {
    void this.watchStatus();
  }

  /** Connects, retrying for `connectRetryMs` while the server is unreachable; refused credentials fail at once. */
  static async connect(opts: NatsBusOptions): Promise<NatsBus> {
    const env = opts.env ?? process.env;
    const base: ConnectionOptions = {
      servers: opts.url.split(',').map((s) => s.trim()).filter(Boolean),
      name: opts.name,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 500,
      reconnectJitter: 250,
      pingInterval: 3000,
      maxPingOut: 3,
      timeout: 5000,
      ...natsAuthFromEnv(env),
    };
    const deadline = Date.now() + (opts.connectRetryMs ?? 0);
    for (let delay = 100; ; delay = Math.min(delay * 2, 2000)) {
      try {
        const nc = await connect(base);
        return new NatsBus(nc, opts.url);
      } catch (err) {
        const failure = connectFailure(opts.url, err);
        if (!failure.retryable || Date.now() + delay > deadline) throw failure;
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  get maxPayload(): number {
    return this.nc.info?.max_payload ?? 1024 * 1024;
  }

  publish(subject: string, given: Uint8Array): void {
    const data = onTheWire(given);
    if (data.byteLength > this.maxPayload) {
      throw new BusError(ErrorCode.TooLarge, `message of ${data.byteLength} bytes on ${subject} exceeds the server's max_payload of ${this.maxPayload}`, { retryable: false });
    }
    try {
      this.nc.publish(subject, data);
    } catch (err) {
      throw new BusError(ErrorCode.Bus, `publish on ${subject} failed: ${(err as Error).message}`, { retryable: !this.nc.isClosed(), cause: err });
    }
  }

  subscribe(subject: string): BusSubscription {
    return new NatsSubscription(this.nc.subscribe(subject, { slow: 65536 } as never));
  }

  async request(subject: string, given: Uint8Array, opts: { timeoutMs: number }): Promise<Uint8Array> {
    const data = onTheWire(given);
    if (data.byteLength > this.maxPayload) {
      throw new BusError(ErrorCode.TooLarge, `request of ${data.byteLength} bytes on ${subject} exceeds the server's max_payload of ${this.maxPayload}`, { retryable: false });
    }
    try {
      const m = await this.nc.request(subject, data, { timeout: opts.timeoutMs });
      return m.data;
    } catch (err) {
      const name = (err as Error)?.name ?? '';
      const msg = (err as Error)?.message ?? String(err);
      if (/NoResponders/i.test(name) || /no responders/i.test(msg)) throw timeoutError(subject, opts.timeoutMs, true);
      if (/Timeout/i.test(name) || /timeout/i.test(msg)) throw timeoutError(subject, opts.timeoutMs);
      if (/Permission/i.test(name) || /permission/i.test(msg)) {
        throw new BusError(ErrorCode.Bus, `not permitted to send on ${subject}: ${msg}`, { retryable: false, cause: err });
      }
      throw new BusError(ErrorCode.Bus, `request on ${subject} failed: ${msg}`, { retryable: !this.nc.isClosed(), cause: err });
    }
  }

  async flush(): Promise<void> {
    await this.nc.flush();
  }

  onStatus(listener: (s: BusStatus) => void): void {
    this.listeners.push(listener);
  }

  private emit(s: BusStatus): void {
    for (const l of this.listeners) l(s);
  }

  private async watchStatus(): Promise<void> {
    let connected = true;
    for await (const s of this.nc.status()) {
      switch (s.type) {
        case 'disconnect':
          if (connected) this.emit({ type: 'disconnected', server: s.server });
          connected = false;
          break;
        case 'reconnecting':
          break;
        case 'reconnect':
          connected = true;
          this.emit({ type: 'reconnected', server: s.server });
          break;
        case 'error':
          this.emit({ type: 'error', message: String((s as { error?: unknown }).error) });
          break;
        case 'close':
          this.emit({ type: 'closed' });
          return;
        default:
          break;
      }
    }
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.nc.isClosed()) return;
      try {
        await this.nc.drain();
      } catch {
        await this.nc.close().catch(() => undefined);
      }
    })();
    return this.closing;
  }
}
