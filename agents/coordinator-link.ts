/**
 * The agent's line to the coordinator: the hello that joins it (announcing what it holds),
 * the heartbeats that keep its leases, and what a NATS reconnect does to requests in flight.
 */
import { decode, encode, PROTOCOL_VERSION, type AgentInfo, type Welcome } from '../protocol/index.js';
import { ErrorCode, ShoalError } from '../src/errors.js';
import { OnceLog } from '../src/log.js';
import { sleep, type AgentShell } from './agent-options.js';

export class CoordinatorLink {
  /** Requests in flight that a reconnect abandons (see acrossReconnect). */
  private readonly onReconnect = new Set<(why: string) => void>();
  private readonly once = new OnceLog();
  private beat: NodeJS.Timeout | null = null;

  constructor(
    private readonly a: AgentShell,
    private readonly info: () => AgentInfo,
  ) {}

  /** Follows the NATS connection: when it comes back, calls `back` (after abandoning requests in flight and resending the outbox). */
  watch(back: () => void): void {
    this.a.bus.onStatus((s) => {
      if (s.type === 'disconnected') this.a.log.warn({ server: s.server }, 'lost the NATS connection; reconnecting');
      else if (s.type === 'reconnected') {
        this.a.log.info({ server: s.server }, 'NATS connection back');
        this.abandonInFlight('the NATS connection was re-established before an answer came; asking again');
        this.a.sender.outbox.resend();
        back();
      }
    });
  }

  /**
   * Fails `p` when the connection comes back before it settles: a request sent before an
   * outage gets no answer (the coordinator may even have declared this agent lost), and
   * waiting for its timeout would idle the agent for many seconds. A dispatch that still
   * arrives on the old request is lost on purpose; the coordinator requeues it (seq gap).
   */
  /** Fails every request in flight with `why` (a reconnect, or a coordinator that no longer knows this agent). */
  abandonInFlight(why: string): void {
    for (const abandon of [...this.onReconnect]) abandon(why);
  }

  acrossReconnect<T>(p: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const abandon = (why: string): void => {
        this.onReconnect.delete(abandon);
        reject(new Error(why));
      };
      this.onReconnect.add(abandon);
      p.then(
        (v) => {
          this.onReconnect.delete(abandon);
          resolve(v);
        },
        (err: unknown) => {
          this.onReconnect.delete(abandon);
          reject(err);
        },
      );
    });
  }

  /**
   * Says hello until a coordinator welcomes the agent, announcing every task it holds (queued,
   * running, or result not yet acknowledged) so a new coordinator or epoch keeps their leases.
   * Throws (after stopping the agent) when the coordinator refuses its protocol.
   */
  async join(): Promise<void> {
    const { a } = this;
    for (let delay = 200; a.core.joinable; delay = Math.min(delay * 2, 5000)) {
      try {
        const held = a.core.heldTasks();
        for (const g of a.sender.outbox.items()) g.ids.forEach((id, i) => held.push([g.job, id, g.attempts[i]!]));
        const hello = encode({ kind: 'hello', v: PROTOCOL_VERSION, agent: a.id, info: this.info(), held });
        const reply = await this.acrossReconnect(a.bus.request(a.subj.hello(a.opts.principal), hello, { timeoutMs: 10_000 }));
        const d = decode('HelloReply', reply);
        if (!d.ok) {
          if (d.reason === 'version') throw new ShoalError(ErrorCode.Protocol, `the coordinator speaks shoal protocol ${String(d.version)}, this agent speaks ${PROTOCOL_VERSION}`);
          throw new Error(`bad welcome: ${d.detail}`);
        }
        if (d.msg.kind === 'error') {
          if (d.msg.code === ErrorCode.Protocol) throw new ShoalError(ErrorCode.Protocol, d.msg.message);
          throw new Error(d.msg.message);
        }
        const w: Welcome = d.msg;
        const cmds = a.core.welcomed(w, Date.now());
        a.apply(cmds);
        if (cmds.some((c) => c.kind === 'heartbeat-every')) a.log.info({ agent: a.id, epoch: w.epoch, slots: a.opts.workers, gpus: a.core.bundles.gpus }, 'joined the coordinator');
        return;
      } catch (err) {
        if (err instanceof ShoalError && err.code === ErrorCode.Protocol) {
          a.log.fatal({ err: err.message }, 'refused by the coordinator');
          void a.stop(4, err.message);
          throw err;
        }
        if (this.once.changed('hello', 'failing')) a.log.warn({ err: (err as Error).message }, 'cannot reach the coordinator yet; retrying');
        await sleep(delay);
      }
    }
  }

  /** Sends heartbeats every `ms` from now on (one at once). */
  beatEvery(ms: number): void {
    this.stopBeating();
    this.beat = setInterval(() => this.heartbeat(), Math.max(100, ms));
    this.heartbeat();
  }

  stopBeating(): void {
    if (this.beat) clearInterval(this.beat);
    this.beat = null;
  }

  heartbeat(goodbye = false): void {
    const { a } = this;
    const link = a.core.link;
    if (!link || a.core.state === 'stopped') return;
    const l = a.core.load();
    const state = goodbye ? 'left' : l.state;
    try {
      a.bus.publish(
        a.subj.heartbeat(a.opts.principal),
        encode({ kind: 'heartbeat', v: PROTOCOL_VERSION, agent: a.id, epoch: link.epoch, busySlots: l.busySlots, memory: l.memory, ...(a.core.bundles.gpus > 0 ? { busyGpus: l.busyGpus } : {}), state, done: l.done, ...(l.interpreters.length > 0 ? { interpreters: l.interpreters } : {}) }),
      );
    } catch {
      // Disconnected: the next one will do.
    }
  }

  /**
   * The last heartbeat, as the agent exits after its drain with everything handed back and
   * delivered: the coordinator shows it as left at once instead of after its silence.
   */
  async goodbye(): Promise<void> {
    this.stopBeating();
    this.heartbeat(true);
    await this.a.bus.flush().catch(() => undefined);
  }
}
