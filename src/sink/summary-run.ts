/**
 * A job's summary while it runs (open.ts startSummary): the kind's `summarize` over the rows as
 * they become durable, read in the coordinator's thread while its event loop has room
 * (follow.ts). Where the loop is found too busy for that (no-op tasks by the hundred thousand:
 * busy over a look of 100 ms while a step of rows waits), the fold starts over from the first row
 * in a thread of its own (summary-thread.ts), on a core the job leaves idle, and the thread's
 * figures are the summary: the job's end no longer waits for its whole output to be read back.
 * A job whose loop has room, or whose output never fills a step, starts no thread. A thread that
 * cannot start, or ends without figures, is said in the log and the rows are folded in the
 * coordinator's thread again, from the first.
 */
import { Worker } from 'node:worker_threads';
import type { Logger } from '../log.js';
import { getKind, type Row } from '../kinds/index.js';
import { RowFollower } from './follow.js';
import type { FromSummaryThread, SummaryThreadData, ToSummaryThread } from './summary-thread.js';

/** What the sink tells a job's summary. */
export interface SummaryFollower {
  /** More of the output is durable. */
  advanced(): void;
  /** Nothing more will be written: the rest is read, then the figures are made. */
  end(): void;
  /** The summary is not wanted: the rows end now. */
  stop(): void;
}

export interface SummaryRunOptions {
  job: string;
  kindName: string;
  params: unknown;
  path: string;
  /** Bytes of the output durable now. */
  durable: () => number;
  log: Logger;
  /** Where the thread's code is (tests give one that cannot start). */
  threadUrl?: URL;
}

type Figures = Record<string, unknown>;

export class SummaryRun implements SummaryFollower {
  readonly figures: Promise<Figures>;
  /** Whether the fold moved to a thread of its own (tests and the log). */
  threaded = false;
  private settle: (f: Figures) => void = () => undefined;
  private settled = false;
  private local: RowFollower | null = null;
  private thread: Worker | null = null;
  private ended = false;
  private stopped = false;

  constructor(private readonly o: SummaryRunOptions) {
    this.figures = new Promise((r) => (this.settle = r));
    if (!getKind(o.kindName)) this.done({});
    else this.foldHere();
  }

  advanced(): void {
    if (this.thread) {
      this.tell({ durable: this.o.durable() });
      return;
    }
    this.local?.advanced();
  }

  end(): void {
    this.ended = true;
    if (this.thread) this.tell({ end: true });
    else this.local?.end();
  }

  stop(): void {
    this.stopped = true;
    if (this.thread) this.tell({ stop: true });
    else this.local?.stop();
  }

  /** Folds the rows from the first in this thread (its reads wait for a quiet loop until the end). */
  private foldHere(): void {
    const kind = getKind(this.o.kindName)!;
    const follower = new RowFollower(this.o.path, this.o.durable, (r) => r.job === this.o.job, undefined, {
      // A second fold here (the thread failed) stays here.
      busy: () => void (!this.threaded && this.local === follower && this.handOff()),
    });
    this.local = follower;
    if (this.ended) follower.end();
    if (this.stopped) follower.stop();
    Promise.resolve()
      .then(() => kind.summarize(follower.rows() as AsyncIterable<Row>, kind.checkParams(this.o.params)))
      .then(
        (f) => this.local === follower && this.done(f),
        (err: unknown) => this.local === follower && this.failed(err),
      );
  }

  /** The fold starts over in a thread of its own; this thread's rows end (its figures are not used). */
  private handOff(): void {
    this.threaded = true;
    const local = this.local!;
    this.local = null;
    local.stop();
    const data: SummaryThreadData = { path: this.o.path, job: this.o.job, kindName: this.o.kindName, params: this.o.params, durable: this.o.durable() };
    let w: Worker;
    try {
      w = new Worker(this.o.threadUrl ?? new URL('./summary-thread.js', import.meta.url), { workerData: data });
    } catch (err) {
      this.threadLost((err as Error).message);
      return;
    }
    this.thread = w;
    this.o.log.debug({ job: this.o.job, unread: local.unread }, 'the summary is folded in a thread of its own: the coordinator\'s is too busy to read the rows as they come');
    if (this.ended) this.tell({ end: true });
    if (this.stopped) this.tell({ stop: true });
    w.on('message', (m: FromSummaryThread) => {
      this.thread = null;
      void w.terminate();
      if ('figures' in m) this.done(m.figures);
      else this.failed(new Error(m.error));
    });
    w.on('error', (err) => this.threadLost(err.message));
    w.on('exit', (code) => this.threadLost(`it exited with code ${code} before its figures`));
  }

  /** The thread is gone without figures: folded here again, from the first row. */
  private threadLost(why: string): void {
    if (this.settled || this.local !== null) return;
    this.thread = null;
    this.o.log.warn({ job: this.o.job, why }, 'the summary\'s thread failed: its rows are read again in the coordinator\'s thread');
    this.foldHere();
  }

  private tell(m: ToSummaryThread): void {
    this.thread?.postMessage(m);
  }

  private failed(err: unknown): void {
    this.o.log.error({ job: this.o.job, err }, 'summary failed');
    this.done({ summaryError: (err as Error).message });
  }

  private done(f: Figures): void {
    if (this.settled) return;
    this.settled = true;
    this.settle(f);
  }
}
