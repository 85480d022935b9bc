/**
 * Where a process's CPU went, from a V8 CPU profile (`node --cpu-prof`): each sample goes to
 * the nearest frame on its stack that belongs to the sink (src/sink/) or to the coordinator
 * (coordinator/), else to the NATS client, the garbage collector, or the rest. So the sink's
 * share holds what it calls (decoding results, writing rows), and the scheduler's work on
 * commits, which the sink triggers, stays the coordinator's.
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Milliseconds of CPU by part; idle time is left out. */
export interface CpuShares {
  sink: number;
  coordinator: number;
  nats: number;
  gc: number;
  other: number;
}

function partOf(url: string, fn: string): keyof CpuShares | 'idle' | null {
  if (url.includes('/src/sink/')) return 'sink';
  if (url.includes('/coordinator/')) return 'coordinator';
  if (fn === '(garbage collector)') return 'gc';
  if (fn === '(idle)') return 'idle';
  return null;
}

const isNats = (url: string): boolean => url.includes('/@nats-io/') || url.includes('/src/bus/');

/** Reads a .cpuprofile and sums its samples by part. */
export function cpuShares(path: string): CpuShares {
  const p = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const n of p.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const memo = new Map<number, keyof CpuShares | 'idle'>();
  const classify = (id: number): keyof CpuShares | 'idle' => {
    const known = memo.get(id);
    if (known) return known;
    let nats = false;
    let part: keyof CpuShares | 'idle' | null = null;
    for (let at: number | undefined = id; at !== undefined && part === null; at = parent.get(at)) {
      const f = byId.get(at)!.callFrame;
      part = partOf(f.url, f.functionName);
      nats ||= isNats(f.url);
    }
    const out = part ?? (nats ? 'nats' : 'other');
    memo.set(id, out);
    return out;
  };
  const shares: CpuShares = { sink: 0, coordinator: 0, nats: 0, gc: 0, other: 0 };
  for (let i = 0; i < p.samples.length; i++) {
    const part = classify(p.samples[i]!);
    if (part !== 'idle') shares[part] += (p.timeDeltas[i] ?? 0) / 1000;
  }
  return shares;
}
