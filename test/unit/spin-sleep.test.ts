/**
 * `spin --sleep`: a task waits its --ms on a timer instead of burning CPU, so simulated agents
 * can offer many more slots than the machine has cores; an abort ends the wait at once.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { spinKind, type SpinParams } from '../../src/kinds/spin/index.js';
import { ErrorCode, ShoalError } from '../../src/errors.js';
import type { RunContext } from '../../src/kinds/index.js';
import { kindParams } from '../helpers/kinds.js';

/** Parses `spin <args>` the way `shoal run spin` does, and returns the params. */
const parse = (args: string[]): SpinParams => kindParams(spinKind, args);

function ctx(signal: AbortSignal = new AbortController().signal): RunContext {
  return { signal, threads: 1, attempt: 1, job: 'J', task: 'spin_0' };
}

const isAborted = (err: unknown): boolean => err instanceof ShoalError && err.code === ErrorCode.Aborted;

describe('spin --sleep', () => {
  it('is off unless asked for, on the command line and over the wire', () => {
    assert.equal(parse(['--ms', '5']).sleep, false);
    assert.equal(parse(['--ms', '5', '--sleep']).sleep, true);
    assert.equal(spinKind.checkParams({ tasks: 3, ms: 5 }).sleep, false);
    assert.equal(spinKind.checkParams({ tasks: 3, ms: 5, sleep: true }).sleep, true);
  });

  it('keeps the cost and the row value of a busy task', async () => {
    const busy = await spinKind.expand(spinKind.checkParams({ tasks: 4, ms: 50, skew: true }), { slots: 1, job: 'J', info: () => undefined });
    const asleep = await spinKind.expand(spinKind.checkParams({ tasks: 4, ms: 50, skew: true, sleep: true }), { slots: 1, job: 'J', info: () => undefined });
    assert.deepEqual(asleep, busy);
    const out = await spinKind.run({ ms: 1, i: 0 }, spinKind.checkParams({ tasks: 1, ms: 1, sleep: true }), ctx());
    assert.deepEqual(out, { value: { ms: 1 } });
  });

  it('takes far less CPU than the time it waits', async () => {
    const p = spinKind.checkParams({ tasks: 1, ms: 200, sleep: true });
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await spinKind.run({ ms: 200, i: 0 }, p, ctx());
    const wallMs = performance.now() - t0;
    const used = process.cpuUsage(cpu0);
    const cpuMs = (used.user + used.system) / 1000;
    assert.ok(cpuMs < wallMs / 2, `a 200 ms sleep used ${cpuMs.toFixed(1)} ms of CPU in ${wallMs.toFixed(1)} ms`);
  });

  it('ends with the Aborted error when its signal fires, without waiting out --ms', { timeout: 60_000 }, async () => {
    const p = spinKind.checkParams({ tasks: 1, ms: 600_000, sleep: true });
    const ac = new AbortController();
    const running = spinKind.run({ ms: 600_000, i: 0 }, p, ctx(ac.signal));
    ac.abort();
    await assert.rejects(running, isAborted);
    // Already aborted before it begins: it does not wait at all.
    await assert.rejects(spinKind.run({ ms: 600_000, i: 0 }, p, ctx(ac.signal)), isAborted);
  });
});
