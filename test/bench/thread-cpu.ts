/**
 * CPU time per thread of one shoal process, for the bench (Linux only; elsewhere it does
 * nothing). Loaded with `--import` through NODE_OPTIONS when THREAD_CPU_OUT names a file:
 *
 *   - in each worker thread it records the thread's id (from /proc/thread-self);
 *   - on the main thread it samples /proc/self/task/<tid>/schedstat (ns on CPU) every 50 ms
 *     and, at exit, writes the CPU time of the main thread, of the worker threads and of every
 *     other thread (V8 and libuv helpers) over the window in which the workers ran tasks.
 */
import { appendFileSync, existsSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { isMainThread } from 'node:worker_threads';

export interface ThreadCpu {
  /** Seconds from the first to the last sample in which the workers used CPU. */
  wallS: number;
  mainMs: number;
  workersMs: number;
  otherMs: number;
  workers: number;
}

const out = process.env.THREAD_CPU_OUT;
const tidsFile = out ? `${out}.tids` : '';

function ns(tid: string): number {
  try {
    return Number(readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
  } catch {
    return 0;
  }
}

// The first process to load this owns the measurement; its children (command tasks) inherit the environment.
const root = process.env.THREAD_CPU_ROOT;
if (isMainThread && root === undefined) process.env.THREAD_CPU_ROOT = String(process.pid);

if (out && existsSync('/proc/thread-self') && (root === undefined || root === String(process.pid))) {
  if (!isMainThread) {
    appendFileSync(tidsFile, readlinkSync('/proc/thread-self').split('/').pop()! + '\n');
  } else {
    const pid = String(process.pid);
    /** Last known CPU (ns) of every thread seen, kept after it exits. */
    const last = new Map<string, number>();
    const samples: Array<{ t: number; main: number; workers: number; all: number }> = [];
    let workerTids = new Set<string>();
    /** Main-thread CPU the sampling itself took (subtracted). */
    let own = 0;
    const sample = (): void => {
      const t0 = performance.now();
      for (const tid of readdirSync('/proc/self/task')) {
        const v = ns(tid);
        if (v > 0) last.set(tid, v);
      }
      if (existsSync(tidsFile)) workerTids = new Set(readFileSync(tidsFile, 'utf8').split('\n').filter(Boolean));
      let workers = 0;
      let all = 0;
      for (const [tid, v] of last) {
        all += v;
        if (workerTids.has(tid)) workers += v;
      }
      samples.push({ t: t0, main: (last.get(pid) ?? 0) - own, workers, all: all - own });
      own += (performance.now() - t0) * 1e6;
    };
    const timer = setInterval(sample, 50);
    timer.unref();
    process.on('exit', () => {
      sample();
      // The window: from the sample before the workers' CPU first grows by > 2 ms to the last such sample.
      let a = -1;
      let b = -1;
      for (let i = 1; i < samples.length; i++) {
        if (samples[i]!.workers - samples[i - 1]!.workers > 2e6) {
          if (a < 0) a = i - 1;
          b = i;
        }
      }
      if (a < 0) return;
      const s = samples[a]!;
      const e = samples[b]!;
      const r: ThreadCpu = {
        wallS: (e.t - s.t) / 1000,
        mainMs: (e.main - s.main) / 1e6,
        workersMs: (e.workers - s.workers) / 1e6,
        otherMs: (e.all - e.main - e.workers - (s.all - s.main - s.workers)) / 1e6,
        workers: workerTids.size,
      };
      writeFileSync(out, JSON.stringify(r) + '\n');
    });
  }
}
