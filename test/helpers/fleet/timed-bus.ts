/**
 * A simulated agent's bus: the agent's real NATS connection, timed where the agent asks the
 * coordinator (pulls) and the sink (results), counting its heartbeats, and able to go silent
 * at once, as a crashed node's connection does.
 */
import { BusError, type Bus, type BusStatus, type BusSubscription, type RequestOptions } from '../../../src/bus/index.js';
import type { Subjects } from '../../../protocol/index.js';
import { ErrorCode } from '../../../src/errors.js';

/** Request latencies: when each request was sent (epoch ms) and how long its reply took (ms). */
export class Samples {
  private at = new Float64Array(1024);
  private ms = new Float64Array(1024);
  length = 0;

  add(at: number, ms: number): void {
    if (this.length === this.at.length) {
      const grow = (a: Float64Array<ArrayBuffer>): Float64Array<ArrayBuffer> => {
        const b = new Float64Array(a.length * 2);
        b.set(a);
        return b;
      };
      this.at = grow(this.at);
      this.ms = grow(this.ms);
    }
    this.at[this.length] = at;
    this.ms[this.length] = ms;
    this.length++;
  }

  /** The latencies (ms) of the requests sent in [from, to). */
  between(from: number, to: number): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.length; i++) if (this.at[i]! >= from && this.at[i]! < to) out.push(this.ms[i]!);
    return out;
  }
}

/** What every agent of one fleet host adds to. */
export interface FleetMeters {
  /** Pulls (with or without work in the reply: not decoded twice, to spare the host's CPU). */
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
    if (subject === this.heartbeatSubject) this.meters.heartbeats.add(Date.now(), 0);
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
    if (subject === this.pullSubject) this.meters.pulls.add(at, ms);
    else if (subject === this.resultsSubject) this.meters.results.add(at, ms);
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
