/**
 * `spin`: busy CPU for a given time per task, for tests and benchmarks.
 * `--sleep` waits the time on a timer instead, so a task costs no CPU: for tests and benchmarks
 * of scheduling with many more slots than cores.
 * `--skew` spreads durations over a heavy tail (deterministic per task) with the same mean;
 * `--sizes FILE` gives one duration multiplier per task from a JSON array (e.g. molecule sizes).
 */
import { readFileSync } from 'node:fs';
import { setTimeout as wait } from 'node:timers/promises';
import { resolve } from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import type { CommandUnknownOpts } from '@commander-js/extra-typings';
import { InputError, ShoalError, ErrorCode } from '../../errors.js';
import { helpDefault, paramsCheck, readOption } from '../options.js';
import { numberedIds, PADDED_TO_SIZE, type TaskList } from '../task-list.js';
import type { Kind, TaskHalf, TaskSpec } from '../types.js';

/** Task numbers (for the fault options). */
const TaskNumbers = Type.Array(Type.Integer({ minimum: 0 }), { default: [] });

/** The spin kind's params: their type, their defaults and their check. */
export const SpinParamsSchema = Type.Object({
  tasks: Type.Integer({ minimum: 1, default: 1000 }),
  ms: Type.Number({ minimum: 0, default: 0 }),
  skew: Type.Boolean({ default: false }),
  /** Wait `ms` on a timer instead of burning CPU. */
  sleep: Type.Boolean({ default: false }),
  /** Per-task multipliers of `ms` (e.g. rows per molecule); overrides `tasks`. */
  sizes: Type.Union([Type.Array(Type.Number()), Type.Null()], { default: null }),
  /** Tasks (by number) that throw, for fault tests. */
  failTasks: TaskNumbers,
  /** Tasks that kill their worker thread, for fault tests. */
  crashTasks: TaskNumbers,
  /** Tasks that allocate until their worker thread hits its heap limit, for fault tests. */
  hogTasks: TaskNumbers,
  /** The coordinator may split a task into halves of its time (like a molecule's rows). */
  splittable: Type.Boolean({ default: false }),
});
export type SpinParams = Static<typeof SpinParamsSchema>;

const P = SpinParamsSchema.properties;

export interface SpinRef {
  ms: number;
  i: number;
}

/** Deterministic heavy-tailed factor with mean about 1 (log-normal, sigma 1). */
function skewFactor(i: number): number {
  // Two uniforms from a 32-bit integer hash of i (Box–Muller).
  const h = (x: number): number => {
    let z = (x + 0x9e3779b9) | 0;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return ((z ^ (z >>> 16)) >>> 0) / 4294967296;
  };
  const u1 = Math.max(h(2 * i), 1e-12);
  const u2 = h(2 * i + 1);
  const n = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  return Math.exp(n - 0.5);
}

function loadSizes(file: string): number[] {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new InputError(`--sizes ${file}: ${(err as Error).message}`);
  }
  const arr = Array.isArray(raw) ? raw : (raw as { sizes?: unknown })?.sizes;
  if (!Array.isArray(arr) || arr.length === 0) throw new InputError(`--sizes ${file}: expected a JSON array of numbers (or an object with 'sizes')`);
  arr.forEach((x, i) => {
    if (typeof x !== 'number' || !(x >= 0)) throw new InputError(`--sizes ${file}: entry #${i} is '${String(x)}', not a number >= 0`);
  });
  return arr as number[];
}

function abortedError(): ShoalError {
  return new ShoalError(ErrorCode.Aborted, 'aborted', { retryable: false });
}

/**
 * Waits `ms` on a timer; rejects with the Aborted error as soon as `signal` fires. (In a worker
 * thread only a whole bundle's abort fires it, by ending the thread; a task-level abort is seen
 * when the wait ends, and the task's result is dropped then.)
 */
async function sleepFor(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) throw abortedError();
  try {
    await wait(ms, undefined, { signal });
  } catch (err) {
    if (signal.aborted || (err as Error).name === 'AbortError') throw abortedError();
    throw err;
  }
}

export const spinKind: Kind<SpinParams> = {
  name: 'spin',
  description: 'busy CPU (or with --sleep a wait) for --ms milliseconds per task (tests and benchmarks)',
  // cost = ms + 0.01
  secondsPerCost: 1e-3,

  addOptions(cmd: CommandUnknownOpts): void {
    cmd
      .option('--tasks <n>', 'number of tasks', helpDefault(P.tasks))
      .option('--ms <ms>', 'milliseconds of busy CPU per task (0 = no-op)', helpDefault(P.ms))
      .option('--skew', 'heavy-tailed durations with the same mean')
      .option('--sleep', 'tasks wait --ms instead of burning CPU (tests and benchmarks of scheduling)')
      .option('--sizes <file>', 'JSON array of per-task multipliers of --ms (overrides --tasks)')
      .option('--fail-tasks <list>', 'comma list of task numbers that throw (fault tests)')
      .option('--crash-tasks <list>', 'comma list of task numbers that kill their worker thread (fault tests)')
      .option('--hog-tasks <list>', 'comma list of task numbers that exhaust their worker heap (fault tests)')
      .option('--splittable', 'let the coordinator split long tasks into halves of their time while dispatching');
  },

  params(o): SpinParams {
    const sizes = o.sizes ? loadSizes(resolve(String(o.sizes))) : null;
    return {
      tasks: sizes ? sizes.length : readOption('--tasks', P.tasks, o.tasks),
      ms: readOption('--ms', P.ms, o.ms),
      skew: o.skew === true,
      sleep: o.sleep === true,
      sizes,
      failTasks: readOption('--fail-tasks', P.failTasks, o.failTasks),
      crashTasks: readOption('--crash-tasks', P.crashTasks, o.crashTasks),
      hogTasks: readOption('--hog-tasks', P.hogTasks, o.hogTasks),
      splittable: o.splittable === true,
    };
  },

  checkParams: paramsCheck('spin', SpinParamsSchema),

  inputs(): string[] {
    return [];
  },

  // A task's value follows from its own time and number (its ref): how many tasks there are
  // and the --sizes file do not count, so a longer list hits on the tasks it shares.
  cache: {
    version: 1,
    params: (p) => ({ ...p, tasks: undefined, sizes: undefined }),
    content: (ref) => ({ ranges: [], rest: ref }),
  },

  idRule: () => PADDED_TO_SIZE,

  input(ref) {
    const r = ref as SpinRef | null;
    return typeof r?.i === 'number' && typeof r.ms === 'number' ? { number: r.i, ms: r.ms } : null;
  },

  async expand(p: SpinParams): Promise<TaskSpec[]> {
    const list = await this.expandList!(p, { slots: 0, job: '', info: () => undefined });
    return Array.from({ length: list.length }, (_, i) => list.at(i));
  },

  async expandList(p: SpinParams): Promise<TaskList> {
    // A task follows from its number: ten million of them hold no object until dispatched.
    const n = p.sizes ? p.sizes.length : p.tasks;
    const ids = numberedIds('spin_', n);
    // Milliseconds to the microsecond (Math.round: toFixed took most of a cost's time).
    const us = (ms: number): number => Math.round(ms * 1000) / 1000;
    const same = us(p.ms);
    const msOf = p.sizes || p.skew ? (i: number): number => us(p.ms * (p.sizes ? p.sizes[i]! : skewFactor(i))) : (): number => same;
    return {
      length: n,
      at: (i) => {
        const ms = msOf(i);
        return { id: ids.id(i), cost: ms + 0.01, ref: { ms, i } satisfies SpinRef };
      },
      costAt: (i) => msOf(i) + 0.01,
      indexOf: ids.indexOf,
    };
  },

  split(task, p) {
    const r = task.ref as SpinRef;
    // Halves of at least a millisecond; the same task number, so fault options still apply.
    if (!p.splittable || !(r.ms >= 2)) return null;
    const half = (ms: number): TaskHalf => ({ cost: ms + 0.01, ref: { ms, i: r.i } satisfies SpinRef });
    const first = +(r.ms / 2).toFixed(3);
    return [half(first), half(+(r.ms - first).toFixed(3))];
  },

  async run(ref, p, ctx) {
    const r = ref as SpinRef;
    if (!r || typeof r.ms !== 'number' || typeof r.i !== 'number') throw new InputError(`spin task ${ctx.task}: malformed ref`);
    if (p.failTasks.includes(r.i)) throw new ShoalError(ErrorCode.Task, `spin task ${r.i} fails on purpose (--fail-tasks)`, { retryable: true });
    if (p.crashTasks.includes(r.i)) process.exit(70); // in a worker thread this ends the thread only
    if (p.hogTasks.includes(r.i)) {
      const hoard: number[][] = [];
      for (;;) hoard.push(new Array(1 << 20).fill(r.i));
    }
    if (r.ms > 0 && p.sleep) await sleepFor(r.ms, ctx.signal);
    else if (r.ms > 0) {
      const end = performance.now() + r.ms;
      let n = 0;
      while (performance.now() < end) {
        if ((++n & 1023) === 0 && ctx.signal.aborted) throw abortedError();
      }
    }
    return { value: { ms: r.ms } };
  },

  async summarize(rows) {
    let ok = 0;
    let error = 0;
    let busyMs = 0;
    for await (const r of rows) {
      if (r.status === 'ok') {
        ok++;
        busyMs += Number((r.value as { ms?: number } | undefined)?.ms ?? 0);
      } else error++;
    }
    return { ok, error, busyMs };
  },
};
