/**
 * A simulated agent's bus: the agent's real NATS connection, timed where the agent asks the
 * coordinator (pulls) and the sink (results), counting its heartbeats, and able to go silent
 * at once, as a crashed node's connection does.
 */
import { BusError, type Bus, type BusStatus, type BusSubscription, type RequestOptions } from '../../../src/bus/index.js';
import { decode, type Subjects } from '../../../protocol/index.js';
import { ErrorCode } from '../../../src/errors.js';

/** Request latencies: when each request was sent (epoch ms), how long its reply took, and a tag. */
export class Samples {
  private at = new Float64Array(1024);
  private ms = new Float64Array(1024);
  private tag = new Uint8Array(1024);
  length = 0;

  add(at: number, ms: number, tag: number): void {
    if (this.length === this.at.length) {
      const grow = <T extends Float64Array | Uint8Array>(a: T): T => {
        const b = new (a.constructor as new (n: number) => T)(a.length * 2);
        b.set(a);
        return b;
      };
      this.at = grow(this.at);
      this.ms = grow(this.ms);
      this.tag = grow(this.tag);
    }
    this.at[this.length] = at;
    this.ms[this.length] = ms;
    this.tag[this.length] = tag;
    this.length++;
  }

  /** The latencies (ms) of the requests sent in [from, to) whose tag is `tag` (any when undefined). */
  between(from: number, to: number, tag?: number): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.length; i++) {
      if (this.at[i]! >= from && this.at[i]! < to && (tag === undefined || this.tag[i] === tag)) out.push(this.ms[i]!);
    }
    return out;
  }
}

/** Tags of pull samples. */
export const PullTag = { Empty: 0, Work: 1 } as const;

/** What every agent of one fleet host adds to. */
export interface FleetMeters {
  /** Pulls, tagged Work when the reply carried bundles. */
  pulls: Samples;
  /** Result batches to the sink, until acknowledged. */
  results: Samples;
  /** Heartbeats published, with when. */
  heartbeats: Samples;
}

export class TimedBus implements Bus {
  readonly kind = 'nats' as const;
  private severed = false;
  private readonly pullSubject: string;
  private readonly resultsSubject: string;
  private readonly heartbeatSubject: string;

  constructor(
    private readonly inner: Bus,
    subj: Subjects,
    principal: string,
    private readonly meters: FleetMeters,
  ) {
    this.pullSubject = subj.pull(principal);
    this.resultsSubject = subj.results(principal);
    this.heartbeatSubject = subj.heartbeat(principal);
  }

  get maxPayload(): number {
    return this.inner.maxPayload;
  }

  publish(subject: string, data: Uint8Array): void {
    if (this.severed) throw new BusError(ErrorCode.Bus, 'the connection is gone (vanished)', { retryable: false });
    this.inner.publish(subject, data);
    if (subject === this.heartbeatSubject) this.meters.heartbeats.add(Date.now(), 0, 0);
  }

  subscribe(subject: string): BusSubscription {
    return this.inner.subscribe(subject);
  }

  async request(subject: string, data: Uint8Array, opts: RequestOptions): Promise<Uint8Array> {
    if (this.severed) throw new BusError(ErrorCode.Bus, 'the connection is gone (vanished)', { retryable: false });
    const at = Date.now();
    const t0 = performance.now();
    const reply = await this.inner.request(subject, data, opts);
    const ms = performance.now() - t0;
    if (subject === this.pullSubject) {
      const d = decode('PullReply', reply);
      this.meters.pulls.add(at, ms, d.ok && d.msg.kind === 'dispatch' && d.msg.bundles.length > 0 ? PullTag.Work : PullTag.Empty);
    } else if (subject === this.resultsSubject) this.meters.results.add(at, ms, 0);
    return reply;
  }

  flush(): Promise<void> {
    return this.inner.flush();
  }

  onStatus(listener: (s: BusStatus) => void): void {
    this.inner.onStatus(listener);
  }

  /** From now on nothing more leaves: publishes and requests fail as on a dead connection. */
  sever(): void {
    this.severed = true;
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
