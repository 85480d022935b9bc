/**
 * The sink: the only writer of the outputs. It lives in the coordinator's process: agents
 * send result batches over the bus (the coordinator hands over its own error rows directly),
 * the coordinator opens and closes jobs and hears what is committed through `SinkHost`.
 *
 * A result is written only when it comes from an agent that speaks for itself (the principal
 * of the subject it came on, see protocol/subjects.ts) and that holds or held the task's
 * lease; its rows must be whole rows of that job and task within the size limit. The first
 * committed result per (job, task) wins; a task is committed, and its sender acknowledged,
 * only once the fsync that covers its rows has returned (writer.ts).
 */
import type { Bus, BusMsg } from '../bus/index.js';
import {
  decode,
  encode,
  errorReply,
  maxResultText,
  principalOfSubject,
  PROTOCOL_VERSION,
  speaksFor,
  versionMismatchMessage,
  type CommitGroup,
  type ResultGroup,
  type Subjects,
} from '../../protocol/index.js';
import { ErrorCode, ShoalError, toWireError } from '../errors.js';
import type { Logger } from '../log.js';
import { DropLog, OnceLog } from '../log.js';
import { columnsAgree, errorRow, taskText } from '../rows/index.js';
import { checkTaskRows, type RowExpectation } from './check.js';
import { JobWriter, nodeOutputFs, type OutputFs } from './writer.js';
import type { SummaryFollower } from './summary-run.js';
import { openOutput, startSummary, writeSummary } from './open.js';
import type { TaskNumbers, TaskStatusSet } from './task-set.js';

/** The sender name of rows the coordinator writes itself (tasks out of attempts); never accepted from the bus. */
export const COORDINATOR_SENDER = 'coordinator';

/** What the sink needs from the coordinator that hosts it. */
export interface SinkHost {
  /**
   * Which tasks of `job` agent `agent` may write: those whose lease it holds or held in this
   * coordinator's life (or that were adopted from it). Asked once per result group. Null while
   * the job is open here but not yet scheduled (its record is being written): the sender tries
   * again, as for a job not open yet.
   */
  writable(job: string, agent: string): ((task: string) => boolean) | null;
  /** Tasks whose rows are now durable, and those rows (`texts[i]`: group i's rows, back to back). */
  committed(groups: CommitGroup[], texts: readonly string[]): void;
  /** A job's output cannot be written (the reason), or can again (null). */
  stalled(job: string, reason: string | null): void;
  /** What task `task` of `job` was given, for the `input` of an error row the sink writes in place of refused rows (absent: none). */
  inputOf?(job: string, task: string): unknown;
}

export interface SinkOptions {
  /** Characters of rows that may wait for one job's next fsync before senders are asked to come back later. Default 64 Mi. */
  maxPendingChars: number;
  /** The files (tests inject a failing one). */
  fs: OutputFs;
  /**
   * Whose rows are parsed to check they are JSON objects of their task: 'remote' (default)
   * checks every row that came over a network; on the in-process bus the only agent is this
   * process's own, which renders rows with the same code, so only their ids, lines and size
   * are checked. 'always' checks those too.
   */
  checkRows: 'remote' | 'always';
}

export const DEFAULT_SINK_OPTIONS: SinkOptions = { maxPendingChars: 64 << 20, fs: nodeOutputFs, checkRows: 'remote' };

/** What the sink did with one batch. */
export interface WriteResult {
  written: number;
  duplicates: number;
  /** Tasks the sender holds no lease on (or of jobs already closed): dropped. */
  refused: number;
}

export interface OpenRequest {
  job: string;
  kind: string;
  params: unknown;
  /** Absolute path of the JSONL. */
  out: string;
  /** Accept a non-empty file that does not look like a shoal output. */
  force?: boolean;
  /** The job's task numbers: its committed tasks then take a byte each. */
  numbers?: TaskNumbers;
}

/** An output opened: its rows, the tasks already committed in it (and their status), the torn bytes cut. */
export interface Opened {
  rows: number;
  /** Error rows among the rows already there. */
  errorRecords: number;
  done: TaskStatusSet;
  repaired: number;
}

/** A task's rows as they will be written. */
interface TaskRows {
  /** The error row that replaces what the agent sent (null: written as sent). */
  replacement: string | null;
  rows: number;
  errorRows: number;
}

interface OpenJob {
  writer: JobWriter;
  kind: string;
  /** The summary's rows read back as they become durable (open.ts startSummary). */
  follower: SummaryFollower;
  figures: Promise<Record<string, unknown>>;
  release(): Promise<void>;
}

export class Sink {
  private readonly jobs = new Map<string, OpenJob>();
  /** Jobs closed (done or cancelled): late results are acknowledged and dropped. */
  private readonly closedJobs = new Set<string>();
  private readonly subs: Array<{ unsubscribe(): void }> = [];
  private readonly once = new OnceLog();
  private readonly drops: DropLog;
  private readonly opts: SinkOptions;
  private readonly maxText: number;
  private readonly parseRows: boolean;
  /** Counters for tests and status. */
  readonly stats = { batches: 0, written: 0, duplicates: 0, refused: 0, rejected: 0 };

  constructor(
    private readonly bus: Bus,
    private readonly subj: Subjects,
    private readonly log: Logger,
    private readonly host: SinkHost,
    opts: Partial<SinkOptions> = {},
  ) {
    this.opts = { ...DEFAULT_SINK_OPTIONS, ...opts };
    this.drops = new DropLog(log);
    this.maxText = maxResultText(bus.maxPayload);
    this.parseRows = this.opts.checkRows === 'always' || bus.kind !== 'memory';
  }

  start(): void {
    const sub = this.bus.subscribe(this.subj.resultsAll);
    this.subs.push(sub);
    void (async () => {
      // Not awaited per message: batches that arrive while one is fsync'ed join the next commit.
      for await (const m of sub) {
        try {
          this.onResults(m);
        } catch (err) {
          this.log.error({ err: (err as Error).message, stack: (err as Error).stack, subject: m.subject }, 'sink handler failed');
          if (m.reply) m.respond(encode(errorReply(ErrorCode.Internal, (err as Error).message)));
        }
      }
    })();
  }

  private onResults(m: BusMsg): void {
    const d = decode('ResultBatch', m.data);
    if (!d.ok) {
      this.stats.rejected++;
      this.drops.dropped(this.subj.resultsAll, d.reason, d.detail);
      const reply = d.reason === 'version' ? errorReply(ErrorCode.Protocol, versionMismatchMessage(d.version, 'sender')) : errorReply(ErrorCode.Input, d.detail);
      m.respond(encode(reply));
      return;
    }
    const batch = d.msg;
    this.stats.batches++;
    const principal = principalOfSubject(m.subject, this.subj.prefix);
    if (principal === null || batch.from === COORDINATOR_SENDER || !speaksFor(principal, batch.from)) {
      this.stats.rejected++;
      if (this.once.changed(`impostor:${principal}`, batch.from)) this.log.warn({ principal, agent: batch.from }, 'results that speak for another agent refused');
      m.respond(encode(errorReply(ErrorCode.Refused, `principal '${principal}' may not send results for agent '${batch.from}'`)));
      return;
    }
    this.write(batch.groups, batch.from).then(
      (r) => m.respond(encode({ kind: 'ack', v: PROTOCOL_VERSION, seq: batch.seq, ...r })),
      (err: unknown) => {
        const w = toWireError(err);
        m.respond(encode(errorReply(w.code, w.message)));
      },
    );
  }

  /**
   * Writes the tasks of `groups` that `from` may write and that have no rows yet; resolves
   * once they are durable. Rejects, writing nothing of the batch, when a job is not open yet
   * (NotFound: the sender tries again), and with E_STALLED when a commit failed.
   */
  async write(groups: readonly ResultGroup[], from: string): Promise<WriteResult> {
    // Which tasks of each open job `from` may write, asked once per job of the batch.
    const writable = new Map<string, (task: string) => boolean>();
    for (const g of groups) {
      const may = this.jobs.has(g.job) ? (writable.get(g.job) ?? this.host.writable(g.job, from)) : undefined;
      if (may === null || (may === undefined && !this.closedJobs.has(g.job))) {
        // Not opened (or scheduled) yet, a coordinator restarting: the sender keeps the batch and tries again.
        throw new ShoalError(ErrorCode.NotFound, `job ${g.job} is not open in the sink yet`, { retryable: true });
      }
      if (may) writable.set(g.job, may);
    }
    const r: WriteResult = { written: 0, duplicates: 0, refused: 0 };
    const waits: Array<Promise<void>> = [];
    for (const g of groups) {
      const job = this.jobs.get(g.job);
      if (!job) {
        r.refused += g.ids.length;
        continue;
      }
      if (!job.writer.accepting) throw job.writer.refusal();
      const whole = columnsAgree(g);
      const n = whole ? g.ids.length : Math.min(g.ids.length, g.attempts.length);
      const mayWrite = writable.get(g.job)!;
      const expect: RowExpectation = { job: g.job, agent: from };
      const kept: number[] = [];
      // Texts and statuses only where they differ from what was sent (null: none do so far).
      let replaced: Map<number, string> | null = null;
      let statusAsSent = true;
      let rows = 0;
      let errorRecords = 0;
      // The group goes as it is (its text and columns) when every task of it is written as sent: the usual case.
      let asSent = whole;
      let duplicates = 0;
      let refused = 0;
      for (let i = 0; i < n; i++) {
        const id = g.ids[i]!;
        if (!mayWrite(id)) {
          refused++;
          asSent = false;
          continue;
        }
        const t = whole ? this.checked(g, i, from, job, expect) : this.replaced(g, i, from, job, 'the columns of its result group do not agree');
        const error = t.errorRows > 0;
        if (!job.writer.claim(id, error ? 'error' : 'ok')) {
          duplicates++;
          asSent = false;
          continue;
        }
        kept.push(i);
        rows += t.rows;
        errorRecords += t.errorRows;
        if (error !== (g.status.charCodeAt(i) === 101 /* e */)) statusAsSent = false;
        if (t.replacement !== null) {
          (replaced ??= new Map()).set(i, t.replacement);
          asSent = false;
        }
      }
      if (refused > 0) {
        r.refused += refused;
        if (this.once.changed(`refused:${from}`, g.job)) this.log.warn({ agent: from, job: g.job, tasks: refused }, 'results for tasks the agent holds no lease on refused');
      }
      // A duplicate of a task still on its way is answered once that task is durable.
      if (duplicates > 0) waits.push(job.writer.settled());
      r.duplicates += duplicates;
      if (kept.length === 0) continue;
      r.written += kept.length;
      const status = asSent && statusAsSent ? g.status : kept.map((i) => (job.writer.statusOf(g.ids[i]!) === 'error' ? 'e' : 'o')).join('');
      const cg: CommitGroup = asSent
        ? { job: g.job, from, ids: g.ids, status, attempts: g.attempts, ms: g.ms, errorRecords }
        : { job: g.job, from, ids: kept.map((i) => g.ids[i]!), status, attempts: kept.map((i) => g.attempts[i]!), ms: kept.map((i) => g.ms[i] ?? 0), errorRecords };
      const text = asSent ? g.text : kept.map((i) => replaced?.get(i) ?? taskText(g, i)).join('');
      waits.push(job.writer.push(text, cg, rows));
    }
    this.stats.written += r.written;
    this.stats.duplicates += r.duplicates;
    this.stats.refused += r.refused;
    await Promise.all(waits);
    return r;
  }



  /** Task i of a well-formed group, its rows checked (replaced by an error row when they are not whole rows). */
  private checked(g: ResultGroup, i: number, from: string, job: OpenJob, expect: RowExpectation): TaskRows {
    const c = checkTaskRows(taskText(g, i), g.ids[i]!, this.maxText, expect, this.parseRows);
    if (!c.ok) return this.replaced(g, i, from, job, c.why, c.tooLarge);
    return { replacement: null, rows: c.rows, errorRows: c.errorRows };
  }

  /** An error row in place of rows the sink will not write, so the task ends instead of hanging. */
  private replaced(g: ResultGroup, i: number, from: string, job: OpenJob, why: string, tooLarge = false): TaskRows {
    if (this.once.changed(`bad-rows:${from}`, g.job)) this.log.warn({ agent: from, job: g.job, task: g.ids[i], why }, 'an agent sent rows the sink will not write; an error row takes their place');
    const now = Date.now();
    const head = { job: g.job, task: g.ids[i]!, kind: job.kind, attempt: g.attempts[i]!, agent: from, host: '', worker: null, start: now, end: now };
    const error = tooLarge ? { code: ErrorCode.TooLarge, message: `result ${why}` } : { code: ErrorCode.Internal, message: `agent ${from} sent rows the sink refused: ${why}` };
    return { replacement: errorRow(head, error, undefined, this.host.inputOf?.(g.job, g.ids[i]!)), rows: 1, errorRows: 1 };
  }

  /** Opens (creating, resuming, repairing a torn tail) a job's output. Throws a ShoalError naming the file on refusal. */
  async open(req: OpenRequest): Promise<Opened> {
    let job = this.jobs.get(req.job);
    if (job) return { rows: job.writer.rows, errorRecords: job.writer.errorRecords, done: job.writer.done(), repaired: 0 };
    const o = await openOutput(req, this.opts.fs, (lost) => this.lost(req.job, lost));
    let follower: SummaryFollower | null = null;
    const writer = new JobWriter(req.job, req.out, o.file, o.size, o.done, {
      durable: (groups, texts) => {
        follower?.advanced();
        this.host.committed(groups, texts);
      },
      stalled: (reason) => {
        if (reason) this.log.error({ job: req.job, out: req.out, reason }, 'the output cannot be written: the job is stalled; results wait with the agents and the job continues by itself when writes succeed again');
        else this.log.info({ job: req.job, out: req.out }, 'the output can be written again: the job continues');
        this.host.stalled(req.job, reason);
      },
    }, this.opts.maxPendingChars);
    writer.rows = o.rows;
    writer.errorRecords = o.errorRows;
    const summary = startSummary(req.job, req.kind, req.params, writer, this.log);
    follower = summary.follower;
    job = { writer, kind: req.kind, follower, figures: summary.figures, release: o.release };
    this.jobs.set(req.job, job);
    this.closedJobs.delete(req.job);
    if (o.repaired > 0) this.log.warn({ job: req.job, out: req.out, bytes: o.repaired }, 'repaired a torn tail of the output');
    this.log.info({ job: req.job, out: req.out, rows: writer.rows, tasks: writer.doneCount }, 'output opened');
    return { rows: writer.rows, errorRecords: writer.errorRecords, done: writer.done(), repaired: o.repaired };
  }

  /**
   * Writes rows the coordinator made itself for tasks of an open job before it is scheduled
   * (a result cache's hits: task i's rows end at `ends[i]` of `text`, `rows[i]` of them);
   * resolves once they are durable. Tasks already committed are left out.
   */
  async writeOwn(job: string, own: { ids: string[]; ends: readonly number[]; text: string; rows: readonly number[] }): Promise<void> {
    const j = this.jobs.get(job);
    if (!j) throw new ShoalError(ErrorCode.NotFound, `job ${job} is not open in the sink`);
    if (!j.writer.accepting) throw j.writer.refusal();
    const kept: number[] = [];
    let rows = 0;
    for (let i = 0; i < own.ids.length; i++) {
      if (!j.writer.claim(own.ids[i]!, 'ok')) continue;
      kept.push(i);
      rows += own.rows[i]!;
    }
    if (kept.length === 0) return;
    const all = kept.length === own.ids.length;
    const ids = all ? own.ids : kept.map((i) => own.ids[i]!);
    const group: CommitGroup = { job, from: COORDINATOR_SENDER, ids, status: 'o'.repeat(ids.length), attempts: new Array<number>(ids.length).fill(1), ms: new Array<number>(ids.length).fill(0), errorRecords: 0 };
    this.stats.written += kept.length;
    await j.writer.push(all ? own.text : kept.map((i) => taskText(own, i)).join(''), group, rows);
  }

  /** Job `job` will not be opened here (it could not be resumed): its results are refused, not kept for later. */
  forsake(job: string): void {
    if (!this.jobs.has(job)) this.closedJobs.add(job);
  }

  /** Bytes of the job's output that are durable (its committed rows end there), or null when the job is not open here. */
  durableBytes(job: string): number | null {
    return this.jobs.get(job)?.writer.durableBytes ?? null;
  }

  /** Another process took the output's lock: stop writing to it. */
  private lost(job: string, err: Error): void {
    this.log.fatal({ job, err: err.message }, 'lost the lock on the output to another owner: no more rows are written to it');
    const j = this.jobs.get(job);
    if (j) {
      this.jobs.delete(job);
      this.closedJobs.add(job);
      j.follower.stop();
      void j.writer.close();
      this.host.stalled(job, `another process took over the output ${j.writer.path}`);
    }
  }

  /** Closes a job's output (waiting for rows on their way) and writes its summary; returns the summary's path (null if it failed). */
  async close(job: string, state: string, extra?: () => Promise<Record<string, unknown>>): Promise<string | null> {
    const j = this.jobs.get(job);
    if (!j) return null;
    this.jobs.delete(job);
    this.closedJobs.add(job);
    await j.writer.close();
    j.follower.end();
    try {
      return await writeSummary(job, j.kind, state, j.writer, this.log, await j.figures, extra ? await extra() : {});
    } finally {
      await j.release();
    }
  }

  /** Closes every file and stops. Idempotent. */
  async stop(): Promise<void> {
    for (const s of this.subs.splice(0)) s.unsubscribe();
    const open = [...this.jobs.values()];
    this.jobs.clear();
    for (const j of open) {
      j.follower.stop();
      await j.writer.close();
      await j.release();
    }
  }
}
