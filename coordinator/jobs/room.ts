/**
 * Room for a job's tasks in the coordinator. A waiting task costs a byte of the scheduler's and
 * a byte of the sink's; ordering tasks of unequal cost takes 16 more each while it runs (two
 * keys and two orders of 4 bytes: cost-order.ts) and 4 after. A job that would not fit is refused before anything is
 * allocated for it, with a message that says what it needs, instead of the coordinator running
 * out of memory with every job in it.
 */
import { freemem } from 'node:os';
import { InputError } from '../../src/errors.js';

/** Bytes per task while a job is admitted: the sort's 16 and the two bytes made before they are collected. */
export const BYTES_PER_TASK = 18;
/** Task numbers are 32-bit. */
export const MAX_JOB_TASKS = 2 ** 32 - 1;

const gb = (b: number): string => `${(b / 2 ** 30).toFixed(b < 2 ** 30 ? 3 : 1)} GB`;

/** Memory the coordinator may give a new job: what the machine (or its cgroup) has free. */
export function freeForJobs(): number {
  const limit = process.constrainedMemory?.() ?? 0;
  const free = freemem();
  return limit > 0 ? Math.min(free, Math.max(0, limit - process.memoryUsage.rss())) : free;
}

/** Throws (naming the job, its size and what it needs) when `tasks` tasks do not fit in `room` bytes. */
export function checkRoom(job: string, tasks: number, room: number = freeForJobs()): void {
  if (tasks > MAX_JOB_TASKS) {
    throw new InputError(`job '${job}' has ${tasks.toLocaleString('en-US')} tasks; one job holds at most ${MAX_JOB_TASKS.toLocaleString('en-US')}: submit it in parts`);
  }
  const need = tasks * BYTES_PER_TASK;
  if (need > room) {
    throw new InputError(
      `job '${job}' has ${tasks.toLocaleString('en-US')} tasks and needs about ${gb(need)} in the coordinator while it is admitted (${BYTES_PER_TASK} bytes a task); ` +
        `${gb(room)} is free for it (see the coordinator's --job-memory): submit it in parts, or give the coordinator more memory`,
    );
  }
}

/** Runs steps to the end, letting the event loop turn between them (agents stay heard). */
export async function inSteps<T>(steps: Generator<void, T>): Promise<T> {
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}
