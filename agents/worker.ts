/**
 * The piscina worker entry: runs one bundle of tasks of one job, in order, and returns each
 * task's rendered rows (JSON text is produced here, in parallel, not in the single writer).
 *
 * A shared Int32Array links the bundle to the agent while it runs; its layout is in flags.ts
 * (each task's mark, the task running now so a crash can be pinned on it, the bundle's abort).
 *
 * A thread may hold a second bundle while it runs one (WorkerPool's PIPELINE); it begins it
 * when the first ends, without waiting for the main thread.
 */
import { threadId, workerData } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';
import type { WireErrorShape } from './worker-types.js';
import type { WorkerInput, BundleOutput, PoolWorkerData, TaskFailure } from './worker-types.js';
import { getKind, PortInputs, threadInputs, type Kind, type RunOutput } from '../src/kinds/index.js';
import { ErrorCode, toWireError } from '../src/errors.js';
import { errorRow, GroupBuilder, okRow, toJson, type RowHead } from '../src/rows/index.js';
import { bundleAborted, isMarked, runningIndex, setEnded, setRunning } from './flags.js';

const started = workerData as PoolWorkerData | undefined;
const handlerPaths: string[] = started?.handlers ?? [];
// This module has loaded: the pool may now stop this thread safely (see WorkerPool.close).
if (started?.loaded) {
  Atomics.add(started.loaded, 0, 1);
}
let handlers: Promise<Map<string, Kind<unknown>>> | null = null;

/** Loads the agent's handler modules once per thread (only paths from the agent's own command line). */
function loadHandlers(): Promise<Map<string, Kind<unknown>>> {
  handlers ??= (async () => {
    const map = new Map<string, Kind<unknown>>();
    for (const path of handlerPaths) {
      const mod = (await import(pathToFileURL(path).href)) as { default?: unknown; kinds?: unknown };
      const list = (Array.isArray(mod.kinds) ? mod.kinds : Array.isArray(mod.default) ? mod.default : [mod.default]) as Kind<unknown>[];
      for (const k of list) if (k && typeof k.name === 'string') map.set(k.name, k);
    }
    return map;
  })();
  return handlers;
}

const paramsCache = new Map<string, unknown>();
let tasksRun = 0;

async function kindFor(name: string): Promise<Kind<unknown> | undefined> {
  return getKind(name) ?? (handlerPaths.length > 0 ? (await loadHandlers()).get(name) : undefined);
}

/**
 * The tasks' signal, one per bundle: its `aborted` reads the shared flags of the task running
 * now and of the bundle, since the event loop is busy while a task computes.
 */
function bundleSignal(flags: Int32Array, n: number): AbortSignal {
  const ac = new AbortController();
  Object.defineProperty(ac.signal, 'aborted', {
    get: () => {
      const i = runningIndex(flags);
      // A task still looking after its bundle ended (i = n) is told to stop as well.
      return i === n || (i >= 0 && isMarked(flags, i)) || bundleAborted(flags);
    },
  });
  return ac.signal;
}

/** The bundles this thread holds run one after the other (the pool hands it the next early). */
let previous: Promise<unknown> = Promise.resolve();

export default function runBundle(input: WorkerInput): Promise<BundleOutput> {
  const p = previous.then(() => runAlone(input));
  previous = p.catch(() => undefined);
  return p;
}

async function runAlone(input: WorkerInput): Promise<BundleOutput> {
  const cell = input.thread;
  if (cell) Atomics.store(cell, 0, threadId);
  try {
    return await runBundleNow(input);
  } finally {
    // The pool took the cell to kill this thread for an abort: begin nothing else meanwhile.
    if (cell && Atomics.compareExchange(cell, 0, threadId, 0) !== threadId) await new Promise(() => undefined);
  }
}

async function runBundleNow(input: WorkerInput): Promise<BundleOutput> {
  const { job, kind: kindName, ids, attempts, finals, refs, agent, host, flags, threads } = input;
  const n = ids.length;
  const results = new GroupBuilder(job);
  const failures: TaskFailure[] = [];
  const kind = await kindFor(kindName);
  let params: unknown = paramsCache.get(job);
  let paramsError: WireErrorShape | null = null;
  if (kind && params === undefined) {
    try {
      params = kind.checkParams(input.params);
      paramsCache.set(job, params);
      if (paramsCache.size > 64) paramsCache.delete(paramsCache.keys().next().value!);
    } catch (err) {
      paramsError = toWireError(err);
    }
  }
  const inputs = input.inputs ? new PortInputs(input.inputs) : threadInputs;
  let signal: AbortSignal | null = null;
  try {
    for (let i = 0; i < n; i++) await runOne(i);
  } finally {
    setEnded(flags);
    if (inputs instanceof PortInputs) inputs.close();
  }
  return { group: results.build(), failures, threadId, tasksRun };

  async function runOne(i: number): Promise<void> {
    if (bundleAborted(flags) || isMarked(flags, i)) return;
    setRunning(flags, i);
    const id = ids[i]!;
    const attempt = attempts[i]!;
    const start = Date.now();
    const t0 = performance.now();
    let output: RunOutput | null = null;
    let error: (WireErrorShape & { retryable: boolean }) | null = null;
    if (!kind) error = { code: ErrorCode.NotFound, message: `this agent has no kind '${kindName}'`, retryable: true };
    else if (paramsError) error = { ...paramsError, retryable: false };
    else {
      try {
        const ctx = {
          // Built on first use: most tasks never look at it.
          get signal(): AbortSignal {
            return (signal ??= bundleSignal(flags, n));
          },
          threads,
          attempt,
          job,
          task: id,
          inputs,
        };
        output = await kind.run(refs[i], params, ctx);
      } catch (err) {
        error = toWireError(err);
      }
    }
    tasksRun++;
    const ms = performance.now() - t0;
    if (isMarked(flags, i) || bundleAborted(flags)) return; // aborted: no result
    if (error && error.retryable && !finals[i]) {
      failures.push({ id, attempt, error: { code: error.code, message: error.message } });
      return;
    }
    const head: RowHead = { job, task: id, kind: kindName, attempt, agent, host, worker: threadId, start, end: Date.now() };
    const rendered = error ? { text: errorRow(head, error), status: 'error' as const } : render(head, output!);
    results.add(id, attempt, rendered.status === 'ok', ms, rendered.text);
  }
}

/**
 * Renders a task's output into its rows. A multi-record task is an error when any of its
 * records is: a chunk with one unreadable frame has failed, whatever the others did.
 */
export function render(head: RowHead, out: RunOutput): { text: string; status: 'ok' | 'error' } {
  if ('records' in out) {
    const of = out.records.length;
    if (of === 0) return { text: errorRow(head, { code: ErrorCode.Internal, message: 'the task produced no records' }), status: 'error' };
    let text = '';
    let anyError = false;
    for (const r of out.records) {
      const idx = { index: r.index, of };
      if (r.error) {
        text += errorRow(head, r.error, idx);
        anyError = true;
        continue;
      }
      const json = toJson(r.value);
      if (json === null) {
        text += errorRow(head, { code: ErrorCode.Task, message: `record ${r.index}: value is not JSON-serialisable` }, idx);
        anyError = true;
      } else text += okRow(head, json, idx);
    }
    return { text, status: anyError ? 'error' : 'ok' };
  }
  const json = toJson(out.value);
  if (json === null) return { text: errorRow(head, { code: ErrorCode.Task, message: 'the value is not JSON-serialisable' }), status: 'error' };
  return { text: okRow(head, json), status: 'ok' };
}
