/**
 * The agent's store of parsed inputs shared by its worker threads (see src/kinds/inputs.ts for
 * the worker's side). It lives on the agent's main thread and talks to each running bundle over
 * the bundle's own MessagePort:
 *
 *   get   → 'got' with the value when it is stored; 'build' when nobody is building it (the
 *           asker builds it and puts it); otherwise the asker waits for the builder's put.
 *   put   → stored (least recently used entries go beyond the byte budget) and sent to waiters.
 *   drop  → the builder failed: the first waiter builds it instead.
 *
 * A bundle that ends (or whose thread dies) while building hands the build to a waiter.
 */
import { receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { sharedBytes, type InputReply, type InputRequest } from '../src/kinds/index.js';

interface Waiter {
  port: MessagePort;
  id: number;
}

export interface InputStoreStats {
  entries: number;
  bytes: number;
  hits: number;
  builds: number;
  waits: number;
}

export class InputStore {
  private readonly entries = new Map<string, { value: unknown; bytes: number }>();
  private readonly building = new Map<string, { port: MessagePort; waiters: Waiter[] }>();
  private bytes = 0;
  private hits = 0;
  private builds = 0;
  private waits = 0;

  /** `budget`: bytes of shared memory the store keeps referenced once no task uses them. */
  constructor(private readonly budget: number) {}

  get stats(): InputStoreStats {
    return { entries: this.entries.size, bytes: this.bytes, hits: this.hits, builds: this.builds, waits: this.waits };
  }

  /** Serves one bundle's port until it closes. */
  attach(port: MessagePort): void {
    port.on('message', (m: InputRequest) => this.onMessage(port, m));
    port.once('close', () => this.detach(port));
  }

  /**
   * Lets go of a bundle's port: builds it had claimed pass to a waiter; its own waits are
   * forgotten. With `drain` (the bundle ended, its port still open), messages still queued on
   * the port are handled first: the bundle's result comes back on another channel and may
   * overtake the inputs it put.
   */
  detach(port: MessagePort, drain = false): void {
    if (drain) for (let m = receiveMessageOnPort(port); m; m = receiveMessageOnPort(port)) this.onMessage(port, m.message as InputRequest);
    for (const [key, b] of [...this.building]) {
      b.waiters = b.waiters.filter((w) => w.port !== port);
      if (b.port === port) this.release(key);
    }
  }

  private onMessage(port: MessagePort, m: InputRequest): void {
    switch (m.op) {
      case 'get': {
        const hit = this.entries.get(m.key);
        if (hit) {
          this.entries.delete(m.key);
          this.entries.set(m.key, hit);
          this.hits++;
          reply(port, { op: 'got', id: m.id, value: hit.value });
          return;
        }
        const b = this.building.get(m.key);
        if (b) {
          this.waits++;
          b.waiters.push({ port, id: m.id });
          return;
        }
        this.builds++;
        this.building.set(m.key, { port, waiters: [] });
        reply(port, { op: 'build', id: m.id });
        return;
      }
      case 'put': {
        const b = this.building.get(m.key);
        this.building.delete(m.key);
        for (const w of b?.waiters ?? []) reply(w.port, { op: 'got', id: w.id, value: m.value });
        this.store(m.key, m.value);
        return;
      }
      case 'drop':
        if (this.building.get(m.key)?.port === port) this.release(m.key);
        return;
    }
  }

  private store(key: string, value: unknown): void {
    const bytes = sharedBytes(value);
    const old = this.entries.get(key);
    if (old) {
      this.bytes -= old.bytes;
      this.entries.delete(key);
    }
    // An input larger than the whole budget is shared by the tasks that wait for it, not kept.
    if (bytes > this.budget) return;
    this.entries.set(key, { value, bytes });
    this.bytes += bytes;
    for (const [k, e] of this.entries) {
      if (this.bytes <= this.budget) break;
      this.entries.delete(k);
      this.bytes -= e.bytes;
    }
  }

  /** The builder of `key` is gone: the first waiter builds it, the others keep waiting. */
  private release(key: string): void {
    const b = this.building.get(key);
    this.building.delete(key);
    const [next, ...rest] = b?.waiters ?? [];
    if (!next) return;
    this.building.set(key, { port: next.port, waiters: rest });
    reply(next.port, { op: 'build', id: next.id });
  }
}

function reply(port: MessagePort, r: InputReply): void {
  try {
    port.postMessage(r);
  } catch {
    // The bundle ended meanwhile; its close hands the work on.
  }
}
