/**
 * A bounded outbox: items wait here until the receiver acknowledges them, and are resent
 * (with backoff) until it does. Agents use one for results (to the sink), the sink one for
 * commit notices (to the coordinator), the coordinator one for its own error rows.
 *
 * It never drops an item. It is bounded by back-pressure instead: producers check `full`
 * (or await `whenRoom()`) and stop producing while it is.
 */

export interface OutboxOptions<T> {
  /** Sends one batch; resolves when the receiver acknowledged it, rejects to try again later. */
  send(batch: T[]): Promise<void>;
  /** Encoded size of one item in bytes, for batch limits. Default 64. */
  sizeOf?(item: T): number;
  /** Most bytes in one batch. Default 256 KiB. */
  maxBatchBytes?: number;
  /** Most items in one batch. Default 4096. */
  maxBatchItems?: number;
  /** Unacknowledged items above which the outbox reports itself full. Default 65,536. */
  highWater?: number;
  /** Batches in flight at once. Default 2. */
  maxInFlight?: number;
  /** First retry delay; doubles up to 5 s. Default 200 ms. */
  retryMs?: number;
  /** Called when sending starts failing and when it recovers (once per change). */
  onState?(state: 'failing' | 'ok', err?: unknown): void;
}

export class Outbox<T> {
  private queue: T[] = [];
  private readonly inFlight = new Set<T[]>();
  private retryTimer: NodeJS.Timeout | null = null;
  private scheduled = false;
  private failures = 0;
  private closed = false;
  private waiters: Array<() => void> = [];
  private readonly o: Required<Omit<OutboxOptions<T>, 'onState'>> & Pick<OutboxOptions<T>, 'onState'>;

  constructor(opts: OutboxOptions<T>) {
    this.o = {
      sizeOf: () => 64,
      maxBatchBytes: 256 * 1024,
      maxBatchItems: 4096,
      highWater: 65_536,
      maxInFlight: 2,
      retryMs: 200,
      ...opts,
    };
  }

  /** Items not yet acknowledged (waiting or in flight). */
  get pending(): number {
    let n = this.queue.length;
    for (const b of this.inFlight) n += b.length;
    return n;
  }

  /** True while producers should hold back. */
  get full(): boolean {
    return this.pending >= this.o.highWater;
  }

  /** Every unacknowledged item (for telling a restarted coordinator what is held). */
  items(): T[] {
    const out = [...this.queue];
    for (const b of this.inFlight) out.push(...b);
    return out;
  }

  push(item: T): void {
    this.queue.push(item);
    this.schedule();
  }

  pushAll(items: readonly T[]): void {
    for (const it of items) this.queue.push(it);
    this.schedule();
  }

  /** Resolves when the outbox has room again (immediately if it has). */
  whenRoom(): Promise<void> {
    if (!this.full) return Promise.resolve();
    return new Promise((r) => this.waiters.push(r));
  }

  /** Sends what is waiting now instead of at the next turn of the event loop. */
  kick(): void {
    if (this.retryTimer) {
      clearTimeout(this.retryTimer);
      this.retryTimer = null;
    }
    this.pump();
  }

  /**
   * Sends again at once what is in flight. After a reconnect the acks of batches sent on the
   * old connection may never come, and waiting for their timeout would stall the sender;
   * whatever those sends do later is ignored (the receiver drops the copies it already has).
   */
  resend(): void {
    if (this.inFlight.size > 0) {
      const again = [...this.inFlight].flat();
      this.inFlight.clear();
      this.queue = again.concat(this.queue);
    }
    this.kick();
  }

  /** Waits until everything is acknowledged, at most `timeoutMs`. True when empty. */
  async drain(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    this.kick();
    while (this.pending > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    return this.pending === 0;
  }

  /** Stops sending; unacknowledged items stay in `items()`. */
  close(): void {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.releaseWaiters();
  }

  private schedule(): void {
    if (this.scheduled || this.closed) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    if (this.closed || this.retryTimer) return;
    while (this.queue.length > 0 && this.inFlight.size < this.o.maxInFlight) {
      const batch = this.takeBatch();
      this.inFlight.add(batch);
      this.o.send(batch).then(
        () => {
          if (!this.inFlight.delete(batch)) return; // abandoned by resend()
          if (this.failures > 0) {
            this.failures = 0;
            this.o.onState?.('ok');
          }
          this.releaseWaiters();
          this.pump();
        },
        (err: unknown) => {
          if (!this.inFlight.delete(batch)) return; // abandoned by resend(): already queued again
          // Put it back in front and wait before trying again.
          this.queue = batch.concat(this.queue);
          if (this.failures++ === 0) this.o.onState?.('failing', err);
          if (this.closed) return;
          const delay = Math.min(5000, this.o.retryMs * 2 ** Math.min(this.failures - 1, 5));
          if (!this.retryTimer) {
            this.retryTimer = setTimeout(() => {
              this.retryTimer = null;
              this.pump();
            }, delay);
            this.retryTimer.unref();
          }
        },
      );
    }
  }

  private takeBatch(): T[] {
    let bytes = 0;
    let n = 0;
    while (n < this.queue.length && n < this.o.maxBatchItems) {
      const s = this.o.sizeOf(this.queue[n]!);
      if (n > 0 && bytes + s > this.o.maxBatchBytes) break;
      bytes += s;
      n++;
    }
    const batch = this.queue.slice(0, n);
    this.queue = n === this.queue.length ? [] : this.queue.slice(n);
    return batch;
  }

  private releaseWaiters(): void {
    if (this.full && !this.closed) return;
    const w = this.waiters;
    this.waiters = [];
    for (const r of w) r();
  }
}
