/**
 * Parsed inputs shared by the worker threads of one agent (node-level sharing).
 *
 * When several tasks on an agent need the same parsed input (the generated conformers of a
 * molecule split into blocks, a molecule's topology and symmetry mappings), the first worker to
 * ask builds it and hands it to the agent's input store; the others receive the same object,
 * whose typed arrays live in SharedArrayBuffers, so the memory is held once per agent instead of
 * once per worker. Builds are single-flight: a worker asking for an input another worker is
 * building waits for it rather than parsing it too.
 *
 * Values must be plain data: objects, arrays, numbers, strings and typed arrays (which
 * {@link toShared} moves into shared memory). Outside an agent's pool (tests, the coordinator)
 * kinds get a per-thread cache with the same interface.
 */
import { statSync } from 'node:fs';
import type { MessagePort } from 'node:worker_threads';

/**
 * A file as it is now (path, size, mtime), for input keys: a job re-run on a changed file must
 * not find the inputs parsed from the old one. An unreadable file gives its path (reading it
 * will say what is wrong).
 */
export function fileStamp(file: string): string {
  try {
    const st = statSync(file);
    return `${file}|${st.size}/${st.mtimeMs}`;
  } catch {
    return file;
  }
}

/** What a task uses to get a parsed input by key, building it at most once per agent. */
export interface InputCache {
  get<T>(key: string, build: () => T): Promise<T>;
}

/** Messages between a worker (on its bundle's port) and the agent's input store. */
export type InputRequest = { op: 'get'; id: number; key: string } | { op: 'put'; key: string; value: unknown } | { op: 'drop'; key: string };
export type InputReply = { op: 'got'; id: number; value: unknown } | { op: 'build'; id: number };

type Typed = Exclude<NodeJS.TypedArray, never>;

function isTyped(v: unknown): v is Typed {
  return ArrayBuffer.isView(v) && !(v instanceof DataView);
}

function isPlain(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

/**
 * A copy of `v` whose typed arrays live in SharedArrayBuffers (ones already there are kept), so
 * that passing it to another thread shares their memory instead of copying it.
 */
export function toShared<T>(v: T): T {
  if (isTyped(v)) {
    if (v.buffer instanceof SharedArrayBuffer) return v;
    const Ctor = v.constructor as new (buffer: SharedArrayBuffer) => Typed;
    const out = new Ctor(new SharedArrayBuffer(v.byteLength));
    (out as unknown as { set(a: Typed): void }).set(v);
    return out as unknown as T;
  }
  if (Array.isArray(v)) return v.map((x) => toShared(x)) as T;
  if (isPlain(v)) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = toShared(x);
    return out as T;
  }
  return v;
}

/** Bytes of shared memory a value holds (its SharedArrayBuffer-backed typed arrays). */
export function sharedBytes(v: unknown): number {
  if (isTyped(v)) return v.buffer instanceof SharedArrayBuffer ? v.byteLength : 0;
  if (Array.isArray(v)) return v.reduce((s: number, x) => s + sharedBytes(x), 0);
  if (isPlain(v)) return Object.values(v).reduce((s: number, x) => s + sharedBytes(x), 0);
  return 0;
}

/** A small most-recently-used map. */
class Recent<T> {
  private readonly entries = new Map<string, T>();
  constructor(private readonly max: number) {}
  peek(key: string): T | undefined {
    const hit = this.entries.get(key);
    if (hit !== undefined) {
      this.entries.delete(key);
      this.entries.set(key, hit);
    }
    return hit;
  }
  set(key: string, value: T): void {
    this.entries.delete(key);
    this.entries.set(key, value);
    while (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value!);
  }
}

/** The inputs this thread used last (about two molecules' worth), when there is no store. */
const recent = new Recent<unknown>(6);

/** A per-thread cache: what kinds use outside an agent's pool, or with sharing off. */
export const threadInputs: InputCache = {
  get<T>(key: string, build: () => T): Promise<T> {
    const hit = recent.peek(key);
    if (hit !== undefined) return Promise.resolve(hit as T);
    const value = build();
    recent.set(key, value);
    return Promise.resolve(value);
  },
};

/** How long a worker waits for the store before building an input itself (the store never answering is a bug). */
const STORE_PATIENCE_MS = 120_000;

/** The worker's side of the agent's input store, over the port its bundle came with. */
export class PortInputs implements InputCache {
  private next = 0;
  private readonly waiting = new Map<number, (r: InputReply | null) => void>();
  /**
   * What this bundle got so far, so its next tasks (blocks of one molecule) need no round trip.
   * Dropped with the bundle: a worker holds no input the store has let go of.
   */
  private readonly mine = new Map<string, unknown>();

  constructor(
    private readonly port: MessagePort,
    private readonly patienceMs = STORE_PATIENCE_MS,
  ) {
    port.on('message', (r: InputReply) => {
      const done = this.waiting.get(r.id);
      this.waiting.delete(r.id);
      done?.(r);
    });
  }

  async get<T>(key: string, build: () => T): Promise<T> {
    if (this.mine.has(key)) return this.mine.get(key) as T;
    const id = ++this.next;
    const reply = await new Promise<InputReply | null>((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        resolve(null);
      }, this.patienceMs);
      this.waiting.set(id, (r) => {
        clearTimeout(timer);
        resolve(r);
      });
      this.port.postMessage({ op: 'get', id, key } satisfies InputRequest);
    });
    if (reply?.op === 'got') {
      this.mine.set(key, reply.value);
      return reply.value as T;
    }
    let value: T;
    try {
      value = toShared(build());
    } catch (err) {
      if (reply) this.port.postMessage({ op: 'drop', key } satisfies InputRequest);
      throw err;
    }
    if (reply) this.port.postMessage({ op: 'put', key, value } satisfies InputRequest);
    this.mine.set(key, value);
    return value;
  }

  /** Ends the bundle's use of the port (the store lets go of anything it was building for it). */
  close(): void {
    for (const done of this.waiting.values()) done(null);
    this.waiting.clear();
    this.mine.clear();
    this.port.close();
  }
}
