/**
 * A job's summary folded in a thread of its own (summary-run.ts starts it where the coordinator's
 * event loop is too busy to read the rows while the job runs): the kind's `summarize` over the
 * output's rows, read as the main thread says they are durable, a step at a time without waiting
 * for a quiet loop (this thread's loop does nothing else).
 *
 * In: SummaryThreadData (workerData), then ToSummaryThread messages. Out: one FromSummaryThread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { getKind, type Row } from '../kinds/index.js';
import { RowFollower } from './follow.js';

export interface SummaryThreadData {
  path: string;
  job: string;
  kindName: string;
  params: unknown;
  /** Bytes of the output durable when the thread was started. */
  durable: number;
}

export type ToSummaryThread = { durable: number } | { end: true } | { stop: true };
export type FromSummaryThread = { figures: Record<string, unknown> } | { error: string };

const d = workerData as SummaryThreadData;
let durable = d.durable;
const follower = new RowFollower(d.path, () => durable, (r) => r.job === d.job, undefined, { yieldToLoop: false });
parentPort!.on('message', (m: ToSummaryThread) => {
  if ('durable' in m) {
    durable = m.durable;
    follower.advanced();
  } else if ('end' in m) follower.end();
  else follower.stop();
});

const post = (m: FromSummaryThread): void => parentPort!.postMessage(m);
try {
  const kind = getKind(d.kindName);
  if (!kind) throw new Error(`no kind '${d.kindName}' in the summary's thread`);
  post({ figures: await kind.summarize(follower.rows() as AsyncIterable<Row>, kind.checkParams(d.params)) });
} catch (err) {
  post({ error: (err as Error).message });
}
parentPort!.close();
