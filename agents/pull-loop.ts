/**
 * The agent's pull loop: keeps one pull in flight (long-polled at the coordinator while its
 * queue is empty) whenever the core wants work, and carries the core's reports (hand-backs,
 * failures) with it. Joins (and joins again) through the coordinator link when not welcomed.
 */
import { decode, encode, PROTOCOL_VERSION } from '../protocol/index.js';
import { OnceLog } from '../src/log.js';
import { sleep, type AgentShell } from './agent-options.js';
import type { CoordinatorLink } from './coordinator-link.js';

export class PullLoop {
  private wake: (() => void) | null = null;
  /** A pull with waitMs > 0 is in flight (it may sit at the coordinator until work comes). */
  parked = false;
  private readonly once = new OnceLog();

  constructor(
    private readonly a: AgentShell,
    private readonly link: CoordinatorLink,
  ) {}

  /** Ends a backoff wait early (see hurry). */
  private cutShort: (() => void) | null = null;

  /**
   * The coordinator does not know this agent (it restarted, or took the agent for lost): the
   * pull in flight will not be answered and a failing pull's backoff is moot. Pull now; the
   * answer will be to join again.
   */
  hurry(why: string): void {
    this.link.abandonInFlight(why);
    const end = this.cutShort;
    this.cutShort = null;
    end?.();
  }

  /** Wakes the loop. */
  poke(): void {
    const end = this.wake;
    this.wake = null;
    end?.();
  }

  /** Waits `ms`, or less when poked. */
  private waitForChange(ms: number): Promise<void> {
    return this.wakeableWait(ms, (w) => (this.wake = w));
  }

  /** Waits `ms`, or less when hurried. */
  private backoffWait(ms: number): Promise<void> {
    return this.wakeableWait(ms, (w) => (this.cutShort = w));
  }

  /** Waits `ms`; `hold` keeps the function that ends the wait early (null once it has ended). */
  private wakeableWait(ms: number, hold: (end: (() => void) | null) => void): Promise<void> {
    return new Promise((r) => {
      const t = setTimeout(() => {
        hold(null);
        r();
      }, ms);
      hold(() => {
        clearTimeout(t);
        r();
      });
    });
  }

  /** Runs until the core no longer pulls (stopped, or drained with no report left). */
  async run(): Promise<void> {
    const { a } = this;
    let backoff = 100;
    let pullFailed = false;
    while (a.core.pulling) {
      const link = a.core.link;
      if (!link) {
        try {
          await this.link.join();
        } catch {
          return;
        }
        continue;
      }
      const want = a.core.want(a.sender.outbox.full);
      if (want === 0 && !a.core.hasReports) {
        await this.waitForChange(1000);
        continue;
      }
      const reports = a.core.takeReports();
      const waitMs = want > 0 ? a.opts.pullWaitMs : 0;
      this.parked = waitMs > 0;
      try {
        const l = a.core.load();
        const reply = await this.link.acrossReconnect(
          a.bus.request(
            a.subj.pull(a.opts.principal),
            encode({ kind: 'pull', v: PROTOCOL_VERSION, agent: a.id, epoch: link.epoch, seq: link.seq, want, freeSlots: l.freeSlots, memory: l.memory, ...(a.core.bundles.gpus > 0 ? { freeGpus: l.freeGpus } : {}), waitMs, reports }),
            { timeoutMs: waitMs + 10_000 },
          ),
        );
        this.parked = false;
        backoff = 100;
        const d = decode('PullReply', reply);
        if (!d.ok) throw new Error(`bad pull reply: ${d.detail}`);
        const r = d.msg;
        switch (r.kind) {
          case 'dispatch':
            a.apply(a.core.dispatched(r.seq, r.jobs, r.bundles));
            break;
          case 'rejoin': {
            a.log.info({ reason: r.reason }, 'the coordinator asks this agent to join again');
            const delay = a.core.rejoinAsked(Date.now());
            if (delay > 0) await sleep(delay);
            // Reports made under the old epoch: the hello's held list supersedes them.
            break;
          }
          case 'error':
            if (this.once.changed('pull-error', r.code)) a.log.warn({ code: r.code, err: r.message }, 'the coordinator refused a pull');
            a.core.putBackReports(reports);
            await sleep(backoff);
            backoff = Math.min(backoff * 2, 5000);
            break;
        }
        if (r.kind !== 'error' && this.once.changed('pull', 'ok') && pullFailed) a.log.info('pulls work again');
        pullFailed = false;
      } catch (err) {
        this.parked = false;
        a.core.putBackReports(reports);
        if (a.core.state === 'stopped') return;
        pullFailed = true;
        if (this.once.changed('pull', 'failing')) a.log.warn({ err: (err as Error).message }, 'pull failed; retrying');
        const t0 = Date.now();
        await this.backoffWait(backoff);
        // Hurried: the coordinator is back; start the backoff over.
        backoff = Date.now() - t0 < backoff ? 100 : Math.min(backoff * 2, 5000);
      }
    }
  }

  /** Sends pending reports (hand-backs, failures) with a pull that asks for nothing. */
  async sendReports(deadline = Date.now() + 10_000): Promise<void> {
    const { a } = this;
    for (let attempt = 0; attempt < 20 && a.core.hasReports && Date.now() < deadline; attempt++) {
      const link = a.core.link;
      if (!link) return;
      const reports = a.core.takeReports();
      try {
        const pull = encode({ kind: 'pull', v: PROTOCOL_VERSION, agent: a.id, epoch: link.epoch, seq: link.seq, want: 0, freeSlots: 0, memory: 0, waitMs: 0, reports, reportsOnly: true });
        await a.bus.request(a.subj.pull(a.opts.principal), pull, { timeoutMs: Math.max(500, Math.min(5000, deadline - Date.now())) });
        return;
      } catch {
        a.core.putBackReports(reports);
        await sleep(250);
      }
    }
  }
}
