/**
 * The sending side of the sink protocol: an outbox of results that resends until the sink
 * acknowledges. Results go on the subject of the sender's principal (the part of its id after
 * '@'), the only one the sink believes it on.
 */
import type { Bus } from '../bus/index.js';
import { decode, encode, maxResultText, principalOf, PROTOCOL_VERSION, type ResultGroup, type Subjects } from '../../protocol/index.js';
import { Outbox } from '../outbox.js';
import { splitGroup } from '../rows/index.js';
import type { Logger } from '../log.js';

export class ResultSender {
  readonly outbox: Outbox<ResultGroup>;
  private seq = 0;

  constructor(
    private readonly bus: Bus,
    private readonly subj: Subjects,
    private readonly from: string,
    log: Logger,
    opts: { highWater?: number; timeoutMs?: number } = {},
  ) {
    const timeoutMs = opts.timeoutMs ?? 15_000;
    const subject = this.subj.results(principalOf(from));
    this.outbox = new Outbox<ResultGroup>({
      send: async (batch) => {
        const seq = ++this.seq;
        const reply = await this.bus.request(subject, encode({ kind: 'results', v: PROTOCOL_VERSION, from: this.from, seq, groups: batch }), { timeoutMs });
        const d = decode('AckReply', reply);
        if (!d.ok) throw new Error(`the sink answered with a bad ack: ${d.detail}`);
        if (d.msg.kind === 'error') throw new Error(`the sink refused results: ${d.msg.message}`);
      },
      sizeOf: (g) => g.text.length + g.ids.length * 48 + 64,
      maxBatchBytes: Math.max(4096, Math.floor(bus.maxPayload * 0.8)),
      maxBatchItems: 1024,
      highWater: opts.highWater ?? 1024,
      onState: (s, err) =>
        s === 'failing'
          ? log.warn({ err: (err as Error)?.message }, 'sending results to the sink is failing; they are kept and retried')
          : log.info('results reach the sink again'),
    });
  }

  /** The largest rendered text one result group may carry. */
  get maxText(): number {
    return maxResultText(this.bus.maxPayload);
  }

  /** Queues a group, split so each piece fits on the bus. */
  push(g: ResultGroup): void {
    if (g.ids.length === 0) return;
    for (const piece of splitGroup(g, this.maxText)) this.outbox.push(piece);
  }
}
