import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { toWireError } from '../../src/errors.js';
import { conformersKind, type ConformersParams, type ConformersSummary, type ConformersValue } from '../../src/kinds/conformers/index.js';
import { autoBlockRows, blockTaskId, MIN_BLOCK_ROWS, MIN_SPLIT_COST, moleculeTaskId, splitConformersTask } from '../../src/kinds/conformers/expand.js';
import type { Row, TaskSpec } from '../../src/kinds/types.js';
import { fixture } from '../helpers/paths.js';

interface Expected {
  thresholds: number[];
  molecules: Record<string, {
    heavy_atoms: number;
    n_ref: number;
    n_gen: number;
    mappings: { default: number; strict: number };
    rmsd: Record<string, number[][]>;
    metrics: Record<string, Record<string, Record<string, number>>>;
  }>;
}
const expected = JSON.parse(readFileSync(fixture('conformers', 'expected.json'), 'utf8')) as Expected;

function params(extra: Record<string, unknown> = {}): ConformersParams {
  return conformersKind.params({
    ref: fixture('conformers', 'ref.sdf'),
    gen: fixture('conformers', 'gen.sdf'),
    threshold: expected.thresholds.join(','),
    ...extra,
  });
}

async function expand(p: ConformersParams, slots = 2): Promise<TaskSpec[]> {
  return conformersKind.expand(p, { slots, job: 'test', info: () => {} });
}

/** Runs every task as a worker would and renders the rows as the sink would write them. */
async function runAll(p: ConformersParams, tasks: TaskSpec[]): Promise<Row[]> {
  const rows: Row[] = [];
  for (const t of tasks) {
    const ctx = { signal: new AbortController().signal, threads: 1, attempt: 1, job: 'test', task: t.id };
    const base = { job: 'test', task: t.id, kind: 'conformers', attempt: 1 };
    try {
      // Through msgpack-like plain data and JSON, as refs and rows travel.
      const out = await conformersKind.run(structuredClone(t.ref), p, ctx);
      assert.ok('value' in out);
      rows.push(JSON.parse(JSON.stringify({ ...base, status: 'ok', value: out.value })) as Row);
    } catch (err) {
      const { code, message } = toWireError(err);
      rows.push({ ...base, status: 'error', error: { code, message } });
    }
  }
  return rows;
}

async function* stream(rows: Row[]): AsyncIterable<Row> {
  // Rows reach the sink in completion order, not task order.
  for (const r of [...rows].reverse()) yield r;
}

async function job(p: ConformersParams, slots = 2): Promise<{ tasks: TaskSpec[]; rows: Row[]; summary: ConformersSummary }> {
  const tasks = await expand(p, slots);
  const rows = await runAll(p, tasks);
  const summary = (await conformersKind.summarize(stream(rows), p)) as ConformersSummary;
  return { tasks, rows, summary };
}

function close(a: number, b: number, what: string, tol = 1e-4): void {
  assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b}`);
}

describe('conformers kind, end to end', () => {
  for (const mode of ['none', 'default', 'strict'] as const) {
    it(`gives RDKit's metrics per molecule (symmetry ${mode})`, async () => {
      const p = params(mode === 'none' ? {} : { symmetry: mode === 'default' ? true : 'strict' });
      const { rows, summary } = await job(p);
      assert.equal(summary.failed, 0, JSON.stringify(summary.failures));
      assert.equal(summary.evaluated, Object.keys(expected.molecules).length);
      for (const [key, exp] of Object.entries(expected.molecules)) {
        const m = summary.molecules[key]!;
        assert.deepEqual([m.n_ref, m.n_gen, m.heavy_atoms], [exp.n_ref, exp.n_gen, exp.heavy_atoms], key);
        assert.equal(m.mappings, mode === 'none' ? 1 : exp.mappings[mode]);
        for (const [delta, figures] of Object.entries(exp.metrics[mode]!)) {
          for (const [name, v] of Object.entries(figures)) close(m.metrics[delta]![name as 'cov_r']!, v, `${key} ${mode} δ=${delta} ${name}`);
        }
        // The task's own value carries the same metrics (it covers the whole molecule).
        const row = rows.find((r) => r.task === moleculeTaskId(key))!;
        assert.deepEqual((row.value as ConformersValue).metrics, m.metrics);
      }
      for (const delta of Object.keys(summary.dataset)) {
        const covs = Object.values(summary.molecules).map((m) => m.metrics[delta]!.cov_r);
        close(summary.dataset[delta]!.cov_r.mean!, covs.reduce((s, v) => s + v, 0) / covs.length, 'dataset mean', 1e-12);
      }
    });
  }

  it('writes the RMSD matrix with --matrix', async () => {
    const p = params({ matrix: true, symmetry: true });
    const { rows } = await job(p);
    for (const [key, exp] of Object.entries(expected.molecules)) {
      const v = rows.find((r) => r.task === moleculeTaskId(key))!.value as ConformersValue;
      assert.equal(v.matrix!.length, exp.n_ref);
      v.matrix!.forEach((row, i) => row.forEach((x, j) => close(x, exp.rmsd.default![i]![j]!, `${key}[${i}][${j}]`)));
    }
  });

  it('gives identical summaries split into blocks and unsplit', async () => {
    for (const symmetry of [undefined, true]) {
      const whole = await job(params({ symmetry, blockRows: '0' }));
      assert.ok(whole.tasks.every((t) => !t.id.includes('#b')));
      const split = await job(params({ symmetry, blockRows: '2' }));
      assert.ok(split.tasks.length > whole.tasks.length);
      assert.ok(split.tasks.some((t) => t.id === blockTaskId('ibuprofen', 2)), 'ibuprofen (5 references) becomes 3 blocks');
      const one = await job(params({ symmetry, blockRows: '1' }));
      assert.deepEqual(split.summary, whole.summary);
      assert.deepEqual(one.summary, whole.summary);
      const block = split.rows.find((r) => r.task === blockTaskId('ibuprofen', 1))!.value as ConformersValue;
      assert.deepEqual(block.rows, [2, 4]);
      assert.equal(block.metrics, undefined, 'a block has no metrics of its own');
      assert.equal(block.row_min.length, 2);
      assert.equal(block.col_min.length, block.n_gen);
    }
  });

  it('gives the same summary when the coordinator splits tasks in halves while dispatching', async () => {
    const p = params({ symmetry: true, blockRows: '0' });
    const whole = await job(p);
    // Halves of halves down to single rows, named as the coordinator names them.
    const halve = (t: TaskSpec): TaskSpec[] => {
      const h = splitConformersTask(t, 1);
      return h === null ? [t] : h.flatMap((x, k) => halve({ ...x, id: `${t.id}/${k}` }));
    };
    const tasks = whole.tasks.flatMap(halve);
    const ib = tasks.filter((t) => t.id.startsWith('mol_ibuprofen/'));
    assert.deepEqual(ib.map((t) => t.id), ['mol_ibuprofen/0/0/0', 'mol_ibuprofen/0/0/1', 'mol_ibuprofen/0/1', 'mol_ibuprofen/1/0', 'mol_ibuprofen/1/1']);
    assert.equal(ib.reduce((s, t) => s + t.cost, 0), whole.tasks.find((t) => t.id === 'mol_ibuprofen')!.cost);
    const rows = await runAll(p, tasks);
    assert.deepEqual((rows.find((r) => r.task === 'mol_ibuprofen/0/1')!.value as ConformersValue).rows, [2, 3]);
    const summary = (await conformersKind.summarize(stream(rows), p)) as ConformersSummary;
    assert.deepEqual(summary, whole.summary);
    // Blocks split further, and tasks too small or in error, as the kind's own split sees them.
    const blocks = await expand(params({ blockRows: '2' }));
    assert.equal(splitConformersTask(blocks.find((t) => t.id === blockTaskId('ibuprofen', 0))!, 1)!.length, 2);
    assert.equal(conformersKind.split!(whole.tasks.find((t) => t.id === 'mol_ibuprofen')!, p), null, 'five rows are too few to split for real');
  });

  it('estimates cost and memory per task', async () => {
    const tasks = await expand(params(), 0);
    const ib = tasks.find((t) => t.id === 'mol_ibuprofen')!;
    assert.equal(ib.cost, 5 * 6 * 15, 'cost = n_ref × n_gen × heavy atoms');
    assert.ok(ib.memory! > 0);
    const blocks = await expand(params({ blockRows: '2' }), 0);
    assert.deepEqual(blocks.filter((t) => t.id.startsWith('mol_ibuprofen#')).map((t) => t.cost), [2 * 6 * 15, 2 * 6 * 15, 1 * 6 * 15]);
    // The fixture is tiny: automatic splitting leaves every molecule whole, whatever the slots.
    for (const slots of [0, 1, 64]) assert.ok((await expand(params(), slots)).every((t) => !t.id.includes('#b')));
  });

  it('reports a molecule with a missing block as incomplete, and one with a failed block once', async () => {
    const p = params({ blockRows: '2' });
    const { rows } = await job(p);
    const missing = rows.filter((r) => r.task !== blockTaskId('ibuprofen', 1));
    const failed = rows.map((r) => (r.task === blockTaskId('aspirin', 0) || r.task === blockTaskId('aspirin', 1)
      ? { ...r, status: 'error' as const, value: undefined, error: { code: 'E_WORKER', message: `worker died in ${r.task}` } }
      : r));
    const a = (await conformersKind.summarize(stream(missing), p)) as ConformersSummary;
    assert.deepEqual(a.incomplete, ['ibuprofen']);
    assert.equal(a.molecules.ibuprofen, undefined);
    assert.equal(a.evaluated, 13);
    const b = (await conformersKind.summarize(stream(failed), p)) as ConformersSummary;
    assert.deepEqual(b.failures, [{ key: 'aspirin', task: 'mol_aspirin#b0', code: 'E_WORKER', message: 'worker died in mol_aspirin#b0' }]);
    assert.equal(b.failed, 1);
    assert.equal(b.molecules.aspirin, undefined);
  });

  it('splits a molecule automatically when it exceeds 1/(4 × slots) of the job', () => {
    // One molecule of 1000 × 2000 conformers × 40 atoms alone in a job on 8 slots.
    const cost = 1000 * 2000 * 40;
    assert.equal(autoBlockRows(cost, 1000, cost / 32), 64, 'share/row = 31 rows, raised to the minimum');
    // The same molecule among much more work: its share is bigger, blocks too (power of two).
    assert.equal(autoBlockRows(cost, 1000, (20 * cost) / 32), 512);
    assert.equal(autoBlockRows(cost, 1000, (20 * cost) / 40), 256, 'ten slots instead of eight');
    assert.equal(autoBlockRows(cost, 1000, (20 * cost) / 36), 512, 'nine slots: same blocks as eight');
    // Below the share, or too cheap to be worth splitting, or too few rows: whole.
    assert.equal(autoBlockRows(cost, 1000, 2 * cost), 0);
    assert.equal(autoBlockRows(MIN_SPLIT_COST - 1, 1000, 1), 0);
    assert.equal(autoBlockRows(cost, 2 * MIN_BLOCK_ROWS - 1, 1), 0);
  });

  it('expands a big molecule into blocks of reference rows covering all of them', async () => {
    // Expansion only indexes the files: records that are just a header and a counts line of
    // 999 atoms are enough to make a molecule expensive.
    const dir = mkdtempSync(join(tmpdir(), 'shoal-conformers-'));
    try {
      const rec = (title: string): string => `${title}\n\n\n999  0  0  0  0  0  0  0  0  0999 V2000\n$$$$\n`;
      writeFileSync(join(dir, 'ref.sdf'), rec('big').repeat(130) + rec('small'));
      writeFileSync(join(dir, 'gen.sdf'), rec('big').repeat(240) + rec('small'));
      const p = conformersKind.params({ ref: join(dir, 'ref.sdf'), gen: join(dir, 'gen.sdf') });
      const tasks = await expand(p, 2);
      const blocks = tasks.filter((t) => t.id.startsWith('mol_big#b'));
      assert.deepEqual(blocks.map((t) => t.id), ['mol_big#b0', 'mol_big#b1', 'mol_big#b2']);
      assert.deepEqual(blocks.map((t) => (t.ref as { rows: number[] }).rows), [[0, 64], [64, 128], [128, 130]]);
      assert.deepEqual(blocks.map((t) => t.cost), [64 * 240 * 999, 64 * 240 * 999, 2 * 240 * 999]);
      assert.ok(tasks.some((t) => t.id === 'mol_small'));
      assert.deepEqual((await expand(p, 2)).map((t) => t.id), tasks.map((t) => t.id), 'stable ids');
      // A cheap molecule stays whole, unless --matrix would make its row too big for one message.
      const tiny = (title: string): string => `${title}\n\n\n  1  0  0  0  0  0  0  0  0  0999 V2000\n$$$$\n`;
      writeFileSync(join(dir, 'ref.sdf'), tiny('wide').repeat(130));
      writeFileSync(join(dir, 'gen.sdf'), tiny('wide').repeat(1000));
      assert.deepEqual((await expand(p, 2)).map((t) => t.id), ['mol_wide']);
      const withMatrix = await expand(conformersKind.params({ ref: join(dir, 'ref.sdf'), gen: join(dir, 'gen.sdf'), matrix: true }), 2);
      assert.deepEqual(withMatrix.map((t) => (t.ref as { rows: number[] }).rows), [[0, 32], [32, 64], [64, 96], [96, 128], [128, 130]]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('groups by an SD tag with --key-tag', async () => {
    const byTitle = await job(params());
    const byTag = await job(params({ gen: fixture('conformers', 'tagged_gen.sdf'), keyTag: 'mol_id' }));
    assert.deepEqual(byTag.summary, byTitle.summary);
    // Grouping by title there puts every record of tagged_gen.sdf under its own key.
    const wrong = await job(params({ gen: fixture('conformers', 'tagged_gen.sdf') }));
    assert.equal(wrong.summary.evaluated, 0);
  });

  it('makes the same task ids on every expansion', async () => {
    const a = await expand(params({ blockRows: '2' }));
    const b = await expand(params({ blockRows: '2' }));
    assert.deepEqual(a.map((t) => t.id), b.map((t) => t.id));
    assert.equal(new Set(a.map((t) => t.id)).size, a.length);
  });

  it('stops a cancelled task with E_ABORTED', async () => {
    const p = params();
    const [task] = await expand(p);
    const ac = new AbortController();
    ac.abort();
    await assert.rejects(conformersKind.run(task!.ref, p, { signal: ac.signal, threads: 1, attempt: 1, job: 'test', task: task!.id }), (e: Error & { code?: string }) => e.code === 'E_ABORTED');
  });

  it('describes the summary in a few lines', async () => {
    const { summary } = await job(params());
    const lines = conformersKind.describeSummary!(summary);
    assert.match(lines[0]!, /14 molecule\(s\) evaluated, 0 failed/);
    assert.ok(lines.some((l) => l.includes('δ=0.75 Å') && l.includes('COV-R')));
  });
});

describe('task ids', () => {
  it('are mol_<key> for plain keys and stable, distinct ids otherwise', () => {
    assert.equal(moleculeTaskId('mol_0031'), 'mol_mol_0031');
    assert.equal(moleculeTaskId('CHEMBL25'), 'mol_CHEMBL25');
    const odd = moleculeTaskId('CC(=O)Oc1ccccc1C(=O)O');
    assert.match(odd, /^mol_CC__O_Oc1ccccc1C__O_O~[0-9a-f]{10}$/);
    assert.equal(moleculeTaskId('CC(=O)Oc1ccccc1C(=O)O'), odd);
    assert.notEqual(moleculeTaskId('a b'), moleculeTaskId('a/b'));
    assert.notEqual(moleculeTaskId('a b'), moleculeTaskId('a_b'));
    assert.equal(blockTaskId('x', 3), 'mol_x#b3');
  });
});

describe('conformers options', () => {
  const base = { ref: 'r.sdf', gen: 'g.sdf' };
  const usage = (opts: Record<string, unknown>, ...mentions: string[]): void => {
    assert.throws(() => conformersKind.params(opts), (e: Error & { code?: string }) => e.code === 'E_USAGE' && mentions.every((m) => e.message.includes(m)));
  };

  it('makes paths absolute and applies defaults', () => {
    const p = conformersKind.params(base);
    assert.ok(p.ref.startsWith('/') && p.ref.endsWith('/r.sdf'));
    assert.deepEqual([p.thresholds, p.symmetry, p.matrix, p.keyTag, p.blockRows, p.maxMatches], [[0.75], 'none', false, null, null, 1_000_000]);
    assert.deepEqual(conformersKind.inputs(p), [p.ref, p.gen]);
  });

  it('reads each option', () => {
    const p = conformersKind.params({ ...base, threshold: '0.5, 1.0,1.25', symmetry: 'strict', matrix: true, keyTag: 'mol_id', blockRows: '16', maxMatches: '1000' });
    assert.deepEqual([p.thresholds, p.symmetry, p.matrix, p.keyTag, p.blockRows, p.maxMatches], [[0.5, 1, 1.25], 'strict', true, 'mol_id', 16, 1000]);
    assert.equal(conformersKind.params({ ...base, symmetry: true }).symmetry, 'default');
  });

  it('refuses bad values, naming the option and value', () => {
    usage({ gen: 'g.sdf' }, '--ref');
    usage({ ref: 'r.sdf' }, '--gen');
    usage({ ...base, threshold: '0.75,abc' }, '--threshold 0.75,abc');
    usage({ ...base, threshold: '-1' }, '--threshold -1');
    usage({ ...base, threshold: '0' }, '--threshold 0');
    usage({ ...base, symmetry: 'loose' }, '--symmetry loose');
    usage({ ...base, blockRows: '-2' }, '--block-rows', "'-2'");
    usage({ ...base, blockRows: '1.5' }, '--block-rows', "'1.5'");
    usage({ ...base, maxMatches: '0' }, '--max-matches', "'0'");
    usage({ ...base, keyTag: '<id>' }, '--key-tag <id>');
  });

  it('checks params that arrive over the wire', () => {
    const p = conformersKind.params({ ...base, symmetry: true });
    assert.deepEqual(conformersKind.checkParams(JSON.parse(JSON.stringify(p))), p);
    const bad = (patch: Record<string, unknown>): void => {
      assert.throws(() => conformersKind.checkParams({ ...p, ...patch }), (e: Error & { code?: string }) => e.code === 'E_INPUT');
    };
    bad({ ref: 'relative.sdf' });
    bad({ thresholds: [] });
    bad({ thresholds: [0.75, -1] });
    bad({ symmetry: 'yes' });
    bad({ blockRows: -1 });
    bad({ maxMatches: 0 });
    bad({ matrix: 'no' });
    assert.throws(() => conformersKind.checkParams(null), (e: Error & { code?: string }) => e.code === 'E_INPUT');
  });

  it('registers its flags on a commander command', async () => {
    const { Command } = await import('@commander-js/extra-typings');
    const cmd = new Command('run').exitOverride();
    conformersKind.addOptions(cmd);
    cmd.parse(['--ref', 'a.sdf', '--gen', 'b.sdf', '--symmetry', '--threshold', '0.5,1', '--block-rows', '4', '--key-tag', 'id', '--matrix'], { from: 'user' });
    const p = conformersKind.params(cmd.opts());
    assert.deepEqual([p.symmetry, p.thresholds, p.blockRows, p.keyTag, p.matrix], ['default', [0.5, 1], 4, 'id', true]);
    const strict = new Command('run').exitOverride();
    conformersKind.addOptions(strict);
    strict.parse(['--ref', 'a.sdf', '--gen', 'b.sdf', '--symmetry', 'strict'], { from: 'user' });
    assert.equal(conformersKind.params(strict.opts()).symmetry, 'strict');
  });
});
