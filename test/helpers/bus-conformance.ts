/**
 * The Bus contract (src/bus/types.ts), one suite for every implementation:
 * test/unit/bus-conformance.test.ts runs it against the in-process MemoryBus,
 * test/integration/bus-nats.test.ts against NatsBus on a real nats-server.
 */
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { BusError, type Bus, type BusMsg, type BusSubscription } from '../../src/bus/index.js';
import { ErrorCode } from '../../src/errors.js';
import { decode, decodeRaw, LocalMessage, PROTOCOL_VERSION } from '../../protocol/index.js';
import { uniqueNs } from './nats.js';

const enc = new TextEncoder();
const dec = new TextDecoder();
const bytes = (s: string): Uint8Array => enc.encode(s);
const text = (b: Uint8Array): string => dec.decode(b);

/** The next `n` messages of a subscription; fails (instead of hanging) after `timeoutMs`. */
async function take(it: AsyncIterator<BusMsg>, n: number, timeoutMs = 5000): Promise<BusMsg[]> {
  const out: BusMsg[] = [];
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`got ${out.length} of ${n} messages within ${timeoutMs} ms: ${out.map((m) => m.subject).join(', ')}`)), timeoutMs);
  });
  try {
    while (out.length < n) {
      const r = await Promise.race([it.next(), timeout]);
      if (r.done) throw new Error(`the subscription ended after ${out.length} of ${n} messages`);
      out.push(r.value);
    }
    return out;
  } finally {
    clearTimeout(timer);
  }
}

/** Subject names of every message up to and including the first on `sentinel`. */
async function subjectsUntil(it: AsyncIterator<BusMsg>, sentinel: string): Promise<string[]> {
  const seen: string[] = [];
  for (;;) {
    const [m] = await take(it, 1);
    seen.push(m!.subject);
    if (m!.subject === sentinel) return seen;
  }
}

/** Answers every request on `sub` with `re:<payload>`, until the subscription ends. */
function echo(sub: BusSubscription): Promise<void> {
  return (async () => {
    for await (const m of sub) m.respond(bytes(`re:${text(m.data)}`));
  })();
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  assert.fail('expected a rejection, the promise resolved');
}

function assertBusError(err: unknown, code: ErrorCode): asserts err is BusError {
  assert.ok(err instanceof BusError, `expected a BusError, got ${String(err)}`);
  assert.equal(err.code, code, `expected code ${code}, got ${err.code}: ${err.message}`);
}

/**
 * Registers the conformance suite for one Bus implementation. `open` gives a fresh bus per
 * test (closed when the test ends); subjects are unique per test so implementations that
 * share a server never see each other's traffic.
 */
export function busConformance(name: string, open: () => Promise<Bus>): void {
  describe(`bus conformance: ${name}`, { timeout: 30_000 }, () => {
    async function fresh(t: TestContext): Promise<{ bus: Bus; p: string }> {
      const bus = await open();
      t.after(() => bus.close());
      return { bus, p: `conf.${uniqueNs()}` };
    }

    it('delivers published messages to a subscriber in order, bytes intact', async (t) => {
      const { bus, p } = await fresh(t);
      const sub = bus.subscribe(`${p}.a`);
      const it = sub[Symbol.asyncIterator]();
      const all = Uint8Array.from({ length: 256 }, (_, i) => i);
      bus.publish(`${p}.a`, bytes('one'));
      bus.publish(`${p}.a`, new Uint8Array(0));
      bus.publish(`${p}.a`, all);
      const got = await take(it, 3);
      assert.deepEqual(got.map((m) => m.subject), [`${p}.a`, `${p}.a`, `${p}.a`]);
      assert.equal(text(got[0]!.data), 'one');
      assert.equal(got[1]!.data.byteLength, 0);
      assert.deepEqual([...got[2]!.data], [...all]);
      sub.unsubscribe();
    });

    it('delivers a message to every subscriber of its subject, and not to others', async (t) => {
      const { bus, p } = await fresh(t);
      const s1 = bus.subscribe(`${p}.a`);
      const s2 = bus.subscribe(`${p}.a`);
      const other = bus.subscribe(`${p}.b`);
      const i1 = s1[Symbol.asyncIterator]();
      const i2 = s2[Symbol.asyncIterator]();
      const io = other[Symbol.asyncIterator]();
      bus.publish(`${p}.a`, bytes('x'));
      bus.publish(`${p}.b`, bytes('y'));
      assert.equal(text((await take(i1, 1))[0]!.data), 'x');
      assert.equal(text((await take(i2, 1))[0]!.data), 'x');
      const [m] = await take(io, 1);
      assert.equal(m!.subject, `${p}.b`);
      assert.equal(text(m!.data), 'y');
    });

    it("'*' matches exactly one token", async (t) => {
      const { bus, p } = await fresh(t);
      const it = bus.subscribe(`${p}.*.x`)[Symbol.asyncIterator]();
      for (const s of [`${p}.a.x`, `${p}.a.b.x`, `${p}.x`, `${p}.a.y`, `${p}.a.x.y`, `${p}.b.x`, `${p}.end.x`]) bus.publish(s, bytes(s));
      assert.deepEqual(await subjectsUntil(it, `${p}.end.x`), [`${p}.a.x`, `${p}.b.x`, `${p}.end.x`]);
    });

    it("'>' matches one or more trailing tokens", async (t) => {
      const { bus, p } = await fresh(t);
      const it = bus.subscribe(`${p}.>`)[Symbol.asyncIterator]();
      for (const s of [p, `${p}.a`, `${p}x.a`, `${p}.a.b.c`, `conf.other.a`, `${p}.end`]) bus.publish(s, bytes(s));
      assert.deepEqual(await subjectsUntil(it, `${p}.end`), [`${p}.a`, `${p}.a.b.c`, `${p}.end`]);
    });

    it('a wildcard subscriber carries the concrete subject of each message', async (t) => {
      const { bus, p } = await fresh(t);
      const it = bus.subscribe(`${p}.ctl.*`)[Symbol.asyncIterator]();
      bus.publish(`${p}.ctl.status`, bytes('s'));
      bus.publish(`${p}.ctl.submit`, bytes('t'));
      const got = await take(it, 2);
      assert.deepEqual(got.map((m) => [m.subject, text(m.data)]), [[`${p}.ctl.status`, 's'], [`${p}.ctl.submit`, 't']]);
    });

    it('a message handed over in-process arrives as that message, or as its encoding on a wire', async (t) => {
      const { bus, p } = await fresh(t);
      const hb = { kind: 'heartbeat', v: PROTOCOL_VERSION, agent: 'a-1', epoch: 1, busySlots: 0, memory: 0, state: 'draining', done: 3 };
      const sub = bus.subscribe(`${p}.local`);
      const it = sub[Symbol.asyncIterator]();
      bus.publish(`${p}.local`, new LocalMessage(hb));
      const [m] = await take(it, 1);
      const d = decode('Heartbeat', m!.data);
      assert.ok(d.ok, d.ok ? '' : d.detail);
      assert.deepEqual(d.msg, hb);
      // A request and its answer, both handed over.
      const svc = bus.subscribe(`${p}.lsvc`);
      void (async () => {
        for await (const q of svc) q.respond(new LocalMessage({ kind: 'error', v: PROTOCOL_VERSION, code: 'E_REFUSED', message: `no ${decode('Heartbeat', q.data).ok ? 'heartbeats' : 'garbage'}` }));
      })();
      const answer = decodeRaw(await bus.request(`${p}.lsvc`, new LocalMessage(hb), { timeoutMs: 5000 })) as { message?: string };
      assert.equal(answer.message, 'no heartbeats');
      svc.unsubscribe();
      sub.unsubscribe();
    });

    it('request gets the reply of the subscriber, each concurrent request its own', async (t) => {
      const { bus, p } = await fresh(t);
      const sub = bus.subscribe(`${p}.svc`);
      const served = echo(sub);
      assert.equal(text(await bus.request(`${p}.svc`, bytes('hi'), { timeoutMs: 5000 })), 're:hi');
      const many = await Promise.all(Array.from({ length: 20 }, (_, i) => bus.request(`${p}.svc`, bytes(String(i)), { timeoutMs: 5000 })));
      assert.deepEqual(many.map(text), Array.from({ length: 20 }, (_, i) => `re:${i}`));
      sub.unsubscribe();
      await served;
    });

    it('a request carries a reply subject; respond() is false for a plain publish', async (t) => {
      const { bus, p } = await fresh(t);
      const it = bus.subscribe(`${p}.svc`)[Symbol.asyncIterator]();
      bus.publish(`${p}.svc`, bytes('plain'));
      const [plain] = await take(it, 1);
      assert.equal(plain!.reply, undefined);
      assert.equal(plain!.respond(bytes('nobody')), false);
      const answer = bus.request(`${p}.svc`, bytes('q'), { timeoutMs: 5000 });
      const [req] = await take(it, 1);
      assert.equal(typeof req!.reply, 'string');
      assert.equal(req!.respond(bytes('a')), true);
      assert.equal(text(await answer), 'a');
    });

    it('a request to a subject nobody listens on rejects with E_TIMEOUT without waiting out its timeout', { timeout: 10_000 }, async (t) => {
      const { bus, p } = await fresh(t);
      // The request's own timeout is far beyond the test's: only an immediate "no responders" passes.
      const err = await rejection(bus.request(`${p}.nobody`, bytes('?'), { timeoutMs: 120_000 }));
      assertBusError(err, ErrorCode.Timeout);
      assert.equal(err.retryable, true);
    });

    it('a request nobody answers rejects with E_TIMEOUT after its timeout', async (t) => {
      const { bus, p } = await fresh(t);
      const sub = bus.subscribe(`${p}.mute`);
      const it = sub[Symbol.asyncIterator]();
      const pending = rejection(bus.request(`${p}.mute`, bytes('?'), { timeoutMs: 200 }));
      await take(it, 1); // the listener got it, and stays silent
      assertBusError(await pending, ErrorCode.Timeout);
    });

    it('unsubscribe ends the async iteration, also while it waits; a second unsubscribe is harmless', async (t) => {
      const { bus, p } = await fresh(t);
      const sub = bus.subscribe(`${p}.u`);
      const got: string[] = [];
      let first!: () => void;
      const firstSeen = new Promise<void>((r) => (first = r));
      const loop = (async () => {
        for await (const m of sub) {
          got.push(text(m.data));
          first();
        }
        return 'ended';
      })();
      bus.publish(`${p}.u`, bytes('1'));
      await firstSeen;
      sub.unsubscribe(); // the loop is now parked in next()
      assert.equal(await loop, 'ended');
      sub.unsubscribe();
      bus.publish(`${p}.u`, bytes('2'));
      await bus.flush();
      assert.deepEqual(got, ['1']);
    });

    it('breaking out of a for-await loop ends the subscription', async (t) => {
      const { bus, p } = await fresh(t);
      const sub = bus.subscribe(`${p}.b`);
      bus.publish(`${p}.b`, bytes('1'));
      for await (const m of sub) {
        assert.equal(text(m.data), '1');
        break;
      }
      // Nobody listens any more: a request finds no responder.
      assertBusError(await rejection(bus.request(`${p}.b`, bytes('?'), { timeoutMs: 120_000 })), ErrorCode.Timeout);
    });

    it('publish and request above maxPayload fail with E_TOO_LARGE', async (t) => {
      const { bus, p } = await fresh(t);
      assert.ok(bus.maxPayload > 0);
      const sub = bus.subscribe(`${p}.big`);
      const served = echo(sub);
      const big = new Uint8Array(bus.maxPayload + 1);
      assert.throws(() => bus.publish(`${p}.big`, big), (e: unknown) => (assertBusError(e, ErrorCode.TooLarge), true));
      assertBusError(await rejection(bus.request(`${p}.big`, big, { timeoutMs: 5000 })), ErrorCode.TooLarge);
      // The bus still works afterwards.
      assert.equal(text(await bus.request(`${p}.big`, bytes('small'), { timeoutMs: 5000 })), 're:small');
      sub.unsubscribe();
      await served;
    });

    it('close() is idempotent, ends open subscriptions, and publishing afterwards throws a BusError', async (t) => {
      const { bus, p } = await fresh(t);
      const sub = bus.subscribe(`${p}.c`);
      const loop = (async () => {
        for await (const _ of sub) {
          // nothing arrives
        }
        return 'ended';
      })();
      await Promise.all([bus.close(), bus.close()]);
      await bus.close();
      assert.equal(await loop, 'ended');
      assert.throws(() => bus.publish(`${p}.c`, bytes('late')), (e: unknown) => e instanceof BusError);
    });
  });
}

