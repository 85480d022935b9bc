/**
 * How a frames job is cut up: threads per frame (`--threads auto`) and frames per task
 * (`--chunk auto`). Pure functions of the job's shape and the slot count, each returning its
 * choice with the reason (expand logs both).
 */
import { blockCount } from './zeno.js';

/** Slots assumed when no agent has joined yet. */
export const DEFAULT_SLOTS = 2;
/** Largest automatic chunk: keeps one task's result message well under NATS's max_payload. */
export const MAX_AUTO_CHUNK = 1000;
/** Without zeno, a task should do at least this many atom-frames (a few ms) to amortise its overhead. */
export const MIN_ATOM_FRAMES = 50_000;
/** With zeno, a task should do at most about this many walks (tens of seconds), so losses cost little. */
export const MAX_TASK_WALKS = 2_000_000;
/** Relative cost of each extra thread on one frame (start-up, shared memory traffic). */
const THREAD_OVERHEAD = 0.03;

export interface Plan<T> {
  value: T;
  reason: string;
}

/** What the plans look at. */
export interface JobShape {
  frames: number;
  atoms: number;
  zeno: boolean;
  walks: number;
  /** ExpandContext.slots (0 = unknown). */
  slots: number;
}

/**
 * Threads per frame. Many cheap frames → one thread each; fewer frames than slots → most
 * slots on each frame; in between, the count that minimises an estimated makespan
 * (waves of concurrent tasks × blocks per thread, with a small per-thread overhead).
 */
export function planThreads(shape: JobShape, requested: number | 'auto'): Plan<number> {
  const slots = shape.slots > 0 ? shape.slots : DEFAULT_SLOTS;
  const known = shape.slots > 0 ? `${slots} slots` : `slots unknown, assuming ${slots}`;
  if (!shape.zeno) {
    return { value: 1, reason: requested === 'auto' || requested === 1 ? 'no zeno: one thread per task' : `no zeno: --threads ${requested} ignored` };
  }
  if (requested !== 'auto') {
    const warn = shape.slots > 0 && requested > slots ? `; more than the ${slots} known slots, tasks wait for an agent that has them` : '';
    return { value: requested, reason: `--threads ${requested}${warn}` };
  }
  const blocks = blockCount(shape.walks);
  const most = Math.min(slots, blocks);
  if (most <= 1) return { value: 1, reason: `${blocks} block(s) of walks per frame: nothing to split (${known})` };
  if (shape.frames >= 2 * slots) return { value: 1, reason: `${shape.frames} frames for ${known}: one thread per frame` };
  let best = 1;
  let bestCost = Infinity;
  for (let t = 1; t <= most; t++) {
    const concurrent = Math.floor(slots / t);
    const cost = Math.ceil(shape.frames / concurrent) * Math.ceil(blocks / t) * (1 + THREAD_OVERHEAD * (t - 1));
    if (cost < bestCost) {
      best = t;
      bestCost = cost;
    }
  }
  return { value: best, reason: `${shape.frames} frame(s) of ${blocks} blocks for ${known}: ${best} threads per frame` };
}

/** Frames per task: a few tasks per concurrently running task slot, within the bounds above. */
export function planChunk(shape: JobShape, threads: number, requested: number | 'auto'): Plan<number> {
  if (requested !== 'auto') return { value: Math.min(requested, Math.max(1, shape.frames)), reason: `--chunk ${requested}` };
  const slots = shape.slots > 0 ? shape.slots : DEFAULT_SLOTS;
  const concurrent = Math.max(1, Math.floor(slots / threads));
  let chunk = Math.floor(shape.frames / (4 * concurrent));
  const bounds: string[] = [];
  if (shape.zeno) {
    const most = Math.max(1, Math.floor(MAX_TASK_WALKS / shape.walks));
    if (chunk > most) {
      chunk = most;
      bounds.push(`at most ${MAX_TASK_WALKS} walks per task`);
    }
  } else {
    const least = Math.ceil(MIN_ATOM_FRAMES / Math.max(1, shape.atoms));
    if (chunk < least) {
      chunk = least;
      bounds.push(`at least ${MIN_ATOM_FRAMES} atom-frames per task`);
    }
  }
  if (chunk > MAX_AUTO_CHUNK) {
    chunk = MAX_AUTO_CHUNK;
    bounds.push(`at most ${MAX_AUTO_CHUNK} frames per task`);
  }
  chunk = Math.max(1, Math.min(chunk, shape.frames));
  const why = `${shape.frames} frames / (4 × ${concurrent} concurrent tasks)${bounds.length ? `, ${bounds.join(', ')}` : ''}`;
  return { value: chunk, reason: `${why} → ${chunk} frame(s) per task` };
}
