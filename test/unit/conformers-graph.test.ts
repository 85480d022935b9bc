/**
 * Generated conformers whose atoms are in another order than the reference's (as generative
 * models write them), matched by the molecular graph: RDKit's GetBestRMS on the renumbered
 * records (permuted_expected.json, from make_fixtures.py), the same metrics as the records in
 * the reference's order, records that are not the reference's graph left out with the reason,
 * and the same figures split or not.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { toWireError } from '../../src/errors.js';
import { conformersKind, type ConformersParams, type ConformersSummary, type ConformersValue } from '../../src/kinds/conformers/index.js';
import { EXCLUDED_LISTED } from '../../src/kinds/conformers/run.js';
import { moleculeTaskId, splitConformersTask } from '../../src/kinds/conformers/expand.js';
import { matchOrder } from '../../src/kinds/conformers/graph-match.js';
import { matchTarget } from '../../src/kinds/conformers/graph-search.js';
import type { HeavyMolecule } from '../../src/kinds/conformers/heavy.js';
import type { Row, TaskSpec } from '../../src/kinds/types.js';
import { fixture } from '../helpers/paths.js';

interface PermutedExpected {
  thresholds: number[];
  per_conformer: string[];
  molecules: Record<string, { n_ref: number; n_gen: number; rmsd: Record<'default' | 'strict', number[][]> }>;
  errors: Record<string, { file: string; record: number; line: number; index: number; says: string }>;
}
const expected = JSON.parse(readFileSync(fixture('conformers', 'permuted_expected.json'), 'utf8')) as PermutedExpected;

function params(gen: string, extra: Record<string, unknown> = {}): ConformersParams {
  return conformersKind.params({ ref: fixture('conformers', 'ref.sdf'), gen: fixture('conformers', gen), threshold: expected.thresholds.join(','), ...extra });
}

async function runAll(p: ConformersParams, tasks: TaskSpec[]): Promise<Row[]> {
  const rows: Row[] = [];
  for (const t of tasks) {
    const base = { job: 'graph', task: t.id, kind: 'conformers', attempt: 1 };
    try {
      const out = await conformersKind.run(structuredClone(t.ref), p, { signal: new AbortController().signal, threads: 1, attempt: 1, job: 'graph', task: t.id });
      rows.push(JSON.parse(JSON.stringify({ ...base, status: 'ok', value: (out as { value: unknown }).value })) as Row);
    } catch (err) {
      const { code, message } = toWireError(err);
      rows.push({ ...base, status: 'error', error: { code, message } });
    }
  }
  return rows;
}

async function summarize(p: ConformersParams, rows: Row[]): Promise<ConformersSummary> {
  async function* all(): AsyncIterable<Row> {
    yield* [...rows].reverse();
  }
  return (await conformersKind.summarize(all(), p)) as ConformersSummary;
}

async function job(p: ConformersParams): Promise<{ tasks: TaskSpec[]; rows: Row[]; summary: ConformersSummary }> {
  const tasks = await conformersKind.expand(p, { slots: 2, job: 'graph', info: () => {} });
  const rows = await runAll(p, tasks);
  return { tasks, rows, summary: await summarize(p, rows) };
}

const valueOf = (rows: Row[], key: string): ConformersValue => {
  const row = rows.find((r) => r.task === moleculeTaskId(key))!;
  assert.equal(row.status, 'ok', `${key}: ${JSON.stringify(row.error)}`);
  return row.value as ConformersValue;
};

describe('conformers matched by graph', () => {
  for (const mode of ['default', 'strict'] as const) {
    it(`gives GetBestRMS on renumbered records, and the metrics of the records in the reference's order (symmetry ${mode})`, async () => {
      const symmetry = mode === 'default' ? true : 'strict';
      const permuted = await job(params('permuted_gen.sdf', { symmetry, matrix: true }));
      const ordered = await job(params('gen.sdf', { symmetry }));
      assert.equal(permuted.summary.failed, 0, JSON.stringify(permuted.summary.failures));
      for (const [key, exp] of Object.entries(expected.molecules)) {
        const v = valueOf(permuted.rows, key);
        assert.equal(v.symmetry.match, 'graph');
        assert.deepEqual([v.n_ref, v.n_gen], [exp.n_ref, exp.n_gen], key);
        v.matrix!.forEach((row, i) => row.forEach((x, j) => assert.ok(Math.abs(x - exp.rmsd[mode][i]![j]!) <= 1e-4, `${key}[${i}][${j}]: ${x} vs RDKit ${exp.rmsd[mode][i]![j]}`)));
        // Matched once per distinct atom order: one for the molecule, or one per conformer.
        assert.equal(v.symmetry.orders, expected.per_conformer.includes(key) ? exp.n_gen : 1, key);
        const m = permuted.summary.molecules[key]!;
        const o = ordered.summary.molecules[key]!;
        assert.deepEqual([m.n_ref, m.n_gen, m.heavy_atoms, m.metrics], [o.n_ref, o.n_gen, o.heavy_atoms, o.metrics], `${key}: the same figures as in the reference's order`);
      }
    });
  }

  it('leaves out a record with a bond changed and one with an atom missing, saying what differs; the others are evaluated', async () => {
    const { rows, summary } = await job(params('permuted_gen.sdf', { symmetry: true }));
    for (const [key, e] of Object.entries(expected.errors)) {
      const v = valueOf(rows, key);
      assert.equal(v.n_excluded, 1, key);
      assert.equal(v.n_gen, expected.molecules[key]!.n_gen, `${key}: the other conformers are evaluated`);
      const [x] = v.excluded!;
      assert.deepEqual([x!.index, x!.record, x!.line], [e.index, e.record, e.line], key);
      for (const part of [e.file, `#${e.record}`, `line ${e.line}`, 'ref.sdf record #', e.says]) assert.ok(x!.message.includes(part), `${key}: '${x!.message}' should mention '${part}'`);
      assert.equal(summary.molecules[key]!.excluded, 1);
    }
    assert.match(valueOf(rows, 'ibuprofen').excluded![0]!.message, /heavy atom \d+, C\(.*\), has no counterpart/);

    // Many left out: the row lists the first EXCLUDED_LISTED, n_excluded counts them all.
    const bad = expected.errors.ibuprofen!;
    const records = readFileSync(fixture('conformers', 'permuted_gen.sdf'), 'utf8').split('$$$$\n');
    const many = join(mkdtempSync(join(tmpdir(), 'shoal-excluded-')), 'many.sdf');
    writeFileSync(many, [...records.slice(0, -1), ...Array.from({ length: EXCLUDED_LISTED + 5 }, () => records[bad.record - 1]!)].join('$$$$\n') + '$$$$\n');
    const flood = await job({ ...params('permuted_gen.sdf', { symmetry: true }), gen: many });
    const v = valueOf(flood.rows, 'ibuprofen');
    assert.equal(v.n_excluded, EXCLUDED_LISTED + 6);
    assert.equal(v.excluded!.length, EXCLUDED_LISTED);
    assert.equal(v.n_gen, expected.molecules.ibuprofen!.n_gen, 'the others are still evaluated');
    assert.equal(valueOf(rows, 'aspirin').n_excluded, 0);
    assert.equal(valueOf(rows, 'aspirin').excluded, undefined);
    assert.equal(summary.excluded, 2);
    assert.deepEqual(summary.exclusions.map((e) => [e.key, e.count]), [['ibuprofen', 1], ['paracetamol', 1]]);
    assert.ok(conformersKind.describeSummary!(summary).some((l) => l.includes('2 generated conformer(s) of 2 molecule(s) left out') && l.includes('ibuprofen')));
  });

  it('gives the same figures split into blocks, halved while dispatching, and whole', async () => {
    const whole = await job(params('permuted_gen.sdf', { symmetry: true, blockRows: '0' }));
    for (const blockRows of ['1', '2']) {
      const split = await job(params('permuted_gen.sdf', { symmetry: true, blockRows }));
      assert.ok(split.tasks.length > whole.tasks.length);
      assert.deepEqual(split.summary, whole.summary, `blocks of ${blockRows}`);
    }
    const halve = (t: TaskSpec): TaskSpec[] => {
      const h = splitConformersTask(t, 1);
      return h === null ? [t] : h.flatMap((x, k) => halve({ ...x, id: `${t.id}/${k}` }));
    };
    const p = params('permuted_gen.sdf', { symmetry: true, blockRows: '0' });
    const halves = await runAll(p, whole.tasks.flatMap(halve));
    assert.ok(halves.some((r) => r.task === 'mol_ibuprofen/0/1'));
    assert.deepEqual(await summarize(p, halves), whole.summary);
  });

  it('applies the mapping cap to the reference\'s mappings and to an order\'s own, and reports it', async () => {
    const { rows } = await job(params('permuted_gen.sdf', { symmetry: true, maxMatches: '2' }));
    assert.deepEqual(valueOf(rows, 'tbu_cf3_anilide').symmetry, { mode: 'default', match: 'graph', mappings: 2, capped: true, orders: 1 }, '72 of the reference\'s own');
    assert.deepEqual(valueOf(rows, 'caffeine').symmetry, { mode: 'default', match: 'graph', mappings: 1, capped: false, orders: 4 });
    // phenylacetate's neutralized record (its first) alone: no mapping keeps every charge, so
    // its order has mappings of its own (4, the carboxylate oxygens and the ring flip).
    const neutral = async (maxMatches: string): Promise<ConformersValue['symmetry']> => {
      const p = params('permuted_gen.sdf', { symmetry: true, maxMatches });
      const [task] = (await conformersKind.expand(p, { slots: 1, job: 'graph', info: () => {} })).filter((t) => t.id === 'mol_phenylacetate');
      const ref = structuredClone(task!.ref) as { gen: { ranges: unknown[] } };
      ref.gen.ranges = ref.gen.ranges.slice(0, 1);
      return valueOf(await runAll(p, [{ ...task!, ref }]), 'phenylacetate').symmetry;
    };
    assert.deepEqual(await neutral('2'), { mode: 'default', match: 'graph', mappings: 2, capped: true, orders: 1 });
    assert.deepEqual(await neutral('1000'), { mode: 'default', match: 'graph', mappings: 4, capped: false, orders: 1 });
  });

  it('keeps matching by index without --symmetry, saying how to match atoms in another order', async () => {
    const { rows } = await job(params('permuted_gen.sdf'));
    for (const key of Object.keys(expected.molecules)) {
      const row = rows.find((r) => r.task === moleculeTaskId(key))!;
      assert.equal(row.status, 'error', key);
      assert.match(row.error!.message, /^permuted_gen\.sdf record '\w+' #\d+ \(line \d+\): heavy atom \d+ is [A-Z][a-z]?, reference has [A-Z][a-z]? \(ref\.sdf record #\d+\); atom order differs from the reference: use --symmetry or --match graph$/, key);
    }
    // --match index with --symmetry: the reference's own symmetries, atoms by index.
    const indexed = await job(params('gen.sdf', { symmetry: true, match: 'index' }));
    const graph = await job(params('gen.sdf', { symmetry: true }));
    assert.equal(valueOf(indexed.rows, 'aspirin').symmetry.match, 'index');
    assert.equal(valueOf(indexed.rows, 'aspirin').n_excluded, undefined);
    for (const key of Object.keys(expected.molecules)) assert.deepEqual(indexed.summary.molecules[key]!.metrics, graph.summary.molecules[key]!.metrics, key);
  });

  it('fails a molecule none of whose generated records is its graph, with the first reason', async () => {
    const p = conformersKind.params({ ref: fixture('conformers', 'ref.sdf'), gen: fixture('conformers', 'permuted_gen.sdf'), symmetry: true });
    const [task] = (await conformersKind.expand(p, { slots: 1, job: 'graph', info: () => {} })).filter((t) => t.id === 'mol_paracetamol');
    const ref = structuredClone(task!.ref) as { gen: { ranges: unknown[] } };
    const lost = expected.errors.paracetamol!.index;
    ref.gen.ranges = ref.gen.ranges.slice(lost, lost + 1); // the record with an atom missing, alone
    const [row] = await runAll(p, [{ ...task!, ref }]);
    assert.equal(row!.status, 'error');
    assert.equal(row!.error!.code, 'E_INPUT');
    assert.match(row!.error!.message, /^none of the molecule's 1 generated conformer\(s\) has the reference's graph; first: permuted_gen\.sdf record 'paracetamol' #\d+ \(line \d+\): not the reference's graph \(ref\.sdf record #\d+\): 10 heavy atoms \(C7NO2\), reference has 11 \(C8NO2\)$/);
  });
});

/** A hand-made heavy-atom molecule: carbons, single bonds. */
function carbons(n: number, bonds: [number, number][]): HeavyMolecule {
  return {
    title: 't', n, symbols: Array.from({ length: n }, () => 'C'), z: new Uint8Array(n).fill(6), charges: new Int8Array(n), isotopes: new Int16Array(n),
    radicals: new Int8Array(n), hydrogens: new Uint8Array(n).fill(2), bondA: Int32Array.from(bonds.map((b) => b[0])), bondB: Int32Array.from(bonds.map((b) => b[1])),
    bondType: new Uint8Array(bonds.length).fill(1), coords: new Float64Array(3 * n),
  };
}

describe('matching one atom order', () => {
  const ring: [number, number][] = [[0, 1], [1, 2], [2, 3], [3, 4], [4, 5], [5, 0]];

  it('puts a renumbered molecule in the reference order and shares its mappings', () => {
    const topo = matchTarget(carbons(6, ring));
    // The same ring listed 0, 2, 4, 1, 3, 5 around: atom k of the record is ring atom order[k].
    const order = [0, 2, 4, 1, 3, 5];
    const renumbered = carbons(6, ring.map(([a, b]) => [order.indexOf(a), order.indexOf(b)]));
    const m = matchOrder(renumbered, topo, 'default', 1000);
    assert.ok(m.ok && m.maps === null && m.toRef !== null);
    // A ring maps onto itself in 12 ways; the one found must keep every bond.
    for (const [a, b] of ring.map(([a, b]) => [order.indexOf(a), order.indexOf(b)] as const)) {
      const [x, y] = [m.toRef[a]!, m.toRef[b]!];
      assert.ok(ring.some(([p, q]) => (p === x && q === y) || (p === y && q === x)), `bond ${a}-${b} kept`);
    }
  });

  it('says when the atoms are all alike but joined differently', () => {
    // Cyclohexane against two cyclopropanes: six carbons, six bonds, each carbon with two.
    const m = matchOrder(carbons(6, [[0, 1], [1, 2], [2, 0], [3, 4], [4, 5], [5, 3]]), matchTarget(carbons(6, ring)), 'strict', 1000);
    assert.ok(!m.ok);
    assert.match(m.why, /^its heavy atoms are joined differently: at most \d of 6 map onto the reference, heavy atom \d, C\(-C\)\(-C\), the first that does not$/);
  });

  it('names the bond count when it differs', () => {
    const m = matchOrder(carbons(6, ring.slice(0, 5)), matchTarget(carbons(6, ring)), 'default', 1000);
    assert.ok(!m.ok);
    assert.equal(m.why, '5 bonds between heavy atoms, reference has 6');
  });
});

describe('--match', () => {
  const base = { ref: 'r.sdf', gen: 'g.sdf' };
  const usage = (opts: Record<string, unknown>, ...mentions: string[]): void => {
    assert.throws(() => conformersKind.params(opts), (e: Error & { code?: string }) => e.code === 'E_USAGE' && mentions.every((m) => e.message.includes(m)));
  };

  it('goes with --symmetry: each implies the other unless told otherwise', () => {
    const pick = (opts: Record<string, unknown>): [string, string] => {
      const p = conformersKind.params({ ...base, ...opts });
      return [p.symmetry, p.match];
    };
    assert.deepEqual(pick({}), ['none', 'index']);
    assert.deepEqual(pick({ symmetry: true }), ['default', 'graph']);
    assert.deepEqual(pick({ symmetry: 'strict' }), ['strict', 'graph']);
    assert.deepEqual(pick({ match: 'graph' }), ['default', 'graph']);
    assert.deepEqual(pick({ match: 'graph', symmetry: 'strict' }), ['strict', 'graph']);
    assert.deepEqual(pick({ match: 'index', symmetry: true }), ['default', 'index']);
    assert.deepEqual(pick({ match: 'index' }), ['none', 'index']);
    usage({ ...base, match: 'name' }, '--match name');
    usage({ ...base, match: 'graph', symmetry: 'none' }, '--match graph', '--symmetry none');
  });

  it('is checked over the wire, and params without it match by index', () => {
    const p = conformersKind.params({ ...base, symmetry: true });
    assert.equal(conformersKind.checkParams(JSON.parse(JSON.stringify(p))).match, 'graph');
    const { match: _match, ...earlier } = p;
    assert.equal(conformersKind.checkParams(earlier).match, 'index');
    assert.throws(() => conformersKind.checkParams({ ...p, match: 'name' }), (e: Error & { code?: string }) => e.code === 'E_INPUT');
    assert.throws(() => conformersKind.checkParams({ ...p, symmetry: 'none' }), (e: Error & { code?: string }) => e.code === 'E_INPUT' && e.message.includes("match 'graph'"));
  });
});
