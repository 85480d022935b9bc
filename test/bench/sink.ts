/**
 * The sink alone: W0's 106,778 rows pushed through it in 52 result groups of 2,048 (as one
 * agent would send them) over the in-process bus, to a real file with real fsyncs, with a
 * host that allows every task. Rows parsed (as for agents over the network) and not parsed
 * (the in-process agent's own rows).
 */
import { join } from 'node:path';
import { MemoryBus } from '../../src/bus/index.js';
import { ANONYMOUS, encode, PROTOCOL_VERSION, subjects } from '../../protocol/index.js';
import { silentLogger } from '../../src/log.js';
import { Sink } from '../../src/sink/index.js';
import { GroupBuilder, okRow } from '../../src/rows/index.js';
import type { BenchRow } from './main.js';

export async function benchSink(dir: string): Promise<BenchRow[]> {
  const N = 106_778;
  const B = 2048;
  const out: BenchRow[] = [];
  for (const checkRows of ['always', 'remote'] as const) {
    const bus = new MemoryBus();
    const subj = subjects('bench');
    let committed = 0;
    const sink = new Sink(bus, subj, silentLogger(), { writable: () => () => true, committed: (gs) => void (committed += gs.reduce((n, g) => n + g.ids.length, 0)), stalled: () => undefined }, { checkRows });
    sink.start();
    await sink.open({ job: 'w0', kind: 'spin', params: {}, out: join(dir, `sink-${checkRows}.jsonl`) });
    const batches: Uint8Array[] = [];
    for (let s = 0, seq = 1; s < N; s += B, seq++) {
      const g = new GroupBuilder('w0');
      for (let i = s; i < Math.min(N, s + B); i++) {
        const id = `spin_${String(i).padStart(6, '0')}`;
        g.add(id, 1, true, 0.01, okRow({ job: 'w0', task: id, kind: 'spin', attempt: 1, agent: 'bench-1', host: 'bench', worker: 3, start: 1763800000123, end: 1763800000124 }, '{"ms":0}'));
      }
      batches.push(encode({ kind: 'results', v: PROTOCOL_VERSION, from: 'bench-1', seq, groups: [g.build()] }));
    }
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await Promise.all(batches.map((b) => bus.request(subj.results(ANONYMOUS), b, { timeoutMs: 120_000 })));
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    if (committed !== N) throw new Error(`the sink committed ${committed} of ${N} rows`);
    await sink.stop();
    await bus.close();
    const what = checkRows === 'always' ? 'rows parsed (agents over the network)' : 'rows not parsed (in-process agent)';
    out.push({ workload: 'sink', mode: `${what}, 52 groups of 2,048`, tasks: N, seconds: +seconds.toFixed(3), tasksPerSecond: Math.round(N / seconds), note: `${((cpu.user + cpu.system) / N).toFixed(2)} µs CPU per row, all threads` });
  }
  return out;
}
