/**
 * The dispatch order of a job's tasks: largest cost first, equal costs in task order. Null when
 * every task costs the same (the order is the task numbers). A stable radix sort on the bits
 * of the costs (positive doubles order like their bits): no comparator calls, and it can stop
 * between passes so that a coordinator sorting ten million tasks still hears its agents.
 */
import type { TaskSource } from './options.js';

/** A job's dispatch order (null: by task number) and the summed cost of its tasks. */
export interface TaskOrder {
  order: Uint32Array | null;
  cost: number;
}

/** Costs read between two stops of the steps. */
const STEP = 1 << 20;

/** The order, computed in steps: each `next()` does a pass or reads a million costs; the last returns the order. */
export function* costOrderSteps(src: Pick<TaskSource, 'length' | 'costAt'>): Generator<void, TaskOrder> {
  const n = src.length;
  // First the sum, and whether the costs differ at all (then nothing is allocated).
  let uniform = true;
  let cost = 0;
  const first = n > 0 ? Math.max(src.costAt(0), 1e-9) : 0;
  for (let i = 0; i < n; i++) {
    const c = Math.max(src.costAt(i), 1e-9);
    cost += c;
    if (c !== first) uniform = false;
    if ((i + 1) % STEP === 0) yield;
  }
  if (uniform) return { order: null, cost };
  const costs = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    costs[i] = Math.max(src.costAt(i), 1e-9);
    if ((i + 1) % STEP === 0) yield;
  }
  const bytes = new Uint8Array(costs.buffer);
  // The byte of each double that is most significant, per host byte order.
  const little = new Uint8Array(new Float64Array([1]).buffer)[7] === 0x3f;
  let from = new Uint32Array(n);
  let to = new Uint32Array(n);
  for (let i = 0; i < n; i++) from[i] = i;
  const count = new Uint32Array(257);
  for (let pass = 0; pass < 8; pass++) {
    // Least significant byte first; descending costs: each digit inverted.
    const b = little ? pass : 7 - pass;
    count.fill(0);
    for (let k = 0; k < n; k++) count[256 - bytes[from[k]! * 8 + b]!]!++;
    // count[d] (d = 256 - byte, 1..256) → start of digit d.
    let sum = 0;
    for (let d = 0; d <= 256; d++) {
      const c = count[d]!;
      count[d] = sum;
      sum += c;
    }
    for (let k = 0; k < n; k++) {
      const i = from[k]!;
      to[count[256 - bytes[i * 8 + b]!]!++] = i;
    }
    [from, to] = [to, from];
    yield;
  }
  return { order: from, cost };
}

/** The order at once (small jobs, tests). */
export function costOrder(src: Pick<TaskSource, 'length' | 'costAt'>): TaskOrder {
  const steps = costOrderSteps(src);
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}
