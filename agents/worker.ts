/**
 * The piscina worker entry: runs one bundle of tasks of one job, in order (bundle-run.ts), and
 * returns each task's rendered rows (JSON text is produced here, in parallel, not in the
 * single writer).
 *
 * A shared Int32Array links the bundle to the agent while it runs; its layout is in flags.ts
 * (each task's mark, the task running now so a crash can be pinned on it, the bundle's abort).
 *
 * A thread may hold a second bundle while it runs one (WorkerPool's PIPELINE); it begins it
 * when the first ends, without waiting for the main thread.
 */
import { threadId, workerData } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';
import type { WorkerInput, BundleOutput, PoolWorkerData } from './worker-types.js';
import { getKind, PortInputs, threadInputs, type Kind } from '../src/kinds/index.js';
import { bundleSignal, runBundleTasks } from './bundle-run.js';

const started = workerData as PoolWorkerData | undefined;
const handlerPaths: string[] = started?.handlers ?? [];
// This module has loaded: the pool may now stop this thread safely (see WorkerPool.close).
// Counted once the turn that loads it is over: the loader still wraps the module after its
// body has run (require of an ES module), and a thread terminated then aborts the process.
if (started?.loaded) {
  const loaded = started.loaded;
  setImmediate(() => Atomics.add(loaded, 0, 1));
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
  const kind = await kindFor(input.kind);
  const inputs = input.inputs ? new PortInputs(input.inputs) : threadInputs;
  try {
    const { group, failures } = await runBundleTasks(input, {
      kind,
      paramsCache,
      inputs,
      worker: threadId,
      signal: () => bundleSignal(input.flags, input.ids.length),
      ran: () => tasksRun++,
    });
    return { group, failures, threadId, tasksRun };
  } finally {
    if (inputs instanceof PortInputs) inputs.close();
  }
}
