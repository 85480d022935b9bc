/**
 * The in-process bus: subject routing with NATS wildcard semantics, asynchronous delivery,
 * request/reply through private inboxes. Used by the embedded `shoal run` and by tests.
 */
import { BusError, timeoutError, type Bus, type BusMsg, type BusStatus, type BusSubscription } from './types.js';
import { ErrorCode } from '../errors.js';

/** Messages a subscription may hold undelivered before new ones are dropped (as NATS does for slow consumers). */
const MAX_PENDING = 1 << 16;

class MemorySubscription implements BusSubscription {
  private readonly queue: BusMsg[] = [];
  private head = 0;
  private waiter: ((r: IteratorResult<BusMsg>) => void) | null = null;
  closed = false;
  dropped = 0;
  readonly tokens: string[];

  constructor(
    readonly subject: string,
    private readonly detach: (s: MemorySubscription) => void,
  ) {
    this.tokens = subject.split('.');
  }

  push(m: BusMsg): void {
    if (this.closed) return;
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      w({ value: m, done: false });
      return;
    }
    if (this.queue.length - this.head >= MAX_PENDING) {
      this.dropped++;
      return;
    }
    this.queue.push(m);
  }

  unsubscribe(): void {
    if (this.closed) return;
    this.closed = true;
    this.detach(this);
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      w({ value: undefined, done: true });
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<BusMsg> {
    return {
      next: () => {
        if (this.head < this.queue.length) {
          const m = this.queue[this.head++]!;
          if (this.head > 1024 && this.head * 2 > this.queue.length) {
            this.queue.splice(0, this.head);
            this.head = 0;
          }
          return Promise.resolve({ value: m, done: false });
        }
        if (this.closed) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => {
          this.waiter = resolve;
        });
      },
      return: () => {
        this.unsubscribe();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }
}

/** True when `tokens` (a subscription, maybe with wildcards) matches `subject`. */
export function subjectMatches(tokens: readonly string[], subject: readonly string[]): boolean {
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (t === '>') return subject.length > i;
    if (i >= subject.length) return false;
    if (t !== '*' && t !== subject[i]) return false;
  }
  return tokens.length === subject.length;
}

export class MemoryBus implements Bus {
  readonly kind = 'memory' as const;
  readonly maxPayload: number;
  private readonly exact = new Map<string, Set<MemorySubscription>>();
  private readonly wild = new Set<MemorySubscription>();
  private inboxSeq = 0;
  private closed = false;

  constructor(opts: { maxPayload?: number } = {}) {
    this.maxPayload = opts.maxPayload ?? 8 * 1024 * 1024;
  }

  publish(subject: string, data: Uint8Array, reply?: string): void {
    if (this.closed) throw new BusError(ErrorCode.Bus, 'the in-process bus is closed', { retryable: false });
    if (data.byteLength > this.maxPayload) {
      throw new BusError(ErrorCode.TooLarge, `message of ${data.byteLength} bytes on ${subject} exceeds the bus limit of ${this.maxPayload}`, { retryable: false });
    }
    const targets = this.targets(subject);
    if (targets.length === 0) return;
    const msg: BusMsg = {
      subject,
      data,
      reply,
      respond: (d: Uint8Array) => {
        if (!reply || this.closed) return false;
        this.publish(reply, d);
        return true;
      },
    };
    for (const s of targets) s.push(msg);
  }

  private targets(subject: string): MemorySubscription[] {
    const out: MemorySubscription[] = [];
    const ex = this.exact.get(subject);
    if (ex) for (const s of ex) out.push(s);
    if (this.wild.size > 0) {
      const toks = subject.split('.');
      for (const s of this.wild) if (subjectMatches(s.tokens, toks)) out.push(s);
    }
    return out;
  }

  subscribe(subject: string): BusSubscription {
    if (this.closed) throw new BusError(ErrorCode.Bus, 'the in-process bus is closed', { retryable: false });
    const wildcard = subject.includes('*') || subject.includes('>');
    const sub = new MemorySubscription(subject, (s) => {
      if (wildcard) this.wild.delete(s);
      else {
        const set = this.exact.get(subject);
        set?.delete(s);
        if (set && set.size === 0) this.exact.delete(subject);
      }
    });
    if (wildcard) this.wild.add(sub);
    else {
      let set = this.exact.get(subject);
      if (!set) this.exact.set(subject, (set = new Set()));
      set.add(sub);
    }
    return sub;
  }

  async request(subject: string, data: Uint8Array, opts: { timeoutMs: number }): Promise<Uint8Array> {
    if (this.targets(subject).length === 0) throw timeoutError(subject, opts.timeoutMs, true);
    const inbox = `_INBOX.mem.${++this.inboxSeq}`;
    const sub = this.subscribe(inbox);
    let timer: NodeJS.Timeout | undefined;
    try {
      const it = sub[Symbol.asyncIterator]();
      const reply = it.next();
      this.publish(subject, data, inbox);
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(timeoutError(subject, opts.timeoutMs)), opts.timeoutMs);
      });
      const r = await Promise.race([reply, timeout]);
      if (r.done) throw new BusError(ErrorCode.Bus, 'the in-process bus closed during a request', { retryable: false });
      return r.value.data;
    } finally {
      clearTimeout(timer);
      sub.unsubscribe();
    }
  }

  async flush(): Promise<void> {}

  onStatus(_listener: (s: BusStatus) => void): void {
    // The in-process bus never disconnects.
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const set of this.exact.values()) for (const s of [...set]) s.unsubscribe();
    for (const s of [...this.wild]) s.unsubscribe();
  }
}
