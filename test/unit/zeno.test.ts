import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { DcdReader } from '../../src/io/dcd.js';
import { elementBySymbol } from '../../src/io/elements.js';
import { readPdbTopology } from '../../src/io/pdb.js';
import { blockStream, SplitMix64, streamKey, Xoshiro128 } from '../../src/kinds/frames/rng.js';
import { blockCount, prepareZeno, walksInBlock, zenoEstimate, zenoSerial, ZENO_BLOCK } from '../../src/kinds/frames/zeno.js';
import { gridDistance } from '../../src/kinds/frames/zeno-grid.js';
import { shutdownZenoHelpers, zenoHelperCount, zenoThreaded } from '../../src/kinds/frames/zeno-threads.js';
import { fixture } from '../helpers/paths.js';

after(() => shutdownZenoHelpers());

/** The fixture's frame 0 as spheres with default radii (108 atoms: the grid path). */
function fixtureBody(): { centres: Float64Array; radii: number[] } {
  const radii = readPdbTopology(fixture('frames', 'top.pdb')).atoms.map((a) => elementBySymbol(a.element!)!.radius!);
  const r = DcdReader.open(fixture('frames', 'traj.dcd'));
  const centres = new Float64Array(3 * r.nAtoms);
  r.readFrame(0, centres);
  r.close();
  return { centres, radii };
}

function withinThreeSigma(got: { capacitance: number; capacitance_err: number }, exact: number): void {
  const z = (got.capacitance - exact) / got.capacitance_err;
  assert.ok(Math.abs(z) < 3, `C = ${got.capacitance} ± ${got.capacitance_err}, exact ${exact} (${z.toFixed(2)} σ)`);
}

test('SplitMix64 and xoshiro128** match independent reference outputs', () => {
  // SplitMix64 from state 0 (the value published with the algorithm).
  assert.equal(new SplitMix64(0n).next(), 0xe220a8397b1dcdafn);
  // xoshiro128** seeded through SplitMix64(12345), computed with an independent Python implementation.
  const g = Xoshiro128.fromKey(12345n);
  assert.deepEqual(Array.from({ length: 5 }, () => g.nextU32()), [2314518269, 2498321016, 2055377852, 4042509560, 1267802836]);
  const d = Xoshiro128.fromKey(1n);
  for (let i = 0; i < 1000; i++) {
    const u = d.nextDouble();
    assert.ok(u >= 0 && u < 1);
  }
});

test('streams differ for neighbouring (seed, frame, block) keys', () => {
  const keys = new Set<bigint>();
  for (let s = 0; s < 4; s++) for (let f = 0; f < 4; f++) for (let b = 0; b < 4; b++) keys.add(streamKey(s, f, b));
  assert.equal(keys.size, 64);
  assert.notEqual(blockStream(1, 0, 1).nextU32(), blockStream(1, 1, 0).nextU32());
});

test('blocks: count and sizes', () => {
  assert.equal(blockCount(1), 1);
  assert.equal(blockCount(ZENO_BLOCK), 1);
  assert.equal(blockCount(ZENO_BLOCK + 1), 2);
  assert.equal(walksInBlock(ZENO_BLOCK + 5, 1), 5);
  assert.equal(walksInBlock(3 * ZENO_BLOCK, 2), ZENO_BLOCK);
  const e = zenoEstimate(2, 500, 1000);
  assert.equal(e.capacitance, 1);
  assert.ok(Math.abs(e.capacitance_err - 2 * Math.sqrt(0.25 / 1000)) < 1e-15);
});

test('a sphere whose launch sphere is itself: every walk hits, C = a exactly', () => {
  const p = prepareZeno([3, -2, 5], [1.7], { tolerance: 1e-4 });
  assert.equal(p.R, 1.7);
  const r = zenoSerial(p, 1, 0, 10_000);
  assert.equal(r.capacitance, 1.7);
  assert.equal(r.capacitance_err, 0);
});

test('one sphere, launch sphere twice its radius: C = a within 3 σ at 10^6 walks', async () => {
  const a = 1.3;
  const p = prepareZeno([0.5, 1, -2], [a], { tolerance: 1e-4, launchScale: 2 });
  assert.ok(Math.abs(p.R - 2 * a) < 1e-12);
  const r = await zenoThreaded(p, 11, 0, 1_000_000, 2);
  assert.equal(r.walks, 1_000_000);
  withinThreeSigma(r, a);
  assert.ok(r.capacitance_err < 0.002 * a, 'the error bar is the binomial one (about a/1000 here)');
});

test('two touching spheres: C = 2a ln 2 within 3 σ at 10^6 walks', async () => {
  const a = 1.5;
  const p = prepareZeno([-a, 0, 0, a, 0, 0], [a, a], { tolerance: 1e-4 });
  const r = await zenoThreaded(p, 5, 0, 1_000_000, 2);
  withinThreeSigma(r, 2 * a * Math.LN2);
});

test('two touching spheres through the grid search agree with the exact value too', async () => {
  const p = prepareZeno([0, 0, -1, 0, 0, 1], [1, 1], { tolerance: 1e-4, search: 'grid' });
  assert.notEqual(p.grid, null);
  withinThreeSigma(await zenoThreaded(p, 3, 0, 400_000, 2), 2 * Math.LN2);
});

test('results are bitwise identical for threads 1, 2 and 4 (and the serial path)', async () => {
  const { centres, radii } = fixtureBody();
  const p = prepareZeno(centres, radii, { tolerance: 1e-4 });
  assert.notEqual(p.grid, null);
  const walks = 9 * ZENO_BLOCK + 123; // a short last block too
  const serial = zenoSerial(p, 42, 7, walks);
  for (const threads of [1, 2, 4]) {
    assert.deepEqual(await zenoThreaded(p, 42, 7, walks, threads), serial, `threads ${threads}`);
  }
  assert.ok(zenoHelperCount() >= 3, 'helpers are cached for the next frame');
  // Another frame number draws other streams.
  assert.notDeepEqual(zenoSerial(p, 42, 8, walks), serial);
  const two = prepareZeno([-1, 0, 0, 1, 0, 0], [1, 1], { tolerance: 1e-4 });
  assert.deepEqual(await zenoThreaded(two, 1, 0, 20_000, 4), zenoSerial(two, 1, 0, 20_000));
});

test('two frames on one thread at once do not share helpers', async () => {
  const { centres, radii } = fixtureBody();
  const p = prepareZeno(centres, radii, { tolerance: 1e-3 });
  const walks = 8 * ZENO_BLOCK;
  const [a, b] = await Promise.all([zenoThreaded(p, 1, 0, walks, 3), zenoThreaded(p, 1, 1, walks, 3)]);
  assert.deepEqual(a, zenoSerial(p, 1, 0, walks));
  assert.deepEqual(b, zenoSerial(p, 1, 1, walks));
});

test('helpers killed in the middle of a frame: their blocks are recomputed, same result', async () => {
  const { centres, radii } = fixtureBody();
  const p = prepareZeno(centres, radii, { tolerance: 1e-3 });
  const walks = 12 * ZENO_BLOCK;
  await zenoThreaded(p, 4, 1, 2 * ZENO_BLOCK, 3); // helpers started and idle
  // The call posts the work and runs its first block before yielding, so by the time the
  // helpers are terminated they are inside blocks of their own.
  const running = zenoThreaded(p, 4, 2, walks, 3);
  await shutdownZenoHelpers();
  assert.deepEqual(await running, zenoSerial(p, 4, 2, walks));
  assert.equal(zenoHelperCount(), 0);
});

test('the grid gives a lower bound on the distance, exact below its cutoff', () => {
  const { centres, radii } = fixtureBody();
  const p = prepareZeno(centres, radii, { tolerance: 1e-4, search: 'grid' });
  const g = p.grid!;
  const rng = Xoshiro128.fromKey(99n);
  let exactChecks = 0;
  for (let k = 0; k < 20_000; k++) {
    const x = p.cx + (2 * rng.nextDouble() - 1) * 1.2 * p.R;
    const y = p.cy + (2 * rng.nextDouble() - 1) * 1.2 * p.R;
    const z = p.cz + (2 * rng.nextDouble() - 1) * 1.2 * p.R;
    let truth = Infinity;
    for (let i = 0; i < p.n; i++) {
      truth = Math.min(truth, Math.hypot(x - p.centres[3 * i]!, y - p.centres[3 * i + 1]!, z - p.centres[3 * i + 2]!) - p.radii[i]!);
    }
    const bound = gridDistance(g, p.centres, p.radii, x, y, z);
    assert.ok(bound <= truth + 1e-12, `bound ${bound} above the distance ${truth}`);
    if (truth < g.cutoff) {
      exactChecks++;
      assert.ok(Math.abs(bound - truth) < 1e-12, `not exact near the body: ${bound} vs ${truth}`);
    }
  }
  assert.ok(exactChecks > 100, 'some points fell near the body');
});

test('empty cells know their Chebyshev distance to the nearest listed cell', () => {
  const p = prepareZeno([0, 0, 0, 6, 1, -2], [1, 0.5], { tolerance: 1e-4, search: 'grid' });
  const g = p.grid!;
  const listed: [number, number, number][] = [];
  const cell = (ix: number, iy: number, iz: number): number => (iz * g.ny + iy) * g.nx + ix;
  for (let iz = 0; iz < g.nz; iz++) for (let iy = 0; iy < g.ny; iy++) for (let ix = 0; ix < g.nx; ix++) {
    const c = cell(ix, iy, iz);
    if (g.cellStart[c + 1]! > g.cellStart[c]!) listed.push([ix, iy, iz]);
  }
  assert.ok(listed.length > 0);
  for (let iz = 0; iz < g.nz; iz++) for (let iy = 0; iy < g.ny; iy++) for (let ix = 0; ix < g.nx; ix++) {
    const c = cell(ix, iy, iz);
    if (g.cellStart[c + 1]! > g.cellStart[c]!) continue;
    let best = Infinity;
    for (const [jx, jy, jz] of listed) best = Math.min(best, Math.max(Math.abs(ix - jx), Math.abs(iy - jy), Math.abs(iz - jz)));
    assert.equal(g.emptyRing[c], best, `cell ${ix},${iy},${iz}`);
  }
});

test('an aborted signal stops the walks with E_ABORTED', async () => {
  const p = prepareZeno([0, 0, 0], [1], { tolerance: 1e-4, launchScale: 3 });
  const ac = new AbortController();
  ac.abort();
  await assert.rejects(zenoThreaded(p, 1, 0, 100_000, 2, ac.signal), (err: unknown) => (err as { code?: string }).code === 'E_ABORTED');
});

test('bad spheres are refused', () => {
  assert.throws(() => prepareZeno([], [], { tolerance: 1e-4 }), RangeError);
  assert.throws(() => prepareZeno([0, 0, 0], [0], { tolerance: 1e-4 }), RangeError);
  assert.throws(() => prepareZeno([0, 0], [1], { tolerance: 1e-4 }), RangeError);
});
