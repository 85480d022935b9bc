/**
 * One bus interface, two implementations: NATS (`nats.ts`) and in-process (`memory.ts`).
 * Actors only see this interface, so the embedded run and the distributed run exchange the
 * very same messages (an embedded run hands them over as objects: protocol/codec.ts).
 */
import { ShoalError, ErrorCode } from '../errors.js';

/** One received message. */
export interface BusMsg {
  readonly subject: string;
  readonly data: Uint8Array;
  /** Where a reply goes, for requests. */
  readonly reply?: string | undefined;
  /** Answers a request; false when the message was not a request. */
  respond(data: Uint8Array): boolean;
}

/** A subscription: an async iterator of messages. */
export interface BusSubscription extends AsyncIterable<BusMsg> {
  readonly subject: string;
  /** Stops delivery and ends the iteration. Idempotent. */
  unsubscribe(): void;
}

/** Connection changes, reported once per change. */
export type BusStatus =
  | { type: 'disconnected'; server?: string }
  | { type: 'reconnecting' }
  | { type: 'reconnected'; server?: string }
  | { type: 'error'; message: string }
  | { type: 'closed' };

export interface RequestOptions {
  /** Give up after this long (milliseconds). */
  timeoutMs: number;
}

export interface Bus {
  /** 'memory' or 'nats'. */
  readonly kind: 'memory' | 'nats';
  /** The largest message the bus carries, in bytes. */
  readonly maxPayload: number;
  /** Fire and forget. Throws a BusError when the bus is closed. */
  publish(subject: string, data: Uint8Array): void;
  /** Subscribes; wildcards `*` (one token) and `>` (the rest) work on both implementations. */
  subscribe(subject: string): BusSubscription;
  /** Request/reply. Rejects with BusError code E_TIMEOUT (nobody answered) or E_BUS. */
  request(subject: string, data: Uint8Array, opts: RequestOptions): Promise<Uint8Array>;
  /** Resolves once everything published so far reached the server. */
  flush(): Promise<void>;
  /** Registers a listener for connection changes. */
  onStatus(listener: (s: BusStatus) => void): void;
  /** Drains subscriptions and closes. Idempotent. */
  close(): Promise<void>;
}

/** A bus failure. `retryable` says whether trying again later may help. */
export class BusError extends ShoalError {
  /** The request reached nobody (so it certainly was not acted upon). */
  readonly noResponders: boolean;
  constructor(code: ErrorCode, message: string, opts: { retryable: boolean; cause?: unknown; noResponders?: boolean }) {
    super(code, message, opts);
    this.name = 'BusError';
    this.noResponders = opts.noResponders ?? false;
  }
}

export function timeoutError(subject: string, ms: number, noResponders = false): BusError {
  const what = noResponders ? 'nobody is listening' : `no answer within ${ms} ms`;
  return new BusError(ErrorCode.Timeout, `request on ${subject}: ${what}`, { retryable: true, noResponders });
}
