/**
 * The operator's side of the control protocol: submit, status, cancel, priority, drain, and waiting
 * for a job to end. Used by the CLI commands and by the embedded `run`.
 */
import { BusError, type Bus } from '../bus/index.js';
import { decode, encode, PROTOCOL_VERSION, type CtlReply, type CtlRequest, type JobSpec, type AllocQueueSpec, type JobStatus, type AgentStatus, type Subjects } from '../../protocol/index.js';
import { ErrorCode, ShoalError } from '../errors.js';

type Reply<K extends CtlReply['kind']> = Extract<CtlReply, { kind: K }>;

export class CtlClient {
  constructor(
    private readonly bus: Bus,
    private readonly subj: Subjects,
    private readonly ns: string,
  ) {}

  /**
   * One request. Idempotent ones (`retry`) are asked once more after a short pause when
   * nobody answers: a request sent during a broker blip can be lost on the way.
   */
  private async ask<K extends CtlReply['kind']>(req: CtlRequest, expect: K, timeoutMs: number, retry = false): Promise<Reply<K>> {
    let raw: Uint8Array;
    for (let attempt = 0; ; attempt++) {
      try {
        raw = await this.bus.request(this.subj.ctl(req.kind), encode(req), { timeoutMs });
        break;
      } catch (err) {
        if (err instanceof ShoalError && err.code === ErrorCode.Timeout) {
          // Nobody listening (a coordinator still starting): nothing was done, so any request
          // may be asked again for a few seconds. A timeout only for idempotent ones, once.
          const nobody = err instanceof BusError && err.noResponders;
          if ((nobody && attempt < 10) || (retry && attempt === 0)) {
            await new Promise((r) => setTimeout(r, 500));
            continue;
          }
          throw new ShoalError(ErrorCode.Bus, `no coordinator answers in namespace '${this.ns}' (${err.message})`, { retryable: true, cause: err });
        }
        throw err;
      }
    }
    const d = decode('CtlReply', raw);
    if (!d.ok) {
      if (d.reason === 'version') throw new ShoalError(ErrorCode.Protocol, `the coordinator speaks shoal protocol ${String(d.version)}, this CLI speaks ${PROTOCOL_VERSION}`);
      throw new ShoalError(ErrorCode.Internal, `the coordinator sent a bad reply: ${d.detail}`);
    }
    const r = d.msg;
    if (r.kind === 'error') throw new ShoalError(r.code as ErrorCode, r.message);
    if (r.kind !== expect) throw new ShoalError(ErrorCode.Internal, `expected a ${expect} reply, got ${r.kind}`);
    return r as Reply<K>;
  }

  submit(spec: JobSpec): Promise<Reply<'submitted'>> {
    return this.ask({ kind: 'submit', v: PROTOCOL_VERSION, spec }, 'submitted', 10 * 60_000);
  }

  /**
   * Submits `spec`, and while the coordinator prepares the job (reads its inputs, expands it,
   * opens its output, looks its tasks up in the cache: seconds each on inputs of gigabytes)
   * says each step that is still under way `afterMs` after the submit, from the job's status.
   */
  async submitSaying(spec: JobSpec, say: (line: string) => void, o: { afterMs?: number; everyMs?: number } = {}): Promise<Reply<'submitted'>> {
    const sub = this.submit(spec);
    let settled = false;
    const over = sub.then(
      () => void (settled = true),
      () => void (settled = true),
    );
    const t0 = Date.now();
    let said: string | undefined;
    while (!settled) {
      await Promise.race([over, new Promise((r) => setTimeout(r, o.everyMs ?? 500).unref())]);
      if (settled || Date.now() - t0 < (o.afterMs ?? 1000)) continue;
      const st = await this.status(spec.job).catch(() => null);
      const step = st?.jobs.find((j) => j.job === spec.job && j.state === 'expanding')?.notes[0];
      if (step !== undefined && step !== said && !settled) say(`job ${spec.job}: ${(said = step)}...`);
    }
    return sub;
  }

  status(job?: string): Promise<Reply<'status'>> {
    return this.ask({ kind: 'status', v: PROTOCOL_VERSION, ...(job ? { job } : {}) }, 'status', 10_000, true);
  }

  /** Cancels the job; with `downstream`, also every job fed by it or waiting for it, and so on (the reply's `also`). */
  cancel(job: string, o: { downstream?: boolean } = {}): Promise<Reply<'cancelled'>> {
    return this.ask({ kind: 'cancel', v: PROTOCOL_VERSION, job, ...(o.downstream ? { downstream: true } : {}) }, 'cancelled', 10_000, true);
  }

  priority(job: string, priority: number): Promise<Reply<'priority-set'>> {
    return this.ask({ kind: 'priority', v: PROTOCOL_VERSION, job, priority }, 'priority-set', 10_000, true);
  }

  /** Allocation queues: add one, list them, or pause, resume or remove one (by id or name). */
  alloc(op: 'add' | 'list' | 'pause' | 'resume' | 'remove', o: { spec?: AllocQueueSpec; queue?: string } = {}): Promise<Reply<'alloc'>> {
    return this.ask({ kind: 'alloc', v: PROTOCOL_VERSION, op, ...o }, 'alloc', 30_000, op === 'list');
  }

  drain(agent: string, graceMs?: number): Promise<Reply<'draining'>> {
    return this.ask({ kind: 'drain', v: PROTOCOL_VERSION, agent, ...(graceMs !== undefined ? { graceMs } : {}) }, 'draining', 10_000);
  }

  /**
   * Polls until the job has ended, calling `onProgress` with each status. Survives a
   * coordinator restart or a broker outage (keeps asking). With `stallLimitMs`, a job whose
   * output stays unwritable that long ends the wait with a StalledError-coded ShoalError; with
   * `timeoutMs`, a job still not ended after that long ends it with a WaitTimeout-coded one (the
   * job itself goes on). The coordinator's `job-ended` event for the job cuts the pause short,
   * so the end is seen when it happens, not up to an interval later; a missed event only costs
   * that interval.
   */
  async waitFor(job: string, onProgress: (j: JobStatus, agents: AgentStatus[]) => void, intervalMs = 250, o: WaitOptions = {}): Promise<JobStatus> {
    let wake: () => void = () => undefined;
    const events = this.bus.subscribe(this.subj.events);
    void (async () => {
      for await (const m of events) {
        const d = decode('Event', m.data);
        if (d.ok && d.msg.job === job) wake();
      }
    })().catch(() => undefined); // no events (not allowed to hear them, connection closed): polling alone
    const deadline = o.timeoutMs === undefined ? Infinity : Date.now() + o.timeoutMs;
    let last: JobStatus | null = null;
    try {
      let failing = 0;
      let stalledSince: number | null = null;
      for (;;) {
        try {
          const st = await this.status(job);
          failing = 0;
          const j = st.jobs.find((x) => x.job === job);
          if (j) {
            last = j;
            onProgress(j, st.agents);
            if (j.state !== 'running' && j.state !== 'expanding' && j.state !== 'stalled') return j;
            stalledSince = j.state === 'stalled' ? (stalledSince ?? Date.now()) : null;
            if (stalledSince !== null && o.stallLimitMs !== undefined && Date.now() - stalledSince >= o.stallLimitMs) {
              throw new ShoalError(ErrorCode.Stalled, `${j.stalled ?? 'the output cannot be written'}; stalled for ${Math.round((Date.now() - stalledSince) / 1000)} s, giving up. ${j.done} of ${j.total} tasks are written: make room and run the same command again to resume`);
            }
          }
        } catch (err) {
          if (err instanceof ShoalError && err.code === ErrorCode.NotFound && ++failing > 40) throw err;
          if (!(err instanceof ShoalError) || err.code === ErrorCode.Stalled || (err.code !== ErrorCode.Bus && err.code !== ErrorCode.Timeout && err.code !== ErrorCode.NotFound)) throw err;
        }
        if (Date.now() >= deadline) throw waitTimedOut(job, o.timeoutMs!, last, o.afterTimeout);
        await new Promise<void>((r) => {
          const timer = setTimeout(r, Math.min(intervalMs, deadline - Date.now()));
          wake = () => {
            clearTimeout(timer);
            r();
          };
        });
        wake = () => undefined;
      }
    } finally {
      events.unsubscribe();
    }
  }
}

/** How `waitFor` gives up. */
export interface WaitOptions {
  /** Give up once the job's output has been unwritable this long (ms). */
  stallLimitMs?: number;
  /** Give up once the job has not ended after this long (ms); the job is left as it is. */
  timeoutMs?: number;
  /** What the user may do once that wait is given up: the end of its message. */
  afterTimeout?: string;
}

/** The error a wait given up after `timeoutMs` ends with: where the job stood, and why it did not move if known. */
function waitTimedOut(job: string, timeoutMs: number, j: JobStatus | null, after: string | undefined): ShoalError {
  const where = j === null ? 'the coordinator has not shown it yet' : `it is ${j.waitingFor?.length ? 'waiting' : j.state}, ${j.done} of ${j.total} tasks done`;
  const why = j?.unrunnable ? `; ${j.unrunnable}` : '';
  return new ShoalError(ErrorCode.WaitTimeout, `gave up waiting for job ${job} after ${timeoutMs / 1000} s (--wait-timeout): ${where}${why}${after ? `. ${after}` : ''}`);
}
