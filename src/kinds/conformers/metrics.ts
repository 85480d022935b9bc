/**
 * Ensemble metrics (GEOM-Drugs style): coverage and average minimum RMSD, recall side (over
 * reference conformers) and precision side (over generated conformers).
 *
 * With RMSD(i, j) between reference i and generated j and a threshold δ:
 *   COV-R = |{i : min_j RMSD(i, j) < δ}| / n_ref      AMR-R = mean_i min_j RMSD(i, j)
 *   COV-P = |{j : min_i RMSD(i, j) < δ}| / n_gen      AMR-P = mean_j min_i RMSD(i, j)
 *
 * The minima are all the metrics need, which is what makes a molecule splittable: a block of
 * reference rows yields the exact row minima of its rows and column minima over its rows, and
 * blocks merge by taking minima again — the same numbers, whatever the split.
 */

/** The four figures at one threshold. */
export interface ThresholdMetrics {
  cov_r: number;
  amr_r: number;
  cov_p: number;
  amr_p: number;
}

/** Metrics per threshold, keyed by the threshold as written by `thresholdKey`, in ascending order. */
export type MoleculeMetrics = Record<string, ThresholdMetrics>;

export const METRIC_NAMES = ['cov_r', 'amr_r', 'cov_p', 'amr_p'] as const;

/**
 * A threshold as an object key: the shortest decimal form with a decimal point (`0.75`, `1.0`,
 * `1.25`). The point matters: a key that reads as an integer (`1`) is listed before every
 * other key of a JavaScript object whatever the order it was added in, so `1` would come
 * before `0.5` in the JSON text.
 */
export function thresholdKey(delta: number): string {
  return Number.isInteger(delta) ? delta.toFixed(1) : String(delta);
}

/** The thresholds smallest first: the order of the keys of every metrics object. */
export function ascending(thresholds: readonly number[]): number[] {
  return [...thresholds].sort((a, b) => a - b);
}

/** Row minima (per reference row) and column minima (per generated column) of a rows × cols block. */
export function blockMinima(matrix: Float64Array, rows: number, cols: number): { rowMin: Float64Array; colMin: Float64Array } {
  const rowMin = new Float64Array(rows).fill(Infinity);
  const colMin = new Float64Array(cols).fill(Infinity);
  for (let i = 0; i < rows; i++) {
    const o = i * cols;
    let r = Infinity;
    for (let j = 0; j < cols; j++) {
      const v = matrix[o + j]!;
      if (v < r) r = v;
      if (v < colMin[j]!) colMin[j] = v;
    }
    rowMin[i] = r;
  }
  return { rowMin, colMin };
}

function coverageAndMean(minima: ArrayLike<number>, delta: number): [number, number] {
  let covered = 0;
  let sum = 0;
  for (let i = 0; i < minima.length; i++) {
    const v = minima[i]!;
    if (v < delta) covered++;
    sum += v;
  }
  return [covered / minima.length, sum / minima.length];
}

/** The metrics of a whole molecule from its complete row and column minima, thresholds in ascending order. */
export function moleculeMetrics(rowMin: ArrayLike<number>, colMin: ArrayLike<number>, thresholds: readonly number[]): MoleculeMetrics {
  const out: MoleculeMetrics = {};
  for (const delta of ascending(thresholds)) {
    const [covR, amrR] = coverageAndMean(rowMin, delta);
    const [covP, amrP] = coverageAndMean(colMin, delta);
    out[thresholdKey(delta)] = { cov_r: covR, amr_r: amrR, cov_p: covP, amr_p: amrP };
  }
  return out;
}

/** Mean and median of a list (NaN for an empty one); the median of an even count averages the middle two. */
export function meanAndMedian(values: readonly number[]): { mean: number; median: number } {
  if (values.length === 0) return { mean: NaN, median: NaN };
  let sum = 0;
  for (const v of values) sum += v;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { mean: sum / values.length, median };
}
