/**
 * Stages fed by other jobs' rows (`--from JOB`). The coordinator owns both outputs, so a stage
 * is fed in this process: at admission from the rows already in the upstream's output (its
 * durable part), then from each commit of the upstream (the sink's hook), and told when the
 * upstream has ended. Rows that commit while the stage is being admitted wait in its feed.
 */
import type { CommitGroup } from '../../protocol/index.js';
import type { StageShape } from '../../src/kinds/index.js';
import type { Logger } from '../../src/log.js';
import type { Sink } from '../../src/sink/index.js';
import type { Command, LateTask, Scheduler } from '../scheduler/index.js';
import { readStageRows, StageRows } from './stage-rows.js';

/** Where an upstream job's rows are, and whether it has ended (its output closed: no more rows come). */
export interface Upstream {
  out: string;
  ended: boolean;
}

interface Feed {
  up: string;
  rows: StageRows;
  /** Admitted: rows go to the scheduler as they come. Before, they wait here. */
  admitted: boolean;
  upEnded: boolean;
}

export interface StagesDeps {
  scheduler: Scheduler;
  sink: Sink;
  log: Logger;
  /** The most one task may carry encoded (its upstream value); a row with more gives an E_TOO_LARGE row. */
  maxTaskBytes: number;
  run(cmds: Command[]): void;
}

export class Stages {
  /** Upstream job → its stages' feeds, by stage name. */
  private readonly byUpstream = new Map<string, Map<string, Feed>>();
  /** Jobs that ended in this coordinator's life (until submitted again). */
  private readonly endedJobs = new Set<string>();

  constructor(private readonly d: StagesDeps) {}

  /**
   * Starts feeding stage `job` from `up`: listens to its commits (they wait until `admitted`),
   * then reads what its output holds. Returns the tasks of the rows committed so far.
   */
  async begin(job: string, shape: StageShape, up: Upstream): Promise<LateTask[]> {
    const feed: Feed = { up: shape.from, rows: new StageRows(shape.from, shape, this.d.maxTaskBytes, (id, instead) => this.clash(job, id, instead)), admitted: false, upEnded: up.ended || this.endedJobs.has(shape.from) };
    let feeds = this.byUpstream.get(shape.from);
    if (!feeds) this.byUpstream.set(shape.from, (feeds = new Map()));
    feeds.set(job, feed);
    try {
      // Listening first: a row committed from now on arrives by the hook; the durable bytes
      // read now hold every row committed before (ids seen twice are taken once).
      await readStageRows(up.out, this.d.sink.durableBytes(shape.from), feed.rows);
    } catch (err) {
      this.drop(job, shape.from);
      throw err;
    }
    return feed.rows.drain();
  }

  /** Stage `job` is in the scheduler: rows that came meanwhile go to it, and the upstream's end if it came. */
  admitted(job: string, up: string, first: readonly LateTask[]): void {
    const feed = this.byUpstream.get(up)?.get(job);
    if (!feed) return;
    feed.admitted = true;
    this.d.run(this.d.scheduler.onGrow(job, [...first, ...feed.rows.drain()], feed.upEnded, Date.now()));
    if (feed.upEnded) this.drop(job, up);
  }

  /** Stage `job` will not run (its admission failed). */
  abandon(job: string, up: string): void {
    this.drop(job, up);
  }

  /** Rows the sink made durable: stages of their jobs get their tasks. */
  committed(groups: readonly CommitGroup[], texts: readonly string[]): void {
    for (let i = 0; i < groups.length; i++) {
      const feeds = this.byUpstream.get(groups[i]!.job);
      if (!feeds) continue;
      for (const [job, feed] of feeds) {
        feed.rows.text(texts[i]!);
        if (feed.admitted) this.d.run(this.d.scheduler.onGrow(job, feed.rows.drain(), false, Date.now()));
      }
    }
  }

  /** Job `up` has ended and its output is closed: its stages get no more tasks. */
  ended(up: string): void {
    this.endedJobs.add(up);
    const feeds = this.byUpstream.get(up);
    if (!feeds) return;
    for (const [job, feed] of [...feeds]) {
      feed.upEnded = true;
      if (!feed.admitted) continue;
      this.d.run(this.d.scheduler.onGrow(job, feed.rows.drain(), true, Date.now()));
      this.drop(job, up);
    }
  }

  /** Job `up` runs again (submitted again): its stages admitted from now on wait for its new end. */
  reopened(up: string): void {
    this.endedJobs.delete(up);
  }

  private clash(job: string, id: string, instead: string): void {
    this.d.log.warn({ job, id, instead }, 'two rows of the upstream job give the same task id: the later one gets another');
  }

  private drop(job: string, up: string): void {
    const feeds = this.byUpstream.get(up);
    feeds?.delete(job);
    if (feeds?.size === 0) this.byUpstream.delete(up);
  }
}
