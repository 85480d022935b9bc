/**
 * Which worker thread of the pool a bundle goes to. A bundle holding GPUs goes to the idle
 * thread that last ran a bundle with the same GPUs when there is one: a kind may keep a process
 * per thread that sees its GPUs (the python kind's interpreter, with the user's model loaded),
 * and a bundle with other GPUs on that thread would restart it. Otherwise a bundle goes to an
 * idle thread that holds no GPUs, or to a new thread while the pool may still start one (never
 * second in line on a busy thread, nor onto another bundle's GPU thread, before every thread
 * has started); with every thread started, to any idle thread, else to the least busy one with
 * room for its next bundle, where the bundle it was last given is short (its job's bundles run
 * within SHORT_BUNDLE_MS on average: pool.ts measures them) and was given it less than
 * SHORT_BUNDLE_MS ago. Behind a bundle that may run for minutes (a straggler, a python task
 * waiting on something), a bundle would wait for all of it while other threads go idle: it
 * waits in the pool's queue for the first thread to free instead. No I/O: pool.ts asks it from
 * piscina's load balancer.
 */

/** What the chooser needs to know of a thread (piscina's view of a worker fits it). */
export interface ThreadView {
  readonly id: number;
  readonly currentUsage: number;
  readonly isRunningAbortableTask: boolean;
}

export class ThreadChoice {
  /** For each thread that ran a bundle with GPUs, those GPUs (as `gpuKey` writes them). */
  private readonly gpusOf = new Map<number, string>();
  /** For each thread given a short bundle last, when (`now()`): another may wait behind it a while. */
  private readonly shortSince = new Map<number, number>();

  /**
   * @param depth bundles one thread holds at once (its running one and its next)
   * @param now the clock (ms; tests move it)
   */
  constructor(
    private readonly depth: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /**
   * The thread for a bundle holding the GPUs `gpus` (null: none), or null to have the pool
   * start a new thread (only when `canGrow`) or keep the bundle queued until a thread frees.
   * `short`: the bundle is short (another may wait behind it).
   */
  choose<T extends ThreadView>(gpus: string | null, threads: Iterable<T>, canGrow: boolean, short = false): T | null {
    let fresh: T | null = null;
    let idle: T | null = null;
    let least: T | null = null;
    const heldSince = this.now() - SHORT_BUNDLE_MS;
    for (const t of threads) {
      if (t.currentUsage === 0) {
        const held = this.gpusOf.get(t.id);
        if (gpus !== null && held === gpus) return this.took(t, gpus, short);
        if (held === undefined) fresh ??= t;
        else idle ??= t;
      } else if (!t.isRunningAbortableTask && t.currentUsage < this.depth && (this.shortSince.get(t.id) ?? -Infinity) >= heldSince && (least === null || t.currentUsage < least.currentUsage)) least = t;
    }
    // A new thread rather than one whose GPUs another bundle may want next.
    const pick = fresh ?? (canGrow ? null : (idle ?? least));
    return pick && this.took(pick, gpus, short);
  }

  /** A thread has ended (recycled, killed or died): what it held went with it. */
  forget(id: number): void {
    this.gpusOf.delete(id);
    this.shortSince.delete(id);
  }

  private took<T extends ThreadView>(t: T, gpus: string | null, short: boolean): T {
    if (short) this.shortSince.set(t.id, this.now());
    else this.shortSince.delete(t.id);
    // A bundle without GPUs replaces whatever process saw the thread's GPUs (a kind keeps one
    // per thread), so after it the thread holds none.
    if (gpus !== null) this.gpusOf.set(t.id, gpus);
    else this.gpusOf.delete(t.id);
    return t;
  }
}

/** The key of a bundle's GPUs for `ThreadChoice` (null: it holds none). */
export function gpuKey(gpus: readonly number[] | undefined): string | null {
  return gpus && gpus.length > 0 ? gpus.join(',') : null;
}

/** A job's bundles are short while they run within this on average (ms of their tasks). */
export const SHORT_BUNDLE_MS = 100;
/** Jobs whose bundle times are kept (the oldest forgotten past it). */
const JOBS_KEPT = 1024;

/**
 * Each job's bundles so far, from their tasks' times: a job is short while its bundles ran
 * within SHORT_BUNDLE_MS on average, and unknown (not short) until one ended. A bundle far
 * longer than its job's others (a straggler) is caught by how long ago it was given instead.
 */
export class BundleTimes {
  private readonly jobs = new Map<string, { bundles: number; ms: number }>();

  short(job: string): boolean {
    const j = this.jobs.get(job);
    return j !== undefined && j.ms <= SHORT_BUNDLE_MS * j.bundles;
  }

  ran(job: string, taskMs: readonly number[]): void {
    let ms = 0;
    for (const m of taskMs) ms += m;
    const j = this.jobs.get(job);
    if (j) {
      j.bundles++;
      j.ms += ms;
      return;
    }
    this.jobs.set(job, { bundles: 1, ms });
    if (this.jobs.size > JOBS_KEPT) this.jobs.delete(this.jobs.keys().next().value!);
  }
}
