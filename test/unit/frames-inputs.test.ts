/**
 * Node-level sharing of the frames kind's parsed inputs: the atoms (from the topology) and the
 * rmsd reference are built once per agent and shared by its worker threads through the agent's
 * input store, with the same values as without a store; the atom info is plain data whose
 * messages still name the atom.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { WorkerPool } from '../../agents/pool.js';
import { framesKind, type FramesParams } from '../../src/kinds/frames/index.js';
import { atomLabel, atomRadii, checkAtoms, loadAtoms, type AtomInfo } from '../../src/kinds/frames/atoms.js';
import { inspectTrajectory, spansFor } from '../../src/kinds/frames/source.js';
import { sharedBytes, toShared, type InputCache } from '../../src/kinds/inputs.js';
import type { TaskSpec } from '../../src/kinds/types.js';
import { fixture } from '../helpers/paths.js';

const F = (name: string): string => fixture('frames', name);
const dir = mkdtempSync(join(tmpdir(), 'shoal-frames-inputs-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const runCtx = (job: string, task: string, inputs?: InputCache) => ({ signal: new AbortController().signal, threads: 1, attempt: 1, job, task, ...(inputs ? { inputs } : {}) });

/** Frame → value of a whole job run in this thread (no store: the per-thread cache). */
async function direct(p: FramesParams, tasks: TaskSpec[], job: string, inputs?: InputCache): Promise<Map<number, unknown>> {
  const values = new Map<number, unknown>();
  for (const t of tasks) {
    const out = await framesKind.run(t.ref, p, runCtx(job, t.id, inputs));
    assert.ok('records' in out);
    for (const r of out.records) values.set(r.index, r.error ? { error: r.error } : JSON.parse(JSON.stringify(r.value)));
  }
  return values;
}

/**
 * Runs the tasks as three bundles at once on the pool (round-robin), the way an agent hands
 * them to its worker threads; frame → value from the rendered rows.
 */
async function onPool(pool: WorkerPool, p: FramesParams, tasks: TaskSpec[], job: string): Promise<Map<number, unknown>> {
  const deal = [0, 1, 2].map((w) => tasks.filter((_, i) => i % 3 === w));
  const ends = await Promise.all(
    deal.map((bundle) =>
      pool.run(
        {
          job, kind: 'frames', params: p, threads: 1, agent: 'a', host: 'h',
          tasks: bundle.map((t) => ({ id: t.id, attempt: 1, cost: t.cost, final: true, ref: t.ref })),
          flags: new Int32Array(new SharedArrayBuffer(4 * (bundle.length + 2))),
        },
        new AbortController().signal,
      ),
    ),
  );
  const values = new Map<number, unknown>();
  for (const end of ends) {
    assert.equal(end.kind, 'done', JSON.stringify(end));
    if (end.kind !== 'done') continue;
    for (const line of end.out.group.text.split('\n').filter((l) => l !== '')) {
      const row = JSON.parse(line) as { index: number; status: string; value?: unknown; error?: unknown };
      values.set(row.index, row.status === 'ok' ? row.value : { error: row.error });
    }
  }
  return values;
}

test('frames chunks on three worker threads: atoms and rmsd reference built once per agent, values as without sharing', async () => {
  // Copies, so that the topology can change under the second round.
  const traj = join(dir, 'traj.dcd');
  const top = join(dir, 'top.pdb');
  copyFileSync(F('traj.dcd'), traj);
  copyFileSync(F('top.pdb'), top);
  const p = framesKind.params({ traj, top, analyses: 'rg,rg_mass,cog,com,rmsd', select: 'heavy', chunk: '1' });
  const tasks = await framesKind.expand(p, { slots: 3, job: 'frames-share', info: () => {} });
  assert.equal(tasks.length, 12);

  const shared = new WorkerPool({ workers: 3, recycleAfter: 0, workerHeapMb: 0, handlers: [], inputCacheMb: 64 });
  const alone = new WorkerPool({ workers: 3, recycleAfter: 0, workerHeapMb: 0, handlers: [], inputCacheMb: 0 });
  try {
    const withStore = await onPool(shared, p, tasks, 'frames-share');
    const withoutStore = await onPool(alone, p, tasks, 'frames-share');
    const here = await direct(p, tasks, 'frames-share-here');
    assert.equal(withStore.size, 12);
    assert.ok([...withStore.values()].every((v) => typeof (v as { rmsd?: unknown }).rmsd === 'number'), JSON.stringify([...withStore]));
    assert.deepEqual(withStore, withoutStore, 'the same values with and without the store');
    assert.deepEqual(withStore, here, 'the same values as in one thread');
    // Three bundles, each asking the store once per input: the atoms and the reference built
    // once each, the other two bundles served from the store (or waiting for the build).
    const st = shared.inputs!.stats;
    assert.deepEqual({ builds: st.builds, entries: st.entries, served: st.hits + st.waits }, { builds: 2, entries: 2, served: 4 }, JSON.stringify(st));
    assert.ok(st.bytes >= 108 * 8, `the masses at least are in shared memory: ${JSON.stringify(st)}`);
    assert.equal(alone.inputs, null);

    // The topology changes (same size, new mtime): hydrogens become carbons. The same job on
    // the same agent must not be served the old atoms or reference.
    const before = readFileSync(top, 'latin1');
    const changedTop = before.replace(/ {11}H {2}$/gm, '           C  ');
    assert.ok(changedTop !== before && changedTop.length === before.length);
    writeFileSync(top, changedTop, 'latin1');
    utimesSync(top, new Date(), new Date(Date.now() + 5000));
    const changed = await onPool(shared, p, tasks, 'frames-share');
    assert.equal(shared.inputs!.stats.builds, 4, JSON.stringify(shared.inputs!.stats));
    assert.notDeepEqual(changed, withStore, 'masses and heavy atoms changed, so did the values');
    assert.deepEqual(changed, await direct(p, tasks, 'frames-share-changed'));
  } finally {
    await Promise.all([shared.close(), alone.close()]);
  }
});

/** An input cache like the agent's: builds once, stores in shared memory, hands out structured clones. */
function cloningInputs(): InputCache & { keys: string[]; builds: number } {
  const stored = new Map<string, unknown>();
  return {
    keys: [],
    builds: 0,
    get<T>(key: string, build: () => T): Promise<T> {
      this.keys.push(key);
      if (!stored.has(key)) {
        this.builds++;
        stored.set(key, toShared(build()));
      }
      return Promise.resolve(structuredClone(stored.get(key)) as T);
    },
  };
}

test('atom info is plain data: it survives toShared and structured clone, and its messages still name the atom', async () => {
  const p = framesKind.params({ traj: F('traj.dcd'), top: F('top.pdb'), analyses: 'rg,com,rmsd', select: 'heavy' });
  const info = loadAtoms(p, 108, []);
  const clone = structuredClone(toShared(info)); // throws DataCloneError on a function
  assert.deepEqual(clone, info);
  for (const a of [clone.element, clone.masses!, clone.all, clone.heavy, clone.labelText, clone.labelEnds]) assert.ok(a.buffer instanceof SharedArrayBuffer);
  // element, masses, all, label ends (per atom), the heavy atoms and the label text.
  assert.equal(sharedBytes(clone), 108 * (2 + 8 + 4 + 4) + 4 * clone.heavy.length + clone.labelText.length);
  assert.equal(atomLabel(clone, 0), 'atom 1 (N GLY 1)');
  assert.equal(atomLabel(clone, 2), 'atom 3 (CA GLY 1)');
  assert.deepEqual([atomLabel(clone, 107), atomLabel(clone, 107)], [atomLabel(info, 107), atomLabel(info, 107)]);

  // Unknown elements and missing radii, the messages naming file, atom and element; in a PDB
  // and in an XYZ whose token is not ASCII.
  const line = (name: string, el: string, x: number): string =>
    `HETATM    1 ${name} LIG A   1    ${x.toFixed(3).padStart(8)}   0.000   0.000  1.00  0.00          ${el.padStart(2)}`;
  const odd = join(dir, 'odd.pdb');
  writeFileSync(odd, [line(' C1 ', 'C', 0), line('  12', '', 2), 'END', ''].join('\n'));
  const iron = join(dir, 'iron.pdb');
  writeFileSync(iron, [line('FE  ', 'FE', 0), line(' C1 ', 'C', 3), 'END', ''].join('\n'));
  const weird = join(dir, 'weird.xyz');
  writeFileSync(weird, '2\ncomment\nC 0 0 0\nXé 1 0 0\n', 'latin1');
  const viaClone = (traj: string, analyses: string): [AtomInfo, FramesParams] => {
    const q = framesKind.params({ traj, analyses });
    const layout = inspectTrajectory(q);
    return [structuredClone(toShared(loadAtoms(q, layout.nAtoms, spansFor(layout.ranges!, 0, 0, [])))), q];
  };
  const [oddInfo, oddCom] = viaClone(odd, 'com');
  assert.throws(() => checkAtoms(oddInfo, oddCom), { code: 'E_INPUT', message: 'odd.pdb atom 2 (12 LIG 1): unknown element; com need masses' });
  assert.throws(() => atomRadii(oddInfo, {}), { code: 'E_INPUT', message: 'odd.pdb atom 2 (12 LIG 1): unknown element, so no zeno radius' });
  const [ironInfo, ironZeno] = viaClone(iron, 'zeno');
  assert.throws(() => checkAtoms(ironInfo, ironZeno), { code: 'E_INPUT', message: 'iron.pdb atom 1 (FE LIG 1): no default radius for Fe; give one with --radii Fe=R' });
  assert.deepEqual([...atomRadii(ironInfo, { Fe: 2 })], [2, atomRadii(ironInfo, { Fe: 2, C: 1.7 })[1]]);
  const [weirdInfo, weirdCom] = viaClone(weird, 'com');
  assert.throws(() => checkAtoms(weirdInfo, weirdCom), { code: 'E_INPUT', message: 'weird.xyz atom 2 (Xé): unknown element; com need masses' });

  // A whole job through a store-like cache that hands out clones: the same records, each input
  // built once; keys name the job, the files and their stamps.
  const tasks = await framesKind.expand({ ...p, chunk: 4 }, { slots: 2, job: 'clones', info: () => {} });
  const cache = cloningInputs();
  const cloned = await direct({ ...p, chunk: 4 }, tasks, 'clones', cache);
  assert.deepEqual(cloned, await direct({ ...p, chunk: 4 }, tasks, 'clones-plain'));
  assert.equal(cache.builds, 2);
  assert.equal(new Set(cache.keys).size, 2);
  for (const k of new Set(cache.keys)) assert.ok(k.includes('clones') && k.includes(F('top.pdb')) && k.includes('108'), k);
  assert.ok(cache.keys.some((k) => k.includes(F('traj.dcd')) && k.includes('heavy')), cache.keys.join('\n'));
  await direct({ ...p, chunk: 4 }, tasks, 'clones-again', cache);
  assert.equal(cache.builds, 4, 'another job does not reuse the inputs');
});
