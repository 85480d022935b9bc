/**
 * Node-level sharing of parsed inputs: the agent's input store and the workers' side of it,
 * over real MessagePorts (and, below, real worker threads running conformers blocks).
 */
import assert from 'node:assert/strict';
import { MessageChannel } from 'node:worker_threads';
import { test } from 'node:test';
import { InputStore } from '../../agents/input-store.js';
import { WorkerPool } from '../../agents/pool.js';
import { conformersKind } from '../../src/kinds/conformers/index.js';
import { taskText } from '../../src/rows/index.js';
import { fixture } from '../helpers/paths.js';
import { until } from '../helpers/wait.js';
import { PortInputs, sharedBytes, toShared } from '../../src/kinds/inputs.js';

let unique = 0;
/** A key no earlier test used (a thread without a store remembers recent keys). */
const key = (what: string): string => `${what}#${++unique}`;

function client(store: InputStore): { inputs: PortInputs; end(): void } {
  const line = new MessageChannel();
  store.attach(line.port1);
  const inputs = new PortInputs(line.port2);
  return { inputs, end: () => inputs.close() };
}

test('toShared moves typed arrays (nested in objects and arrays) into shared memory and keeps the rest', () => {
  const v = toShared({ n: 3, name: 'x', xyz: new Float64Array([1, 2, 3]), parts: [{ map: new Uint8Array([4, 5]) }], none: null });
  assert.ok(v.xyz.buffer instanceof SharedArrayBuffer);
  assert.ok(v.parts[0]!.map.buffer instanceof SharedArrayBuffer);
  assert.deepEqual([...v.xyz], [1, 2, 3]);
  assert.deepEqual([...v.parts[0]!.map], [4, 5]);
  assert.equal(v.name, 'x');
  assert.equal(v.none, null);
  assert.equal(sharedBytes(v), 24 + 2);
  assert.equal(toShared(v).xyz, v.xyz, 'already shared: kept as is');
});

test('two workers asking at once: one builds, the other gets the same memory', async () => {
  const store = new InputStore(2 ** 20);
  const [a, b] = [client(store), client(store)];
  let builds = 0;
  const k = key('gen');
  const build = (): { xyz: Float64Array } => {
    builds++;
    return { xyz: new Float64Array([1, 2, 3]) };
  };
  const [va, vb] = await Promise.all([a.inputs.get(k, build), b.inputs.get(k, build)]);
  assert.equal(builds, 1);
  assert.ok(va.xyz.buffer instanceof SharedArrayBuffer && vb.xyz.buffer instanceof SharedArrayBuffer);
  va.xyz[0] = 42;
  assert.equal(vb.xyz[0], 42, 'one memory, not two copies');
  assert.deepEqual(store.stats, { entries: 1, bytes: 24, hits: 0, builds: 1, waits: 1 });
  // A bundle on another thread later: a hit from the store.
  const line = new MessageChannel();
  store.attach(line.port1);
  line.port2.postMessage({ op: 'get', id: 9, key: k });
  const got = (await new Promise((resolve) => line.port2.once('message', resolve))) as { op: string; id: number; value: { xyz: Float64Array } };
  assert.deepEqual([got.op, got.id, got.value.xyz[0]], ['got', 9, 42]);
  assert.equal(store.stats.hits, 1);
  line.port2.close();
  a.end();
  b.end();
});

test('a builder that fails hands the build to a waiter; one whose bundle ends does too', async () => {
  const store = new InputStore(2 ** 20);
  const [a, b] = [client(store), client(store)];
  const k = key('bad');
  const failing = a.inputs.get(k, () => {
    throw new Error('record 7 is malformed');
  });
  const waiting = b.inputs.get(k, () => ({ ok: new Int32Array([7]) }));
  await assert.rejects(failing, /malformed/);
  assert.deepEqual([...(await waiting).ok], [7]);
  assert.equal(store.stats.builds, 1);

  // The builder's bundle ends (thread died, aborted) before it puts: the waiter is not left hanging.
  const c = client(store);
  const k2 = key('orphan');
  const line = new MessageChannel();
  store.attach(line.port1);
  line.port2.postMessage({ op: 'get', id: 1, key: k2 });
  const claimed = await new Promise((resolve) => line.port2.once('message', resolve));
  assert.deepEqual(claimed, { op: 'build', id: 1 });
  const orphanWait = c.inputs.get(k2, () => ({ v: new Float32Array([1.5]) }));
  await until('c waiting for the orphaned build', () => store.stats.waits === 2);
  line.port2.close();
  assert.deepEqual([...(await orphanWait).v], [1.5]);
  for (const x of [a, b, c]) x.end();
});

test('a store that never answers: the worker builds the input itself after its patience, and puts nothing', async () => {
  const line = new MessageChannel();
  const seen: unknown[] = [];
  line.port1.on('message', (m) => seen.push(m));
  const inputs = new PortInputs(line.port2, 50);
  const k = key('silent');
  const v = await inputs.get(k, () => ({ v: new Int16Array([3]) }));
  assert.deepEqual([...v.v], [3]);
  // A port delivers in order: once a mark sent now has arrived, so has anything the worker sent before it.
  line.port2.postMessage({ op: 'mark' });
  await until('the mark to arrive', () => seen.some((m) => (m as { op: string }).op === 'mark'));
  assert.deepEqual(seen.filter((m) => (m as { op: string }).op !== 'mark'), [{ op: 'get', id: 1, key: k }], 'asked once; no put for a build the store did not hand out');
  inputs.close();
  line.port1.close();
});

test('the store keeps at most its byte budget, least recently used out first', async () => {
  const store = new InputStore(100);
  const a = client(store);
  const [k1, k2, k3, big] = [key('k1'), key('k2'), key('k3'), key('big')];
  await a.inputs.get(k1, () => ({ v: new Uint8Array(40) }));
  await a.inputs.get(k2, () => ({ v: new Uint8Array(40) }));
  await a.inputs.get(k3, () => ({ v: new Uint8Array(40) }));
  assert.deepEqual({ entries: store.stats.entries, bytes: store.stats.bytes }, { entries: 2, bytes: 80 });
  await a.inputs.get(big, () => ({ v: new Uint8Array(500) }));
  assert.equal(store.stats.bytes, 80, 'an input over the whole budget is not kept');
  a.end();
});

test('conformers blocks of one molecule on three worker threads: its inputs are built once per agent, results as without sharing', async () => {
  const p = conformersKind.params({ ref: fixture('conformers', 'ref.sdf'), gen: fixture('conformers', 'gen.sdf'), blockRows: '1' });
  const specs = await conformersKind.expand(p, { slots: 3, job: 'share', info: () => {} });
  // The molecule with the most blocks, dealt round-robin to three bundles that run at once.
  const byMol = new Map<string, typeof specs>();
  for (const t of specs) byMol.set(t.id.split('#')[0]!, [...(byMol.get(t.id.split('#')[0]!) ?? []), t]);
  const blocks = [...byMol.values()].sort((a, b) => b.length - a.length)[0]!;
  assert.ok(blocks.length >= 3, `a molecule with at least 3 blocks (got ${blocks.length})`);

  const run = async (inputCacheMb: number, job: string): Promise<{ values: Map<string, unknown>; stats: unknown }> => {
    const pool = new WorkerPool({ workers: 3, recycleAfter: 0, workerHeapMb: 0, handlers: [], inputCacheMb });
    try {
      const deal = [0, 1, 2].map((w) => blocks.filter((_, i) => i % 3 === w));
      const ends = await Promise.all(
        deal.map((tasks) => {
          const input = {
            job, kind: 'conformers', params: p, threads: 1, agent: 'a', host: 'h',
            tasks: tasks.map((t) => ({ id: t.id, attempt: 1, cost: t.cost, final: true, ref: t.ref })),
            flags: new Int32Array(new SharedArrayBuffer(4 * (tasks.length + 2))),
          };
          return pool.run(input, new AbortController().signal);
        }),
      );
      const values = new Map<string, unknown>();
      for (const end of ends) {
        assert.equal(end.kind, 'done', JSON.stringify(end));
        if (end.kind !== 'done') continue;
        const g = end.out.group;
        g.ids.forEach((id, i) => values.set(id, (JSON.parse(taskText(g, i)) as { value: unknown }).value));
      }
      return { values, stats: pool.inputs?.stats ?? null };
    } finally {
      await pool.close();
    }
  };
  const shared = await run(64, 'share-on');
  const alone = await run(0, 'share-off');
  assert.equal(shared.values.size, blocks.length);
  assert.deepEqual(shared.values, alone.values, 'the same values with and without sharing');
  const st = shared.stats as { builds: number; entries: number; hits: number; waits: number };
  // Topology, symmetry mappings and generated conformers: each built once for the three threads.
  assert.equal(st.builds, 3, JSON.stringify(st));
  assert.equal(st.entries, 3);
  assert.ok(st.hits + st.waits >= 2 * 3, `the other two threads got all three from the store: ${JSON.stringify(st)}`);
  assert.equal(alone.stats, null);
});
