/**
 * Waiting in tests: on a condition (`until`), never on the clock. `sleep` is for what a test
 * does on purpose for a while (keep a broker down, pace a storm) and for polling here, and
 * every use outside this file says which.
 *
 *   await until('rows of J1', () => rowsSoFar(file).length >= 100);
 *   const id = await until(() => `agent to join\n${p.describe()}`, () => joinedId(), 60_000, 250);
 *   throw new GiveUp('the job ended first');   // inside a probe: fail at once, not at the timeout
 */
import assert from 'node:assert/strict';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Thrown by an `until` probe when what it waits for can no longer happen: `until` fails with it at once. */
export class GiveUp extends Error {}

/**
 * Polls `fn` until it returns a truthy value and returns that value. A probe that throws is
 * asked again (a status request may fail while a broker restarts), except with a GiveUp.
 * Fails after `timeoutMs` naming `what` (a function is asked at that moment, for details).
 */
export async function until<T>(what: string | (() => string), fn: () => T | Promise<T>, timeoutMs = 30_000, intervalMs = 100): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
      last = v;
    } catch (err) {
      if (err instanceof GiveUp) throw err;
      last = err;
    }
    if (Date.now() > deadline) {
      const name = typeof what === 'string' ? what : what();
      assert.fail(`timed out after ${timeoutMs} ms waiting for ${name} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
    }
    await sleep(intervalMs);
  }
}

/** Resolves with `p`'s value, or with null after `ms` (the timer does not keep the process alive). */
export function within<T>(p: Promise<T>, ms: number): Promise<T | null> {
  return Promise.race([p, new Promise<null>((r) => setTimeout(() => r(null), ms).unref())]);
}
