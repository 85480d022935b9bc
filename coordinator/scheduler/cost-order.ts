/**
 * The dispatch order of a job's tasks: largest cost first, equal costs in task order. Null when
 * every task costs the same (the order is the task numbers). A stable radix sort, two passes of
 * 16 bits, on the high 32 bits of each cost (a positive double's high word orders like the
 * double: sign, exponent and 20 bits of mantissa), so costs within about one part in a million
 * count as equal. Keys move with their task numbers: every read is sequential, which is what
 * makes ten million tasks take a fraction of a second; the steps (a million costs, half a pass)
 * let the coordinator hear its agents in between.
 */
import type { TaskSource } from './options.js';

/** A job's dispatch order (null: by task number) and the summed cost of its tasks. */
export interface TaskOrder {
  order: Uint32Array | null;
  cost: number;
}

/**
 * Costs read between two stops of the steps: a quarter of a million, some 10 ms of the
 * coordinator's event loop on the test machine (a million held it 30-40 ms, and a status or a
 * heartbeat behind it waited that long, longer on a loaded machine).
 */
const STEP = 1 << 18;

/** The order, computed in steps: each `next()` does a pass or reads STEP costs; the last returns the order. */
export function* costOrderSteps(src: Pick<TaskSource, 'length' | 'costAt'>): Generator<void, TaskOrder> {
  const n = src.length;
  const costOf = (i: number): number => Math.max(src.costAt(i), 1e-9);
  // First whether the costs differ at all (then nothing is allocated).
  const first = n > 0 ? costOf(0) : 0;
  let i = 1;
  while (i < n && costOf(i) === first) if (++i % STEP === 0) yield;
  if (i >= n) return { order: null, cost: first * n };
  // Each cost's high word, inverted so that larger costs come first.
  const hi = new Uint32Array(new Float64Array([1]).buffer)[1] === 0x3ff00000 ? 1 : 0;
  const word = new Uint32Array(2);
  const asDouble = new Float64Array(word.buffer);
  let key = new Uint32Array(n);
  let cost = first * i;
  key.fill(~(asDouble[0] = first, word[hi]!) >>> 0, 0, i);
  for (; i < n; i++) {
    const c = costOf(i);
    cost += c;
    asDouble[0] = c;
    key[i] = ~word[hi]! >>> 0;
    if ((i + 1) % STEP === 0) yield;
  }
  yield;
  let order = new Uint32Array(n);
  for (let k = 0; k < n; k++) order[k] = k;
  let key2 = new Uint32Array(n);
  let order2 = new Uint32Array(n);
  const count = new Uint32Array(65537);
  for (const shift of [0, 16]) {
    count.fill(0);
    for (let k = 0; k < n; k++) count[((key[k]! >>> shift) & 0xffff) + 1]!++;
    for (let d = 1; d <= 65536; d++) count[d]! += count[d - 1]!;
    yield;
    for (let k = 0; k < n; k++) {
      const at = count[(key[k]! >>> shift) & 0xffff]!++;
      key2[at] = key[k]!;
      order2[at] = order[k]!;
    }
    [key, key2] = [key2, key];
    [order, order2] = [order2, order];
    yield;
  }
  return { order, cost };
}

/** The order at once (small jobs, tests). */
export function costOrder(src: Pick<TaskSource, 'length' | 'costAt'>): TaskOrder {
  const steps = costOrderSteps(src);
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}
