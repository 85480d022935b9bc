/**
 * One coordinator per namespace. A coordinator starting asks on `owner` who owns the
 * namespace: an owner answers, and the newcomer refuses to start naming it. Two that start
 * at the same moment both hear nobody; each then announces itself, and the one that started
 * later (by start time, then boot id) steps back. An owner that no longer answers because its
 * process is gone frees the namespace as soon as the NATS server drops its connection.
 */
import type { Bus, BusMsg } from '../src/bus/index.js';
import { decode, describeCoordinator, encode, encodeAs, errorReply, PROTOCOL_VERSION, versionMismatchMessage, type CoordinatorId, type Subjects } from '../protocol/index.js';
import { ErrorCode, ShoalError } from '../src/errors.js';
import { DropLog, type Logger } from '../src/log.js';

/** How long the first question waits when somebody is subscribed but does not answer. */
const ASK_TIMEOUT_MS = 3000;

/** Whether `a` started before `b` (the earlier one keeps the namespace). */
function earlier(a: CoordinatorId, b: CoordinatorId): boolean {
  return a.since !== b.since ? a.since < b.since : a.boot < b.boot;
}

export class NamespaceClaim {
  private sub: { unsubscribe(): void } | null = null;
  private readonly drops: DropLog;

  constructor(
    private readonly bus: Bus,
    private readonly subj: Subjects,
    private readonly ns: string,
    private readonly me: CoordinatorId,
    private readonly log: Logger,
    /** Called once when another coordinator turns out to own the namespace after all. */
    private readonly onConflict: (message: string) => void,
  ) {
    this.drops = new DropLog(log);
  }

  /** Claims the namespace; throws ShoalError E_REFUSED naming the owner when it has one. */
  async take(): Promise<void> {
    const owner = await this.ask();
    if (owner) throw new ShoalError(ErrorCode.Refused, this.refusal(owner));
    const sub = this.bus.subscribe(this.subj.owner);
    this.sub = sub;
    void (async () => {
      for await (const m of sub) this.onClaim(m);
    })();
    this.announce();
  }

  private refusal(owner: CoordinatorId): string {
    return `namespace '${this.ns}' already has a coordinator: ${describeCoordinator(owner)}. Stop it first, or use another --ns`;
  }

  /** Who answers a claim: the owner, or null when nobody is listening. */
  private async ask(): Promise<CoordinatorId | null> {
    let raw: Uint8Array;
    try {
      raw = await this.bus.request(this.subj.owner, encode({ kind: 'claim', v: PROTOCOL_VERSION, claimant: this.me }), { timeoutMs: ASK_TIMEOUT_MS });
    } catch (err) {
      if ((err as { noResponders?: boolean }).noResponders) return null;
      if ((err as { code?: string }).code === ErrorCode.Timeout) {
        throw new ShoalError(ErrorCode.Refused, `namespace '${this.ns}' has a coordinator that does not answer (paused, or its host unreachable; the NATS server drops a dead one after its ping timeout): refusing to start beside it. Try again later, or use another --ns`);
      }
      throw err;
    }
    const d = decode('OwnerReply', raw);
    if (!d.ok) {
      if (d.reason === 'version') throw new ShoalError(ErrorCode.Refused, `namespace '${this.ns}' already has a coordinator, which speaks another protocol: ${versionMismatchMessage(d.version, 'coordinator')}`);
      throw new ShoalError(ErrorCode.Refused, `namespace '${this.ns}': something answers claims with a bad reply (${d.detail}); refusing to start`);
    }
    if (d.msg.kind === 'error') throw new ShoalError(ErrorCode.Refused, `namespace '${this.ns}': the owner refused: ${d.msg.message}`);
    return d.msg.owner;
  }

  private announce(): void {
    try {
      this.bus.publish(this.subj.owner, encodeAs('OwnerClaim', { kind: 'claim', v: PROTOCOL_VERSION, claimant: this.me }));
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'cannot announce the namespace claim');
    }
  }

  private onClaim(m: BusMsg): void {
    const d = decode('OwnerClaim', m.data);
    if (!d.ok) {
      this.drops.dropped(this.subj.owner, d.reason, d.detail);
      if (m.reply) m.respond(encode(errorReply(d.reason === 'version' ? ErrorCode.Protocol : ErrorCode.Input, d.reason === 'version' ? versionMismatchMessage(d.version, 'claimant') : d.detail)));
      return;
    }
    const other = d.msg.claimant;
    if (other.boot === this.me.boot) return; // our own announcement
    if (earlier(other, this.me)) {
      // We started beside an owner we could not hear (a simultaneous start): step back, once.
      if (this.sub) this.onConflict(this.refusal(other));
      this.close();
      return;
    }
    this.log.warn({ other: describeCoordinator(other) }, 'another coordinator tried to start on this namespace; it was refused');
    if (m.reply) m.respond(encodeAs('OwnerReply', { kind: 'owner', v: PROTOCOL_VERSION, owner: this.me }));
    else this.announce();
  }

  /** Stops answering (the namespace is free once this connection goes). Idempotent. */
  close(): void {
    this.sub?.unsubscribe();
    this.sub = null;
  }
}
