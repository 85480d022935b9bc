/**
 * A job's rows read back while the job runs, for its summary: the kind's `summarize` starts when
 * the output opens and is given the rows of the file as they become durable, a step (1 MiB) at
 * a time, so when the job ends only what is left is read, not the whole output (a
 * 10,000,000-row job's summary read its 1.9 GB back for 18 s after the job). Steps are read
 * (for 25 ms at a time) only while the event loop is mostly idle (under half busy over the
 * last 100 ms): where the coordinator is saturated (no-op tasks by the hundred thousand) the
 * reading does not slow the job (a busy look is said to `busy`: summary-run.ts then folds the
 * rows in a thread of its own, whose follower does not wait for a quiet loop), where it is not
 * (tasks that take time) the end finds it done. The rows are read from the file, never kept from
 * the commits: memory stays one step however far the summary falls behind, and the rows counted
 * are those durable in the file, as before.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { setImmediate } from 'node:timers/promises';
import { parseLines, rowsOfBatches } from './lines.js';

/** Durable bytes gathered before they are read (all that is left is read at the end). */
const STEP = 1 << 20;
/** How long the event loop's use is measured over before a step is read (ms). */
const LOOK_MS = 100;
/** A step is read while the event loop was busy less than this share of the last LOOK_MS. */
const BUSY = 0.5;
/** Steps are read for this long (ms) after a quiet LOOK_MS before the loop is measured again. */
const READ_MS = 25;

type Keep = (r: Record<string, unknown>) => boolean;

export interface FollowOptions {
  /** Whether steps wait for a mostly idle event loop (false in a thread of its own: summary-thread.ts). */
  yieldToLoop?: boolean;
  /** Called each time a step waits because the loop was busy over the last LOOK_MS. */
  busy?: () => void;
}

export class RowFollower {
  /** Bytes of the file read (and given) so far: always the end of a line. */
  private read = 0;
  private ended = false;
  private stopped = false;
  /** Resolves a wait for bytes (a step durable) or for the end. */
  private wake: (() => void) | null = null;
  /** Whether the wait is only for the end (while the event loop is measured). */
  private forEndOnly = false;
  /** Steps may be read without measuring the loop again until then (performance.now()). */
  private readUntil = 0;

  constructor(
    private readonly path: string,
    /** Bytes of the file durable now (the end of a commit). */
    private readonly durable: () => number,
    private readonly keep: Keep,
    /** Lines that are not JSON are counted here. */
    private readonly stats?: { bad: number },
    private readonly o: FollowOptions = {},
  ) {}

  /** Bytes durable and not read yet. */
  get unread(): number {
    return this.durable() - this.read;
  }

  /** More of the file is durable. */
  advanced(): void {
    if (this.wake !== null && (this.ended || this.stopped || (!this.forEndOnly && this.durable() - this.read >= STEP))) {
      const w = this.wake;
      this.wake = null;
      w();
    }
  }

  /** Nothing more will be written: the rest is read, then the rows end. */
  end(): void {
    this.ended = true;
    this.advanced();
  }

  /** The summary is not wanted (the sink stops, the output was lost): the rows end now. */
  stop(): void {
    this.stopped = true;
    this.advanced();
  }

  /** The rows, a batch at a time; the event loop is let in between batches. */
  async *batches(): AsyncGenerator<Record<string, unknown>[]> {
    let fh: FileHandle | null = null;
    try {
      for (;;) {
        if (this.stopped) return;
        const left = this.durable() - this.read;
        if (left >= STEP || (this.ended && left > 0)) {
          if (this.o.yieldToLoop !== false && !this.ended && performance.now() >= this.readUntil) {
            if (!(await this.quiet())) {
              if (!this.ended && !this.stopped) this.o.busy?.();
              continue;
            }
            this.readUntil = performance.now() + READ_MS;
          }
          fh ??= await open(this.path, 'r');
          yield parseLines(await this.nextLines(fh, left), this.stats, this.keep);
          await setImmediate();
          continue;
        }
        if (this.ended) return;
        await new Promise<void>((r) => (this.wake = r));
      }
    } finally {
      await fh?.close();
    }
  }

  /** Waits LOOK_MS (less if the job ends); true when the event loop was mostly idle meanwhile. */
  private async quiet(): Promise<boolean> {
    const before = performance.eventLoopUtilization();
    await new Promise<void>((r) => {
      const t = setTimeout(() => {
        this.wake = null;
        r();
      }, LOOK_MS);
      t.unref(); // a job left open never holds the process
      this.forEndOnly = true;
      this.wake = () => {
        clearTimeout(t);
        r();
      };
    });
    this.forEndOnly = false;
    return performance.eventLoopUtilization(before).utilization < BUSY;
  }

  /** The next whole lines (a step or more: a line longer than that whole), or all that is left. */
  private async nextLines(fh: FileHandle, left: number): Promise<string> {
    for (let want = Math.min(left, STEP); ; want = Math.min(left, want * 2)) {
      const buf = Buffer.allocUnsafe(want);
      let got = 0;
      while (got < want) {
        const { bytesRead } = await fh.read(buf, got, want - got, this.read + got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      const last = buf.lastIndexOf(10, got - 1);
      // Up to the last newline; everything left where it has none (a last line without one,
      // or a file cut short under us, which the sink never does).
      const whole = want === left || got < want;
      if (last < 0 && !whole) continue;
      const take = last >= 0 ? last + 1 : got;
      this.read += whole && last < 0 ? left : take;
      return buf.toString('utf8', 0, take);
    }
  }

  /** The rows one at a time (a kind's `summarize` takes them so). */
  rows(): AsyncIterable<Record<string, unknown>> {
    return rowsOfBatches(() => this.batches());
  }
}
