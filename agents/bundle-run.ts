/**
 * Running one bundle's tasks, in order, wherever the bundle runs: on a worker thread
 * (worker.ts) or on the agent's main thread (inline-pool.ts). Both follow the bundle's shared
 * flags (flags.ts) the same way: a marked task is skipped or its result dropped, the task
 * running now is recorded so a crash can be pinned on it, and the bundle is marked ended.
 */
import type { ResultGroup } from '../protocol/index.js';
import { taskInput, type BatchTask, type InputCache, type Kind, type RunOutput, type TaskInput } from '../src/kinds/index.js';
import { ErrorCode, toWireError } from '../src/errors.js';
import { errorRow, GroupBuilder, okRow, toJson, type RowHead } from '../src/rows/index.js';
import { bundleAborted, isMarked, runningIndex, setEnded, setRunning } from './flags.js';
import type { TaskFailure, WireErrorShape, WorkerInput } from './worker-types.js';

/** Where a bundle runs: what differs between a worker thread and the main thread. */
export interface BundleRunEnv {
  /** The bundle's kind; undefined when this agent has no kind of that name. */
  kind: Kind<unknown> | undefined;
  /** Params already checked, by job; the runner adds the bundle's job (at most 64 kept). */
  paramsCache: Map<string, unknown>;
  /** Parsed inputs for `ctx.inputs`. */
  inputs: InputCache;
  /** The `worker` field of the rows. */
  worker: number;
  /** The tasks' signal; asked for at most once per bundle, when a task first looks at it. */
  signal(): AbortSignal;
  /** Called after each task that ran (ok or not). */
  ran?(): void;
}

/** Params kept per runner: jobs in flight on one agent are few. */
const PARAMS_KEPT = 64;

/**
 * The tasks' signal of one bundle: its `aborted` reads the shared flags of the task running
 * now and of the bundle, since a worker's event loop is busy while a task computes. `fired`
 * (the main thread's pool) also makes it fire, so a task waiting on it ends at once.
 */
export function bundleSignal(flags: Int32Array, n: number, fired?: AbortSignal): AbortSignal {
  const ac = new AbortController();
  if (fired) {
    if (fired.aborted) ac.abort();
    else fired.addEventListener('abort', () => ac.abort(), { once: true });
  }
  Object.defineProperty(ac.signal, 'aborted', {
    get: () => {
      const i = runningIndex(flags);
      // A task still looking after its bundle ended (i = n) is told to stop as well.
      return i === n || (i >= 0 && isMarked(flags, i)) || bundleAborted(flags);
    },
  });
  return ac.signal;
}

/** Runs the bundle's tasks one after the other; returns the rows of those that ended and the retryable failures. */
export async function runBundleTasks(input: WorkerInput, env: BundleRunEnv): Promise<{ group: ResultGroup; failures: TaskFailure[] }> {
  const { job, kind: kindName, ids, attempts, finals, refs, agent, host, flags, threads } = input;
  const gpus = input.gpus ?? [];
  const { kind, paramsCache, inputs, worker } = env;
  const n = ids.length;
  const results = new GroupBuilder(job);
  const failures: TaskFailure[] = [];
  let params: unknown = paramsCache.get(job);
  let paramsError: WireErrorShape | null = null;
  if (kind && params === undefined) {
    try {
      params = kind.checkParams(input.params);
      paramsCache.set(job, params);
      if (paramsCache.size > PARAMS_KEPT) paramsCache.delete(paramsCache.keys().next().value!);
    } catch (err) {
      paramsError = toWireError(err);
    }
  }
  let signal: AbortSignal | null = null;
  // Built on first use: most tasks never look at it.
  const lazySignal = (): AbortSignal => (signal ??= env.signal());
  try {
    if (kind?.runBatch && !paramsError) await runBatch(kind);
    else for (let i = 0; i < n; i++) await runOne(i);
  } finally {
    setEnded(flags);
  }
  return { group: results.build(), failures };

  async function runOne(i: number): Promise<void> {
    if (bundleAborted(flags) || isMarked(flags, i)) return;
    setRunning(flags, i);
    const start = Date.now();
    const t0 = performance.now();
    let output: RunOutput | null = null;
    let error: unknown = null;
    if (!kind) error = { code: ErrorCode.NotFound, message: `this agent has no kind '${kindName}'`, retryable: true };
    else if (paramsError) error = { ...paramsError, retryable: false };
    else {
      try {
        const ctx = {
          get signal(): AbortSignal {
            return lazySignal();
          },
          threads,
          ...(gpus.length > 0 ? { gpus } : {}),
          attempt: attempts[i]!,
          job,
          task: ids[i]!,
          inputs,
        };
        output = await kind.run(refs[i], params, ctx);
      } catch (err) {
        error = err;
      }
    }
    env.ran?.();
    end(i, start, performance.now() - t0, output, error);
  }

  /** The kind runs the live tasks together; each end is kept as it comes. */
  async function runBatch(k: Kind<unknown>): Promise<void> {
    const tasks: BatchTask[] = [];
    for (let i = 0; i < n; i++) if (!isMarked(flags, i)) tasks.push({ index: i, id: ids[i]!, attempt: attempts[i]!, ref: refs[i] });
    if (tasks.length === 0 || bundleAborted(flags)) return;
    let start = Date.now();
    let t0 = performance.now();
    const ctx = {
      get signal(): AbortSignal {
        return lazySignal();
      },
      threads,
      gpus,
      job,
      inputs,
      live: (i: number) => !bundleAborted(flags) && !isMarked(flags, i),
      begin: (i: number) => setRunning(flags, i),
    };
    for await (const r of k.runBatch!(tasks, params, ctx)) {
      env.ran?.();
      const now = performance.now();
      if ('output' in r) end(r.index, start, now - t0, r.output, null);
      else end(r.index, start, now - t0, null, r.error, r.fields);
      start = Date.now();
      t0 = now;
    }
  }

  /** Keeps a task's end: a row, a retryable failure, or nothing when it was taken back meanwhile. */
  function end(i: number, start: number, ms: number, output: RunOutput | null, thrown: unknown, fields?: Record<string, unknown>): void {
    if (isMarked(flags, i) || bundleAborted(flags)) return; // aborted: no result
    const id = ids[i]!;
    const attempt = attempts[i]!;
    const error = output ? null : isWire(thrown) ? thrown : toWireError(thrown);
    // A setup that failed is the job's failure, never one task's row: always reported (the coordinator fails the job).
    if (error && ((error.retryable && !finals[i]) || error.code === ErrorCode.Setup)) {
      failures.push({ id, attempt, error: { code: error.code, message: error.message } });
      return;
    }
    const extra = output?.fields ?? fields;
    const head: RowHead = { job, task: id, kind: kindName, attempt, agent, host, worker, start, end: Date.now(), ...(extra ? { fields: extra } : {}) };
    // What the task was given, read only when one of its rows is an error.
    const given = (): TaskInput | null => taskInput(kind, params, refs[i]);
    const rendered = error ? { text: errorRow(head, error, undefined, given()), status: 'error' as const } : render(head, output!, given);
    results.add(id, attempt, rendered.status === 'ok', ms, rendered.text);
  }
}

function isWire(e: unknown): e is WireErrorShape & { retryable: boolean } {
  return typeof e === 'object' && e !== null && !(e instanceof Error) && typeof (e as { code?: unknown }).code === 'string' && typeof (e as { retryable?: unknown }).retryable === 'boolean';
}

/**
 * Renders a task's output into its rows. A multi-record task is an error when any of its
 * records is: a chunk with one unreadable frame has failed, whatever the others did. `given`
 * says what the task was given, for its error rows' `input` (asked once, and only for them).
 */
export function render(head: RowHead, out: RunOutput, given?: () => unknown): { text: string; status: 'ok' | 'error' } {
  let input: unknown;
  let asked = false;
  const inputOf = (): unknown => {
    if (!asked) input = given?.();
    asked = true;
    return input;
  };
  if ('records' in out) {
    const of = out.records.length;
    if (of === 0) return { text: errorRow(head, { code: ErrorCode.Internal, message: 'the task produced no records' }, undefined, inputOf()), status: 'error' };
    let text = '';
    let anyError = false;
    for (const r of out.records) {
      const idx = { index: r.index, of };
      if (r.error) {
        text += errorRow(head, r.error, idx, inputOf());
        anyError = true;
        continue;
      }
      const json = toJson(r.value);
      if (json === null) {
        text += errorRow(head, { code: ErrorCode.Task, message: `record ${r.index}: value is not JSON-serialisable` }, idx, inputOf());
        anyError = true;
      } else text += okRow(head, json, idx);
    }
    return { text, status: anyError ? 'error' : 'ok' };
  }
  const json = toJson(out.value);
  if (json === null) return { text: errorRow(head, { code: ErrorCode.Task, message: 'the value is not JSON-serialisable' }, undefined, inputOf()), status: 'error' };
  return { text: okRow(head, json), status: 'ok' };
}
