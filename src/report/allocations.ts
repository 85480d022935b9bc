/**
 * The allocations of `shoal alloc` that brought agents, for a report of an out dir: read from
 * its `alloc/allocations.jsonl` (the coordinator appends a line each time an allocation's agents
 * join or leave; the last line of each allocation holds). Lines that are not spans are passed
 * over; a directory without the file has none.
 */
import { readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Value } from '@sinclair/typebox/value';
import { ALLOCATIONS_FILE, AllocationSpanSchema, type AllocationSpan } from '../../protocol/index.js';

/** One allocation whose agents joined: when they were there (epoch ms; leftAt null while any is). */
export interface AllocationMark {
  queue: string;
  alloc: string;
  slurmJob: string | null;
  state: string;
  agents: string[];
  joinedAt: number;
  leftAt: number | null;
}

/** The spans of a file's text, the last line of each allocation winning, in the order they first appear. */
export function parseAllocations(text: string): AllocationMark[] {
  const byId = new Map<string, AllocationMark>();
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch {
      continue; // a line cut by a crash: the next one of that allocation says the same and more
    }
    if (!Value.Check(AllocationSpanSchema, v)) continue;
    const s = v as AllocationSpan;
    byId.set(`${s.queue}\u0000${s.alloc}`, { queue: s.queue, alloc: s.alloc, slurmJob: s.slurmJob ?? null, state: s.state, agents: s.agents, joinedAt: s.joinedAt, leftAt: s.leftAt ?? null });
  }
  return [...byId.values()];
}

/** The allocations recorded in each directory of `paths` (files given are outputs: they have none). */
export async function readAllocations(paths: readonly string[]): Promise<AllocationMark[]> {
  const out: AllocationMark[] = [];
  for (const p of paths) {
    const dir = resolve(p);
    if (!(await stat(dir).then((s) => s.isDirectory(), () => false))) continue;
    const text = await readFile(join(dir, ALLOCATIONS_FILE), 'utf8').catch(() => null);
    if (text !== null) out.push(...parseAllocations(text));
  }
  return out.sort((a, b) => a.joinedAt - b.joinedAt);
}
