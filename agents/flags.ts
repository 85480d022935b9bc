/**
 * The layout of a bundle's shared flags, in one place for both sides: the agent (its core and
 * its pool) and the worker thread running the bundle. They share one Int32Array on a
 * SharedArrayBuffer and read and write it with Atomics, because a worker's event loop is busy
 * while a task computes and would not see a message in time.
 *
 * For a bundle of n tasks the array has n + 2 cells:
 *   cell i (i < n)  the task's mark: LIVE, ABORTED or HANDED_BACK. Either mark means: skip the
 *                   task, or make its signal fire if it runs, and return no result for it.
 *   cell n          the index of the task running now; NONE_BEGUN before the first one,
 *                   n once the bundle has ended (a thread death after that is not its doing).
 *   cell n + 1      1 = the whole bundle is aborted.
 */

/** A task's mark in its cell. */
export const TaskMark = {
  /** Run it (or it is running). */
  Live: 0,
  /** Aborted (a cancel named it). */
  Aborted: 1,
  /** Handed back to the coordinator by a drain before it began: already reported. */
  HandedBack: 2,
} as const;

/** Cell n before any task of the bundle began. */
export const NONE_BEGUN = -1;

/** The tasks of a bundle whose flags these are. */
export function taskCount(flags: Int32Array): number {
  return flags.length - 2;
}

/** New flags for a bundle of `tasks` tasks: every task live, none begun, not aborted. */
export function newFlags(tasks: number): Int32Array {
  const flags = new Int32Array(new SharedArrayBuffer(4 * (tasks + 2)));
  flags[tasks] = NONE_BEGUN;
  return flags;
}

/** Whether task `i` carries a mark (aborted or handed back): it must not report a result. */
export function isMarked(flags: Int32Array, i: number): boolean {
  return Atomics.load(flags, i) !== TaskMark.Live;
}

/** Marks task `i` aborted. */
export function abortTask(flags: Int32Array, i: number): void {
  Atomics.store(flags, i, TaskMark.Aborted);
}

/**
 * Marks task `i` handed back if it is still live; false when it carries a mark already. The
 * worker checks the mark before it begins a task, so a task that wins this is never run.
 */
export function handBackTask(flags: Int32Array, i: number): boolean {
  return Atomics.compareExchange(flags, i, TaskMark.Live, TaskMark.HandedBack) === TaskMark.Live;
}

/** The index of the task running now: NONE_BEGUN, a task, or taskCount once the bundle ended. */
export function runningIndex(flags: Int32Array): number {
  return Atomics.load(flags, taskCount(flags));
}

/** Records that task `i` is running now (the worker, as it begins it). */
export function setRunning(flags: Int32Array, i: number): void {
  Atomics.store(flags, taskCount(flags), i);
}

/** Records that no task has begun yet (the pool, as it hands the bundle to a thread). */
export function setNoneBegun(flags: Int32Array): void {
  Atomics.store(flags, taskCount(flags), NONE_BEGUN);
}

/** Records that the bundle has ended (the worker, after its last task). */
export function setEnded(flags: Int32Array): void {
  Atomics.store(flags, taskCount(flags), taskCount(flags));
}

/** Marks the whole bundle aborted. */
export function abortBundle(flags: Int32Array): void {
  Atomics.store(flags, taskCount(flags) + 1, 1);
}

/** Whether the whole bundle is aborted. */
export function bundleAborted(flags: Int32Array): boolean {
  return Atomics.load(flags, taskCount(flags) + 1) !== 0;
}
