/**
 * The msgpackr codec and the one gate every inbound message passes: decode (garbage and
 * truncated data are caught), version check (another major is refused), shape check
 * (compiled TypeBox validators, cheap enough for the hot path).
 *
 * Records (`useRecords`) are defined inline in each message, so repeated task and result
 * shapes cost their keys once per batch and no structure state is shared between peers.
 */
import { Packr, C1 } from 'msgpackr';
import type { Static, TSchema } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import { Schemas, type SchemaName, type ErrorReply } from './messages.js';
import { PROTOCOL_VERSION } from './version.js';

const packr = new Packr({ useRecords: true, mapsAsObjects: true, moreTypes: false });

/**
 * A message handed over within one process: the message itself, not its bytes (no bytes at
 * all: `length` 0). Made by `encode` once `handOverInProcess` is on (an embedded run, whose
 * only bus is in-process); a NATS bus encodes one it is given (`onTheWire`), and `decode`
 * checks its version and shape like any other. Encoding and decoding were a quarter of an
 * embedded run's main thread (W0, BENCHMARKS.md).
 */
export class LocalMessage extends Uint8Array {
  constructor(readonly msg: object) {
    super(0);
  }

  /** Slices of it are plain bytes (none). */
  static get [Symbol.species](): Uint8ArrayConstructor {
    return Uint8Array;
  }
}

let inProcess = false;

/**
 * From now on messages are handed over as they are, not encoded: for a process whose only bus
 * is in-process. Senders must not change a message once sent, nor receivers one received
 * (every actor builds a new message for each send and copies what it keeps).
 */
export function handOverInProcess(on: boolean): void {
  inProcess = on;
}

/** A message's bytes for a real wire: a LocalMessage encoded, any other bytes as they are. */
export function onTheWire(data: Uint8Array): Uint8Array {
  return data instanceof LocalMessage ? packr.pack(data.msg) : data;
}

/** Encodes one message. */
export function encode(msg: object): Uint8Array {
  return inProcess ? new LocalMessage(msg) : packr.pack(msg);
}

/** The message type a schema describes. */
export type MessageOf<N extends SchemaName> = Static<(typeof Schemas)[N]>;

/** Encodes one message, type-checked against the named schema at compile time (no runtime check). */
export function encodeAs<N extends SchemaName>(_schema: N, msg: MessageOf<N>): Uint8Array {
  return encode(msg);
}

/** Why a message was rejected. */
export type RejectReason = 'garbage' | 'version' | 'shape';

export type Decoded<T> =
  | { ok: true; msg: T }
  | { ok: false; reason: RejectReason; detail: string; version?: unknown; kind?: string };

const checks = new Map<SchemaName, TypeCheck<TSchema>>();
function checker(name: SchemaName): TypeCheck<TSchema> {
  let c = checks.get(name);
  if (!c) {
    c = TypeCompiler.Compile(Schemas[name]);
    checks.set(name, c);
  }
  return c;
}

/** Decodes raw bytes without checking the shape (for tests and diagnostics). */
export function decodeRaw(data: Uint8Array): unknown {
  return data instanceof LocalMessage ? data.msg : packr.unpack(data);
}

/** Decodes and validates a message of the named schema. Never throws. */
export function decode<N extends SchemaName>(name: N, data: Uint8Array): Decoded<MessageOf<N>> {
  let value: unknown;
  try {
    value = data instanceof LocalMessage ? data.msg : packr.unpack(data);
  } catch (err) {
    return { ok: false, reason: 'garbage', detail: `undecodable msgpack (${(err as Error).message})` };
  }
  // 0xC1 is never used by msgpack; msgpackr decodes it to a sentinel.
  if (value === C1) return { ok: false, reason: 'garbage', detail: 'undecodable msgpack (reserved byte 0xC1)' };
  if (value === null || typeof value !== 'object' || Array.isArray(value) || !isPlainObject(value)) {
    return { ok: false, reason: 'shape', detail: `expected a map, got ${describe(value)}` };
  }
  const rec = value as Record<string, unknown>;
  const kind = typeof rec.kind === 'string' ? rec.kind.slice(0, 64) : undefined;
  if (typeof rec.v !== 'number' || !Number.isInteger(rec.v) || rec.v < 0) {
    return { ok: false, reason: 'shape', detail: 'no valid protocol version (v)', kind };
  }
  if (rec.v !== PROTOCOL_VERSION) {
    return { ok: false, reason: 'version', detail: `protocol version ${String(rec.v)}`, version: rec.v, kind };
  }
  const c = checker(name);
  if (!c.Check(value)) {
    const first = c.Errors(value).First();
    const where = first ? `${first.path || '/'}: ${first.message}` : 'shape mismatch';
    return { ok: false, reason: 'shape', detail: `not a valid ${name} message (${where})`, kind };
  }
  return { ok: true, msg: value as MessageOf<N> };
}

/** The error reply every request handler sends for a rejected or failed request. */
export function errorReply(code: string, message: string): ErrorReply {
  return { kind: 'error', v: PROTOCOL_VERSION, code, message };
}

function isPlainObject(v: object): boolean {
  const p = Object.getPrototypeOf(v);
  return p === Object.prototype || p === null;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (v instanceof Uint8Array) return 'binary';
  return typeof v;
}
