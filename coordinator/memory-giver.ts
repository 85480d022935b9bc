/**
 * Gives memory back to the system soon after the coordinator lets go of much of it (a job
 * ended, lost agents forgotten). V8 shrinks its heap (the young generation above all, which a
 * burst of messages grows to tens of MB) only in a collection that runs while the process
 * allocates little; an idle coordinator collects rarely, so the memory of a finished job of
 * millions of tasks or of a flood of messages stayed with it for one to two minutes. Here, a few
 * seconds after such a release (once V8's measure of the allocation rate has seen the quiet), a
 * full collection runs while the process holds clearly more than it did when it started, and
 * again while that pays; after one that gave back little (the memory is in use: a big job still
 * runs), none for a minute, so a stream of small jobs ending beside a big one does not pause the
 * coordinator for a full collection each time.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Logger } from '../src/log.js';

export interface MemoryGiverOptions {
  /** Collect only while the resident set is over this many times what it was at the start... */
  growth: number;
  /** ... and at least this many bytes over it. */
  minBytes: number;
  /** Wait this long after a release, and between collections (V8 judges its allocation rate over the last 5 s). */
  delayMs: number;
  /** Collections after one release at most. */
  maxTries: number;
  /** After a collection that gave back little (the memory is in use: a big job runs), none for this long. */
  restMs: number;
}

const DEFAULTS: MemoryGiverOptions = { growth: 1.15, minBytes: 8 << 20, delayMs: 6000, maxTries: 3, restMs: 60_000 };

/** Whether to collect now: over the start's footprint, tries left, and the last collection gave something back. */
export function shouldCollect(rss: number, start: number, tries: number, lastGain: number | null, o: MemoryGiverOptions): boolean {
  if (tries >= o.maxTries) return false;
  if (rss < start * o.growth || rss - start < o.minBytes) return false;
  // A collection that gave back under 1% says the memory is in use: the next would not help.
  return lastGain === null || lastGain >= 0.01;
}

/** A full, synchronous collection (the function `--expose-gc` gives), made once per process. */
let fullGc: (() => void) | null = null;
function collector(): () => void {
  if (!fullGc) {
    setFlagsFromString('--expose-gc');
    fullGc = runInNewContext('gc') as () => void;
  }
  return fullGc;
}

export class MemoryGiver {
  private readonly opts: MemoryGiverOptions;
  private readonly start = process.memoryUsage.rss();
  private timer: NodeJS.Timeout | null = null;
  private tries = 0;
  private lastGain: number | null = null;
  /** No collection before this time (epoch ms): the last one gave back little. */
  private restUntil = 0;

  constructor(
    private readonly log: Logger,
    opts: Partial<MemoryGiverOptions> = {},
  ) {
    this.opts = { ...DEFAULTS, ...opts };
  }

  /** Much was let go (`why`): collect once the process has been quiet a while, if it holds much more than at its start. */
  released(why: string): void {
    if (Date.now() < this.restUntil) return;
    this.tries = 0;
    this.lastGain = null;
    if (this.timer) clearTimeout(this.timer);
    this.schedule(why);
  }

  private schedule(why: string): void {
    this.timer = setTimeout(() => {
      this.timer = null;
      const before = process.memoryUsage.rss();
      if (!shouldCollect(before, this.start, this.tries, this.lastGain, this.opts)) return;
      const t0 = performance.now();
      collector()();
      this.tries++;
      // Freed pages go back to the system from V8's helper threads, moments after the collection.
      this.timer = setTimeout(() => {
        this.timer = null;
        const after = process.memoryUsage.rss();
        this.lastGain = (before - after) / before;
        if (this.lastGain < 0.01) this.restUntil = Date.now() + this.opts.restMs;
        this.log.debug({ why, rssBefore: before, rssAfter: after, rssAtStart: this.start, ms: +(performance.now() - t0).toFixed(1) }, 'memory given back');
        this.schedule(why);
      }, 500);
      this.timer.unref();
    }, this.opts.delayMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
