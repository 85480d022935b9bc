/**
 * Running a bundle of python tasks in a worker thread: the thread keeps one interpreter (one
 * per slot) and feeds it the bundle's live tasks in chunks, two chunks ahead, so the
 * interpreter never waits for the thread; each answer is kept as it arrives.
 *
 * Chunks are sized to about CHUNK_MS of work (from the mean task time so far) so that a task
 * taken back by a drain or a cancel is rarely already on its way. A task over --timeout gets
 * its interpreter killed. When the interpreter dies, the task it was running is blamed (the
 * one it had begun last, from its progress file; else the first one sent and unanswered) and
 * the rest of the bundle is handed back, uncharged, with those whose answers it still held; the
 * next bundle starts a fresh interpreter.
 */
import { ErrorCode, InputError, ShoalError } from '../../errors.js';
import { recordReaderFor, type RecordReader } from '../records/index.js';
import { isStageRef } from '../stage.js';
import type { BatchContext, BatchResult, BatchTask, RecordOutput, RunOutput } from '../types.js';
import { describeExit, Interpreter, SetupFailed, type PyError, type PyExit, type PyReply } from './interpreter.js';
import type { PythonParams } from './params.js';
import { gpuEnv } from '../gpus.js';
import { interpreterStarted } from '../interpreters.js';

/** Aim for chunks of about this much work. */
const CHUNK_MS = 40;
/** The most tasks in one chunk. */
const CHUNK_MAX = 2048;

/** The thread's interpreter and what it was started for. */
let current: { key: string; it: Interpreter } | null = null;
/**
 * The timer that stops the thread's interpreter once it has been idle for the job's --idle
 * seconds: its job has likely ended, and it may hold memory and a GPU that the next job's
 * interpreters need. The timer keeps no thread alive.
 */
let idle: NodeJS.Timeout | null = null;

function stopWhenIdle(ms: number): void {
  idle = setTimeout(() => {
    idle = null;
    const c = current;
    current = null;
    void c?.it.close();
  }, ms);
  idle.unref();
}
/** The mean time of a task of the job this thread ran last, ms (0: not known yet): sizes the first chunks of its next bundle. */
let pace: { job: string; meanMs: number } = { job: '', meanMs: 0 };

/**
 * Environment of an interpreter: the agent's, plus its threads (so numpy and torch do not
 * start a thread per core in every interpreter) and its GPUs (exactly those it was given).
 */
export function pythonEnv(base: NodeJS.ProcessEnv, job: string, threads: number, gpus: readonly number[]): NodeJS.ProcessEnv {
  const t = String(threads);
  return { ...base, SHOAL_JOB: job, SHOAL_THREADS: t, OMP_NUM_THREADS: t, MKL_NUM_THREADS: t, OPENBLAS_NUM_THREADS: t, NUMEXPR_NUM_THREADS: t, ...gpuEnv({ gpus }) };
}

/** The thread's interpreter for this job (and these GPUs), started when there is none or another. */
async function interpreterFor(p: PythonParams, ctx: BatchContext): Promise<Interpreter> {
  const gpus = ctx.gpus ?? [];
  const key = JSON.stringify([ctx.job, p.python, p.fn, p.cwd, p.threads, gpus]);
  if (current && current.key === key && current.it.alive && !(p.recycleAfter > 0 && current.it.answered >= p.recycleAfter)) return current.it;
  if (current) {
    const old = current.it;
    current = null;
    await old.close();
  }
  const it = await Interpreter.start({
    python: p.python,
    fn: p.fn,
    cwd: p.cwd,
    params: p.params,
    env: pythonEnv(process.env, ctx.job, p.threads, gpus),
    tail: p.tail,
    killGraceS: p.killGraceMs / 1000,
  });
  current = { key, it };
  interpreterStarted(it.pid, ctx.job);
  return it;
}

/** A Python exception as the one line of an error row: type, message, the end of its traceback. */
function exceptionMessage(e: PyError): string {
  const tb = e.traceback.trim();
  return `${e.type}: ${e.message}${tb ? `\n${tb}` : ''}`;
}

function printed(r: { stdout?: string; stderr?: string }, pid: number): Record<string, unknown> {
  return { pid, ...(r.stdout ? { stdout: r.stdout } : {}), ...(r.stderr ? { stderr: r.stderr } : {}) };
}

/** One answer as a task's end. */
function answer(t: BatchTask, r: PyReply, pid: number, p: PythonParams): BatchResult {
  const fields = printed(r, pid);
  if (r.op === 'error' || (r.records === undefined && r.error)) {
    const e = r.error ?? { type: 'Error', message: 'no error given', traceback: '' };
    return { index: t.index, error: new ShoalError(ErrorCode.Exception, exceptionMessage(e), { retryable: p.retryFailed }), fields };
  }
  let output: RunOutput;
  if (r.records) {
    const records: RecordOutput[] = r.records.map((value, index) => ({ index, value }));
    // A generator that raised after some records: its records so far, then the error.
    if (r.error) records.push({ index: records.length, error: { code: ErrorCode.Exception, message: exceptionMessage(r.error) } });
    output = { records, fields };
  } else output = { value: r.value ?? null, fields };
  return { index: t.index, output };
}

/** Runs a bundle's python tasks; see the file's header. */
export async function* runPythonBatch(tasks: BatchTask[], p: PythonParams, ctx: BatchContext): AsyncGenerator<BatchResult> {
  if (idle) clearTimeout(idle);
  idle = null;
  try {
    yield* runOnInterpreter(tasks, p, ctx);
  } finally {
    if (p.idleMs > 0) stopWhenIdle(p.idleMs);
  }
}

async function* runOnInterpreter(tasks: BatchTask[], p: PythonParams, ctx: BatchContext): AsyncGenerator<BatchResult> {
  let it: Interpreter;
  try {
    it = await interpreterFor(p, ctx);
  } catch (err) {
    // The function cannot be loaded or setup() raised: one error, for the first task; the rest
    // go back (the job fails on this error: see the coordinator).
    const msg = err instanceof SetupFailed ? `setup failed in ${p.python} for --fn ${p.fn}: ${exceptionMessage(err.error)}${err.error.stderr ? `\nstderr: ${err.error.stderr.trim()}` : ''}` : (err as Error).message;
    yield { index: tasks[0]!.index, error: new ShoalError(ErrorCode.Setup, msg, { retryable: true }) };
    return;
  }
  let inputs: Pick<RecordReader, 'read'>;
  try {
    inputs = p.inputs ? await recordReaderFor(p.inputs) : stageInputs;
  } catch (err) {
    // The file cannot be read here: the same for every task of the bundle.
    for (const t of tasks) yield { index: t.index, error: err };
    return;
  }
  const sent: BatchTask[] = [];
  let next = 0;
  let chunks = 0;
  let chunkEnds: number[] = [];
  if (pace.job !== ctx.job) pace = { job: ctx.job, meanMs: 0 };
  let answered = 0;
  /** Tasks the interpreter answered before this bundle (it answers all it is sent, in order). */
  const before = it.answered;
  let timedOut = false;

  /** Sends the next chunk of live tasks; inputs that cannot be read end at once. */
  const sendChunk = (bad: BatchResult[]): void => {
    const size = pace.meanMs > 0 ? Math.max(1, Math.min(CHUNK_MAX, Math.round(CHUNK_MS / pace.meanMs))) : 1;
    const batch: { id: string; input: unknown }[] = [];
    while (next < tasks.length && batch.length < size) {
      const t = tasks[next++]!;
      if (!ctx.live(t.index)) continue;
      try {
        batch.push({ id: t.id, input: inputs.read(t.ref as never) });
        sent.push(t);
      } catch (err) {
        const e = err instanceof InputError ? err : new InputError((err as Error).message, err);
        bad.push({ index: t.index, error: e });
      }
    }
    if (batch.length === 0) return;
    it.run(batch);
    chunks++;
    chunkEnds.push(sent.length);
  };

  let t0 = performance.now();
  for (;;) {
    const bad: BatchResult[] = [];
    while (chunks < 2 && next < tasks.length) sendChunk(bad);
    yield* bad;
    if (sent.length === answered) {
      if (next >= tasks.length) return;
      continue;
    }
    const head = sent[answered]!;
    ctx.begin(head.index);
    const r = await nextAnswer(it, p.timeoutMs > 0 ? p.timeoutMs - (performance.now() - t0) : 0, () => (timedOut = true));
    if ('code' in r) {
      // The task it had begun last (its progress file says), else the first unanswered; those
      // between ended but their answers were still gathered: they go back uncharged.
      const begun = it.begunAtEnd === null ? -1 : it.begunAtEnd - 1 - before;
      const culprit = begun >= answered && begun < sent.length ? sent[begun]! : head;
      yield died(culprit, r, it, p, timedOut);
      current = null;
      return;
    }
    if (r.id !== head.id) {
      it.kill();
      current = null;
      yield { index: head.index, error: new ShoalError(ErrorCode.Crash, `the interpreter (pid ${it.pid}) answered task '${r.id}' while '${head.id}' was expected: protocol broken, interpreter killed`, { retryable: true }) };
      return;
    }
    it.answered++;
    answered++;
    const now = performance.now();
    // The interpreter's own time for the task when it says (the gap between answers also holds the pipe's).
    const ms = typeof r.ms === 'number' ? r.ms : now - t0;
    pace.meanMs = pace.meanMs === 0 ? ms : pace.meanMs * 0.9 + ms * 0.1;
    t0 = now;
    if (answered === chunkEnds[0]) {
      chunkEnds = chunkEnds.slice(1);
      chunks--;
    }
    yield answer(head, r, it.pid, p);
  }
}

/** The next answer, or the interpreter's end; past `limitMs` (> 0) it is killed (`onTimeout` says so). */
async function nextAnswer(it: Interpreter, limitMs: number, onTimeout: () => void): Promise<PyReply | PyExit> {
  if (limitMs === 0) return it.next();
  const timer = setTimeout(
    () => {
      onTimeout();
      it.kill();
    },
    Math.max(0, limitMs),
  );
  try {
    return await it.next();
  } finally {
    clearTimeout(timer);
  }
}

/** The interpreter ended while `t` ran: a timeout (final unless --retry-failed) or a crash (retried). */
function died(t: BatchTask, e: PyExit, it: Interpreter, p: PythonParams, timedOut: boolean): BatchResult {
  if (timedOut) {
    return { index: t.index, error: new ShoalError(ErrorCode.TaskTimeout, `timed out after ${p.timeoutMs / 1000}s (interpreter pid ${it.pid} killed; a new one takes the next task)`, { retryable: p.retryFailed }), fields: { pid: it.pid } };
  }
  return { index: t.index, error: new ShoalError(ErrorCode.Crash, `the interpreter (pid ${it.pid}) died running this task: ${describeExit(e)}`, { retryable: true }), fields: { pid: it.pid } };
}

/** The inputs of a stage's tasks (`--from JOB`): each task carries its upstream row's value. */
const stageInputs: Pick<RecordReader, 'read'> = {
  read(ref: unknown): unknown {
    if (!isStageRef(ref)) throw new InputError('a task of a --from job without its upstream value (malformed ref)');
    return ref.v;
  },
};
