import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { toWireError } from '../../src/errors.js';
import { conformersKind, type ConformersParams, type ConformersSummary } from '../../src/kinds/conformers/index.js';
import { moleculeTaskId } from '../../src/kinds/conformers/expand.js';
import type { Row } from '../../src/kinds/types.js';
import { fixture } from '../helpers/paths.js';

interface BadExpected {
  thresholds: number[];
  good: Record<string, { metrics: Record<string, Record<string, Record<string, number>>> }>;
  errors: Record<string, { file: string; record: number; line: number; says: string }>;
}
const expected = JSON.parse(readFileSync(fixture('conformers', 'bad_expected.json'), 'utf8')) as BadExpected;

function params(ref: string, gen: string): ConformersParams {
  return conformersKind.params({ ref: fixture('conformers', ref), gen: fixture('conformers', gen), threshold: expected.thresholds.join(',') });
}

async function runJob(p: ConformersParams): Promise<{ rows: Row[]; summary: ConformersSummary }> {
  const tasks = await conformersKind.expand(p, { slots: 2, job: 'bad', info: () => {} });
  const rows: Row[] = [];
  for (const t of tasks) {
    const base = { job: 'bad', task: t.id, kind: 'conformers', attempt: 1 };
    try {
      const out = await conformersKind.run(t.ref, p, { signal: new AbortController().signal, threads: 1, attempt: 1, job: 'bad', task: t.id });
      rows.push(JSON.parse(JSON.stringify({ ...base, status: 'ok', value: (out as { value: unknown }).value })) as Row);
    } catch (err) {
      const w = toWireError(err);
      assert.equal(w.retryable, false, `${t.id}: bad input must not be retried (${w.message})`);
      rows.push({ ...base, status: 'error', error: { code: w.code, message: w.message } });
    }
  }
  async function* all(): AsyncIterable<Row> {
    yield* rows;
  }
  return { rows, summary: (await conformersKind.summarize(all(), p)) as ConformersSummary };
}

describe('conformers with bad input', () => {
  it('turns each broken molecule into an error row naming file, record and line; the others complete', async () => {
    const { rows, summary } = await runJob(params('bad_ref.sdf', 'bad_gen.sdf'));
    for (const [key, e] of Object.entries(expected.errors)) {
      const row = rows.find((r) => r.task === moleculeTaskId(key));
      assert.ok(row, `a row for ${key}`);
      assert.equal(row.status, 'error', key);
      assert.equal(row.error!.code, 'E_INPUT', key);
      const msg = row.error!.message;
      for (const part of [e.file, `#${e.record}`, `line ${e.line}`, e.says]) {
        assert.ok(msg.includes(part), `${key}: '${msg}' should mention '${part}'`);
      }
    }
    assert.equal(summary.failed, Object.keys(expected.errors).length);
    assert.deepEqual(summary.failures.map((f) => f.key).sort(), Object.keys(expected.errors).sort());
    assert.equal(summary.evaluated, Object.keys(expected.good).length);
    for (const [key, exp] of Object.entries(expected.good)) {
      for (const [delta, figures] of Object.entries(exp.metrics.none!)) {
        for (const [name, v] of Object.entries(figures)) {
          const got = summary.molecules[key]!.metrics[delta]![name as 'cov_r'];
          assert.ok(Math.abs(got - v) < 1e-4, `${key} δ=${delta} ${name}: ${got} vs ${v}`);
        }
      }
    }
  });

  it('names both heavy-atom counts when a conformer does not match the reference', async () => {
    const { rows } = await runJob(params('bad_ref.sdf', 'bad_gen.sdf'));
    const msg = rows.find((r) => r.task === 'mol_mismatch')!.error!.message;
    assert.match(msg, /^bad_gen\.sdf record 'mismatch' #\d+ \(line \d+\): 14 heavy atoms, reference has 15/);
  });

  it('refuses the job when a file is empty, naming it', async () => {
    for (const [ref, gen, option] of [['empty.sdf', 'gen.sdf', '--ref'], ['ref.sdf', 'empty.sdf', '--gen']] as const) {
      await assert.rejects(conformersKind.expand(params(ref, gen), { slots: 1, job: 'bad', info: () => {} }), (e: Error & { code?: string }) => {
        assert.equal(e.code, 'E_INPUT');
        assert.ok(e.message.includes(option) && e.message.includes('empty.sdf') && e.message.includes('empty'), e.message);
        return true;
      });
    }
  });

  it('refuses a missing file, naming it', async () => {
    await assert.rejects(conformersKind.expand(params('no-such.sdf', 'gen.sdf'), { slots: 1, job: 'bad', info: () => {} }), (e: Error & { code?: string }) => e.code === 'E_INPUT' && e.message.includes('no-such.sdf'));
  });

  it('reports records that lack the key tag as an error of their own', async () => {
    const p = conformersKind.params({ ref: fixture('conformers', 'ref.sdf'), gen: fixture('conformers', 'bad_gen.sdf'), keyTag: 'mol_id' });
    const { rows } = await runJob(p);
    // bad_gen.sdf's edited records (mismatch, V3000 without the <mol_id> item) carry no tag.
    const unkeyed = rows.find((r) => r.task === 'unkeyed_gen');
    assert.ok(unkeyed && unkeyed.status === 'error');
    assert.match(unkeyed.error!.message, /record\(s\) of bad_gen\.sdf have no SD tag <mol_id>/);
  });
});
