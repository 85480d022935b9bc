/**
 * The handler module of the `pipe` workload (pipe.ts gives it to the agent's --handlers): one
 * kind, `pipe-work`, that keeps the CPU busy as spin does without --sleep. Its input is
 * `{ ms }` (a JSON line of the upstream's inputs file, or the upstream row's value in a --from
 * job); it spins `ms × params.times` milliseconds (times: 1 unless given) and returns `{ ms }`,
 * so a stage fed by its rows does the same work again.
 */
import type { HandlerKind } from '../../src/kinds/handlers/index.js';

/** What a task's input and its row's value hold: the milliseconds of one pass. */
export interface PipeWork {
  ms: number;
}

function workOf(input: unknown, id: string): number {
  const ms = (input as Partial<PipeWork> | null)?.ms;
  if (typeof ms !== 'number' || !(ms >= 0)) throw new Error(`pipe-work task ${id}: input ${JSON.stringify(input)} has no 'ms' (a number >= 0)`);
  return ms;
}

const pipeWork: HandlerKind = {
  name: 'pipe-work',
  description: 'busy CPU for input.ms × params.times milliseconds; the row value is { ms }',
  run(task, ctx): PipeWork {
    const ms = workOf(task.input, task.id);
    const times = typeof task.params.times === 'number' ? task.params.times : 1;
    const end = performance.now() + ms * times;
    let n = 0;
    while (performance.now() < end) {
      if ((++n & 1023) === 0 && ctx.signal.aborted) throw new Error(`pipe-work task ${task.id}: aborted`);
    }
    return { ms };
  },
};

export const kinds: HandlerKind[] = [pipeWork];
