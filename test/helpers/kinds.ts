/** A kind's command-line options as `shoal run <kind>` parses them, turned into its params; a spin job's tasks as the scheduler takes them; a kind of byte ranges of files for the cache's keys. */
import assert from 'node:assert/strict';
import { Command } from '@commander-js/extra-typings';
import type { TaskSource } from '../../coordinator/index.js';
import { getKind, type Kind } from '../../src/kinds/index.js';

/** Parses `args` as `<kind> <args>` (hooks and action included, as the CLI runs them) and returns the kind's params. */
export function kindParams<P>(kind: Kind<P>, args: string[]): P {
  const program = new Command().exitOverride();
  const sub = program.command(kind.name).exitOverride();
  kind.addOptions(sub);
  let params: { p: P } | null = null;
  sub.action((opts: Record<string, unknown>) => {
    params = { p: kind.params(opts) };
  });
  program.parse([kind.name, ...args], { from: 'user' });
  assert.ok(params, 'the action ran');
  return (params as { p: P }).p;
}

/** The tasks of a spin job of `params` as the scheduler takes them (numbered, no object each). */
export async function spinTasks(params: Record<string, unknown>): Promise<TaskSource> {
  const spin = getKind('spin')!;
  const list = await spin.expandList!(spin.checkParams(params), { slots: 0, job: '', info: () => undefined });
  return {
    length: list.length,
    at: (i) => ({ ...list.at(i), memory: 0, threads: 1, gpus: 0, bytes: 64 }),
    costAt: (i) => list.costAt(i),
    indexOf: (id) => list.indexOf(id),
  };
}

/** A task of `rangesKind`: bytes [start, end) of a file. */
export type RangeRef = { file: string; start: number; end: number };

/** A kind whose tasks are byte ranges of files: what the result cache keys (it runs nothing). */
export const rangesKind = {
  name: 'ranges',
  checkParams: (p: unknown) => p,
  cache: { version: 1, content: (r: RangeRef) => ({ ranges: [[r.file, r.start, r.end] as [string, number, number]] }) },
} as unknown as Kind<unknown>;

/** Tasks `r0`, `r1`, … of `rangesKind`, one per ref. */
export function rangeTasks(refs: readonly RangeRef[]): TaskSource {
  return {
    length: refs.length,
    at: (i) => ({ id: `r${i}`, cost: 1, memory: 0, threads: 1, gpus: 0, bytes: 64, ref: refs[i] }),
    refAt: (i) => ({ id: `r${i}`, ref: refs[i] }),
    costAt: () => 1,
    indexOf: (id) => (/^r\d+$/.test(id) ? Number(id.slice(1)) : -1),
  };
}
