/**
 * The conformers kind writes its metrics thresholds smallest first, in the row's value and in
 * the summary, whatever order --threshold gave them in, and an integer threshold keeps its
 * place (its key is `1.0`: a key like `1` is listed first by every JavaScript object).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { conformersKind, type ConformersParams, type ConformersSummary } from '../../src/kinds/conformers/index.js';
import { moleculeMetrics, thresholdKey } from '../../src/kinds/conformers/metrics.js';
import type { Row } from '../../src/kinds/types.js';

const GIVEN = [1, 0.5, 2, 0.75];
const ORDER = ['0.5', '0.75', '1.0', '2.0'];

/** The top-level keys of an object's JSON text, in the order the text has them (JSON.parse would reorder them). */
function textKeys(json: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  for (let i = 0; i < json.length; i++) {
    const ch = json[i]!;
    if (ch === '"') {
      let j = i + 1;
      while (json[j] !== '"') j += json[j] === '\\' ? 2 : 1;
      if (depth === 1 && json[j + 1] === ':') keys.push(JSON.parse(json.slice(i, j + 1)) as string);
      i = j;
    } else if (ch === '{' || ch === '[') depth++;
    else if (ch === '}' || ch === ']') depth--;
  }
  return keys;
}

describe('conformers thresholds order', () => {
  it('keys are the shortest decimal with a point', () => {
    assert.deepEqual([0.5, 0.75, 1, 2, 1.25, 10].map(thresholdKey), ['0.5', '0.75', '1.0', '2.0', '1.25', '10.0']);
  });

  it("a molecule's metrics are in ascending order in the JSON text, whatever the order given", () => {
    const metrics = moleculeMetrics([0.4, 0.9], [0.6, 1.5, 0.3], GIVEN);
    assert.deepEqual(Object.keys(metrics), ORDER);
    assert.deepEqual(textKeys(JSON.stringify(metrics)), ORDER);
    assert.deepEqual(metrics['1.0'], { cov_r: 1, amr_r: 0.65, cov_p: 2 / 3, amr_p: (0.6 + 1.5 + 0.3) / 3 });
  });

  it("the summary's molecules and dataset list them in ascending order too", async () => {
    const p = { ref: '/r.sdf', gen: '/g.sdf', thresholds: GIVEN, symmetry: 'none', matrix: false, keyTag: null, blockRows: null, maxMatches: 1000 } as ConformersParams;
    async function* rows(): AsyncGenerator<Row> {
      const value = { key: 'm', n_ref: 2, n_gen: 3, heavy_atoms: 5, symmetry: { mode: 'none', mappings: 1, capped: false }, row_min: [0.4, 0.9], col_min: [0.6, 1.5, 0.3] };
      yield { job: 'J', task: 'mol_m', kind: 'conformers', status: 'ok', attempt: 1, value } as Row;
    }
    const s = (await conformersKind.summarize(rows(), p)) as ConformersSummary;
    assert.deepEqual(textKeys(JSON.stringify(s.dataset)), ORDER);
    assert.deepEqual(textKeys(JSON.stringify(s.molecules.m!.metrics)), ORDER);
    assert.equal(s.dataset['0.75']!.cov_r.mean, 0.5);
  });
});
