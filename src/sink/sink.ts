/**
 * The sink: the only writer of the output. Agents (and the coordinator, for its error rows)
 * send result batches; the sink keeps the first result per (job, task), appends its
 * pre-rendered rows, acks the sender and tells the coordinator what is committed.
 */
import { writeFileSync, renameSync } from 'node:fs';
import type { Bus, BusMsg } from '../bus/index.js';
import {
  decode,
  encode,
  errorReply,
  PROTOCOL_VERSION,
  versionMismatchMessage,
  type CommitGroup,
  type ResultGroup,
  type SinkCtl,
  type Subjects,
  type OkReply,
} from '../../protocol/index.js';
import { ErrorCode } from '../errors.js';
import type { Logger } from '../log.js';
import { DropLog, OnceLog } from '../log.js';
import { Outbox } from '../outbox.js';
import { getKind } from '../kinds/index.js';
import type { Row } from '../kinds/types.js';
import { JobWriter } from './writer.js';
import { readRows } from './journal.js';
import { errorRow } from './rows.js';
import { GroupBuilder, groupIsWellFormed, taskText } from './groups.js';
import { summaryPathFor } from './paths.js';

export interface SinkOptions {
  /** fsync at least this often while rows arrive (ms). Default 1000. */
  fsyncMs: number;
  /** Timeout of one commit notice to the coordinator (ms). Default 10,000. */
  notifyTimeoutMs: number;
}

export const DEFAULT_SINK_OPTIONS: SinkOptions = { fsyncMs: 1000, notifyTimeoutMs: 10_000 };

interface OpenJob {
  writer: JobWriter;
  kind: string;
  params: unknown;
}

export class Sink {
  private readonly jobs = new Map<string, OpenJob>();
  /** Jobs closed (done or cancelled): late results are acknowledged and dropped. */
  private readonly closedJobs = new Set<string>();
  private readonly notices: Outbox<CommitGroup>;
  private readonly subs: Array<{ unsubscribe(): void }> = [];
  private readonly once = new OnceLog();
  private readonly drops: DropLog;
  private noticeSeq = 0;
  private readonly opts: SinkOptions;
  /** Counters for tests and status. */
  readonly stats = { batches: 0, written: 0, duplicates: 0, dropped: 0, rejected: 0 };

  constructor(
    private readonly bus: Bus,
    private readonly subj: Subjects,
    private readonly log: Logger,
    opts: Partial<SinkOptions> = {},
  ) {
    this.opts = { ...DEFAULT_SINK_OPTIONS, ...opts };
    this.drops = new DropLog(log);
    this.notices = new Outbox({
      send: (batch) => this.notify(batch),
      sizeOf: (g) => 64 + g.ids.length * 48,
      maxBatchBytes: Math.min(512 * 1024, Math.floor(bus.maxPayload / 2)),
      maxBatchItems: 256,
      highWater: 1 << 16,
      onState: (s, err) =>
        s === 'failing'
          ? this.log.warn({ err: (err as Error)?.message }, 'commit notices to the coordinator are failing; retrying')
          : this.log.info('commit notices flow again'),
    });
  }

  start(): void {
    this.loop(this.subj.results, (m) => this.onResults(m));
    this.loop(this.subj.sinkCtl, (m) => this.onCtl(m));
    // Notices sent before an outage may never be answered: send them again at once.
    this.bus.onStatus((s) => {
      if (s.type === 'reconnected') this.notices.resend();
    });
  }

  private loop(subject: string, handle: (m: BusMsg) => Promise<void> | void): void {
    const sub = this.bus.subscribe(subject);
    this.subs.push(sub);
    void (async () => {
      for await (const m of sub) {
        try {
          await handle(m);
        } catch (err) {
          this.log.error({ err, subject }, 'sink handler failed');
        }
      }
    })();
  }

  private reject(m: BusMsg, subject: string, reason: string, detail: string, version?: unknown): void {
    this.stats.rejected++;
    this.drops.dropped(subject, reason, detail);
    if (reason === 'version') m.respond(encode(errorReply(ErrorCode.Protocol, versionMismatchMessage(version, 'sender'))));
  }

  private async onResults(m: BusMsg): Promise<void> {
    const d = decode('ResultBatch', m.data);
    if (!d.ok) return this.reject(m, this.subj.results, d.reason, d.detail, d.version);
    const batch = d.msg;
    this.stats.batches++;
    for (const g of batch.groups) {
      if (!this.jobs.has(g.job) && !this.closedJobs.has(g.job)) {
        // Not opened yet (coordinator restarting): the sender keeps the batch and tries again.
        m.respond(encode(errorReply(ErrorCode.NotFound, `job ${g.job} is not open in the sink yet`)));
        return;
      }
    }
    let written = 0;
    let duplicates = 0;
    for (const raw of batch.groups) {
      const job = this.jobs.get(raw.job);
      if (!job) {
        this.stats.dropped += raw.ids.length;
        continue;
      }
      const g = groupIsWellFormed(raw) ? raw : this.malformed(raw, batch.from, job.kind);
      const done = job.writer.done;
      const fresh: number[] = [];
      const dups: number[] = [];
      for (let i = 0; i < g.ids.length; i++) {
        const id = g.ids[i]!;
        if (done.has(id)) dups.push(i);
        else {
          const ok = g.status.charCodeAt(i) === 111; /* o */
          done.set(id, ok ? 'ok' : 'error');
          ok ? job.writer.okTasks++ : job.writer.errorTasks++;
          fresh.push(i);
        }
      }
      if (fresh.length > 0) {
        const text = dups.length === 0 ? g.text : fresh.map((i) => taskText(g, i)).join('');
        job.writer.append(text, countLines(text));
        this.notices.push(commitGroup(g, batch.from, fresh, null));
      }
      if (dups.length > 0) {
        // Re-announce: the first notice may have been lost.
        this.notices.push(commitGroup(g, batch.from, dups, done));
      }
      written += fresh.length;
      duplicates += dups.length;
    }
    this.stats.written += written;
    this.stats.duplicates += duplicates;
    m.respond(encode({ kind: 'ack', v: PROTOCOL_VERSION, seq: batch.seq, written, duplicates }));
  }

  /** Replaces a malformed group's rows with error rows, so its tasks end instead of hanging. */
  private malformed(g: ResultGroup, from: string, kind: string): ResultGroup {
    if (this.once.changed(`malformed:${from}`, 'yes')) this.log.warn({ agent: from, job: g.job }, 'an agent sent malformed rows; recording error rows instead');
    const b = new GroupBuilder(g.job);
    const now = Date.now();
    const n = Math.min(g.ids.length, g.attempts.length);
    for (let i = 0; i < n; i++) {
      const head = { job: g.job, task: g.ids[i]!, kind, attempt: g.attempts[i]!, agent: from, host: '', worker: null, start: now, end: now };
      b.add(g.ids[i]!, g.attempts[i]!, false, 0, errorRow(head, { code: ErrorCode.Internal, message: `agent ${from} sent malformed rows for this task` }));
    }
    return b.build();
  }

  private async onCtl(m: BusMsg): Promise<void> {
    const d = decode('SinkCtl', m.data);
    if (!d.ok) return this.reject(m, this.subj.sinkCtl, d.reason, d.detail, d.version);
    const c: SinkCtl = d.msg;
    switch (c.kind) {
      case 'open': {
        let job = this.jobs.get(c.job);
        let repaired = 0;
        if (!job) {
          try {
            const o = await JobWriter.open(c.job, c.out, this.opts.fsyncMs);
            job = { writer: o.writer, kind: c.jobKind, params: c.params };
            repaired = o.repairedBytes;
          } catch (err) {
            m.respond(encode(errorReply(ErrorCode.Input, `cannot open output ${c.out}: ${(err as Error).message}`)));
            return;
          }
          this.jobs.set(c.job, job);
          this.closedJobs.delete(c.job);
          if (repaired > 0) this.log.warn({ job: c.job, out: c.out, bytes: repaired }, 'repaired a torn tail of the output');
          this.log.info({ job: c.job, out: c.out, rows: job.writer.rows, tasks: job.writer.done.size }, 'output opened');
        }
        m.respond(encode({ kind: 'opened', v: PROTOCOL_VERSION, job: c.job, rows: job.writer.rows, tasks: job.writer.done.size, repaired }));
        return;
      }
      case 'close': {
        const job = this.jobs.get(c.job);
        if (!job) {
          m.respond(encode({ kind: 'closed', v: PROTOCOL_VERSION, job: c.job, summary: null }));
          return;
        }
        job.writer.close();
        this.jobs.delete(c.job);
        this.closedJobs.add(c.job);
        const summary = await this.summarize(c.job, job, c.state);
        m.respond(encode({ kind: 'closed', v: PROTOCOL_VERSION, job: c.job, summary }));
        return;
      }
    }
  }

  /** Writes `<out>.summary.json`; returns its path (null when the kind's summary failed). */
  private async summarize(jobName: string, job: OpenJob, state: string): Promise<string | null> {
    const path = summaryPathFor(job.writer.path);
    const base = { job: jobName, kind: job.kind, state, tasks: { ok: job.writer.okTasks, error: job.writer.errorTasks }, rows: job.writer.rows, output: job.writer.path };
    let figures: Record<string, unknown> = {};
    const kind = getKind(job.kind);
    if (kind) {
      try {
        const params = kind.checkParams(job.params);
        figures = await kind.summarize(rowsOf(job.writer.path, jobName), params);
      } catch (err) {
        this.log.error({ job: jobName, err }, 'summary failed');
        figures = { summaryError: (err as Error).message };
      }
    }
    try {
      const tmp = `${path}.tmp`;
      writeFileSync(tmp, JSON.stringify({ ...base, ...figures }, null, 2) + '\n');
      renameSync(tmp, path);
      return path;
    } catch (err) {
      this.log.error({ job: jobName, err, path }, 'cannot write the summary');
      return null;
    }
  }

  private async notify(groups: CommitGroup[]): Promise<void> {
    const seq = ++this.noticeSeq;
    const reply = await this.bus.request(this.subj.committed, encode({ kind: 'committed', v: PROTOCOL_VERSION, seq, groups }), { timeoutMs: this.opts.notifyTimeoutMs });
    const d = decode('OkReply', reply);
    if (!d.ok) throw new Error(`coordinator answered a commit notice with a bad reply: ${d.detail}`);
    const r: OkReply = d.msg;
    if (r.kind === 'error') throw new Error(`coordinator refused a commit notice: ${r.message}`);
  }

  /** Waits until every commit notice is acknowledged (or the time is up). */
  flushNotices(timeoutMs: number): Promise<boolean> {
    return this.notices.drain(timeoutMs);
  }

  /** Closes every file and stops. Idempotent. */
  async stop(): Promise<void> {
    for (const s of this.subs.splice(0)) s.unsubscribe();
    await this.notices.drain(2000);
    this.notices.close();
    for (const j of this.jobs.values()) j.writer.close();
    this.jobs.clear();
  }
}

/** The commit notice for tasks `idx` of group `g`; with `done`, the statuses already committed (re-announcement). */
function commitGroup(g: ResultGroup, from: string, idx: number[], done: Map<string, 'ok' | 'error'> | null): CommitGroup {
  if (!done && idx.length === g.ids.length) return { job: g.job, from, ids: g.ids, status: g.status, attempts: g.attempts, ms: g.ms };
  let status = '';
  for (const i of idx) status += done ? (done.get(g.ids[i]!) === 'ok' ? 'o' : 'e') : g.status[i];
  return { job: g.job, from, ids: idx.map((i) => g.ids[i]!), status, attempts: idx.map((i) => g.attempts[i]!), ms: done ? idx.map(() => 0) : idx.map((i) => g.ms[i]!) };
}

function countLines(text: string): number {
  let n = 0;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

async function* rowsOf(path: string, job: string): AsyncGenerator<Row> {
  for await (const r of readRows(path)) {
    if (r.job === job) yield r as Row;
  }
}
