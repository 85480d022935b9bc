/**
 * Runs the walks of one frame on several threads: the calling thread plus up to
 * `threads − 1` helper worker threads, all claiming blocks from one shared counter and writing
 * per-block hit counts into one shared array. Blocks are keyed streams, so the sum does not
 * depend on who ran which block; a helper that dies leaves its block at −1 and the calling
 * thread runs it again.
 *
 * Helpers are cached per thread (a piscina worker keeps its own), referenced only while they
 * work, and terminated after IDLE_MS without work, so they never keep a process alive.
 */
import { Worker } from 'node:worker_threads';
import { ErrorCode, ShoalError } from '../../errors.js';
import { Xoshiro128 } from './rng.js';
import { blockCount, runZenoBlock, zenoEstimate, type ZenoProblem, type ZenoResult } from './zeno.js';

/** main → helper */
export interface ZenoRunMessage {
  kind: 'run';
  id: number;
  problem: ZenoProblem;
  seed: number;
  frame: number;
  walks: number;
  nBlocks: number;
  /** [0] next block to claim, [1] stop flag. */
  control: Int32Array;
  /** Hit count per block; −1 until computed. */
  hits: Int32Array;
}

/** helper → main */
export type ZenoHelperMessage = { kind: 'done'; id: number; blocks: number } | { kind: 'failed'; id: number; message: string };

/** Claims and runs blocks until none are left or the stop flag is set; returns how many it ran. */
export function claimBlocks(m: Omit<ZenoRunMessage, 'kind' | 'id'>, rng = new Xoshiro128()): number {
  let ran = 0;
  for (;;) {
    if (Atomics.load(m.control, 1) !== 0) return ran;
    const b = Atomics.add(m.control, 0, 1);
    if (b >= m.nBlocks) return ran;
    Atomics.store(m.hits, b, runZenoBlock(m.problem, m.seed, m.frame, b, m.walks, rng));
    ran++;
  }
}

/** Helpers with no work for this long are terminated. */
export const IDLE_MS = 3000;

interface Helper {
  worker: Worker;
  alive: boolean;
  /** Working for a zenoThreaded call (two tasks on one thread never share a helper). */
  busy: boolean;
  /** Settles the current run (on its reply, or on the helper's death). */
  settle: ((m: ZenoHelperMessage) => void) | undefined;
}

const helpers: Helper[] = [];
let idleTimer: NodeJS.Timeout | undefined;
let runIds = 0;

function spawnHelper(): Helper {
  const worker = new Worker(new URL('./zeno-worker.js', import.meta.url));
  const h: Helper = { worker, alive: true, busy: false, settle: undefined };
  const finish = (m: ZenoHelperMessage): void => {
    const settle = h.settle;
    h.settle = undefined;
    settle?.(m);
  };
  worker.on('message', (m: ZenoHelperMessage) => finish(m));
  const die = (why: string): void => {
    h.alive = false;
    const i = helpers.indexOf(h);
    if (i >= 0) helpers.splice(i, 1);
    finish({ kind: 'failed', id: -1, message: why });
  };
  worker.on('error', (err) => die(err.message));
  worker.on('exit', (code) => die(`exited with code ${code}`));
  worker.unref();
  helpers.push(h);
  return h;
}

/** The number of live helper threads of this thread (for tests and logs). */
export function zenoHelperCount(): number {
  return helpers.length;
}

/** Terminates every helper of this thread now (a run using one recomputes its blocks). */
export async function shutdownZenoHelpers(): Promise<void> {
  clearTimeout(idleTimer);
  idleTimer = undefined;
  const all = helpers.splice(0);
  await Promise.all(all.map((h) => h.worker.terminate()));
}

/** After IDLE_MS with no helper busy, the idle ones are terminated. */
function scheduleIdleShutdown(): void {
  clearTimeout(idleTimer);
  idleTimer = undefined;
  if (helpers.length === 0 || helpers.some((h) => h.busy)) return;
  idleTimer = setTimeout(() => {
    idleTimer = undefined;
    const idle = helpers.filter((h) => !h.busy);
    for (const h of idle) helpers.splice(helpers.indexOf(h), 1);
    for (const h of idle) void h.worker.terminate();
  }, IDLE_MS);
  idleTimer.unref();
}

const yieldToLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * The capacitance estimate for one frame, with its blocks spread over `threads` threads.
 * The result is bit-identical for any `threads`. Checks `signal` between blocks and throws an
 * E_ABORTED error when it fires.
 */
export async function zenoThreaded(
  problem: ZenoProblem,
  seed: number,
  frame: number,
  walks: number,
  threads: number,
  signal?: AbortSignal,
): Promise<ZenoResult> {
  const nBlocks = blockCount(walks);
  const control = new Int32Array(new SharedArrayBuffer(8));
  const hits = new Int32Array(new SharedArrayBuffer(4 * nBlocks)).fill(-1);
  const job = { problem, seed, frame, walks, nBlocks, control, hits };
  clearTimeout(idleTimer);
  idleTimer = undefined;

  const wanted = Math.max(0, Math.min(threads - 1, nBlocks - 1));
  const used = helpers.filter((h) => !h.busy).slice(0, wanted);
  while (used.length < wanted) used.push(spawnHelper());
  const replies = used.map((h) => {
    h.busy = true;
    h.worker.ref();
    const id = ++runIds;
    return new Promise<ZenoHelperMessage>((resolve) => {
      h.settle = resolve;
      h.worker.postMessage({ kind: 'run', id, ...job } satisfies ZenoRunMessage);
    });
  });

  // The calling thread claims blocks too, yielding between blocks so that an abort arrives.
  const rng = new Xoshiro128();
  try {
    for (;;) {
      if (signal?.aborted) {
        Atomics.store(control, 1, 1);
        break;
      }
      const b = Atomics.add(control, 0, 1);
      if (b >= nBlocks) break;
      Atomics.store(hits, b, runZenoBlock(problem, seed, frame, b, walks, rng));
      if (b + 1 < nBlocks) await yieldToLoop();
    }
  } finally {
    // Left early (abort or an exception): tell the helpers to stop after their current block.
    if (Atomics.load(control, 0) < nBlocks) Atomics.store(control, 1, 1);
    await Promise.all(replies);
    for (const h of used) {
      h.busy = false;
      if (h.alive) h.worker.unref();
    }
    scheduleIdleShutdown();
  }
  if (signal?.aborted) throw new ShoalError(ErrorCode.Aborted, `zeno frame ${frame}: aborted`);

  let total = 0;
  for (let b = 0; b < nBlocks; b++) {
    if (hits[b]! < 0) hits[b] = runZenoBlock(problem, seed, frame, b, walks, rng); // its helper died
    total += hits[b]!;
  }
  return zenoEstimate(problem.R, total, walks);
}
