/**
 * Time spent in intervals, per time bin, when the intervals arrive in any order and the
 * overall time range is not known in advance (a streamed JSONL).
 *
 * Bins are `width` ms wide and aligned on multiples of it; when the range seen outgrows
 * `maxBins`, the width doubles and neighbouring bins merge (floor(k/2) is exact for
 * power-of-two widths). An interval costs O(1): its first and last bins get their partial
 * overlap, and the whole bins between are counted in a difference map, turned into time
 * only when the width changes and at the end.
 */
export class TimeBins {
  private width = 1;
  /** Partial time per bin (ms). */
  private part = new Map<number, number>();
  /** Difference counts of whole bins covered. */
  private diff = new Map<number, number>();
  private lo = Infinity;
  private hi = -Infinity;

  constructor(private readonly maxBins = 1000) {}

  /** Adds the interval [start, end) (ms). */
  add(start: number, end: number): void {
    if (!(end > start)) return;
    this.lo = Math.min(this.lo, start);
    this.hi = Math.max(this.hi, end);
    while ((this.hi - this.lo) / this.width > this.maxBins) this.coarsen();
    const w = this.width;
    const k1 = Math.floor(start / w);
    const k2 = Math.floor(end / w);
    if (k1 === k2) {
      bump(this.part, k1, end - start);
      return;
    }
    bump(this.part, k1, (k1 + 1) * w - start);
    if (end > k2 * w) bump(this.part, k2, end - k2 * w);
    if (k2 > k1 + 1) {
      bump(this.diff, k1 + 1, 1);
      bump(this.diff, k2, -1);
    }
  }

  /** Folds the difference counts into partial time. */
  private settle(): void {
    if (this.diff.size === 0) return;
    const keys = [...this.diff.keys()].sort((a, b) => a - b);
    let count = 0;
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i]!;
      count += this.diff.get(k)!;
      const next = keys[i + 1];
      if (count !== 0 && next !== undefined) for (let j = k; j < next; j++) bump(this.part, j, count * this.width);
    }
    this.diff.clear();
  }

  private coarsen(): void {
    this.settle();
    const merged = new Map<number, number>();
    for (const [k, v] of this.part) bump(merged, Math.floor(k / 2), v);
    this.part = merged;
    this.width *= 2;
  }

  /**
   * The bins from the first to the last interval, `width` ms each, `from` = the first bin's
   * start (epoch ms). With `width` given (a multiple of the current one by a power of two),
   * the bins are coarsened to it first (to line up with another TimeBins).
   */
  result(width?: number): { from: number; width: number; values: number[] } {
    if (width !== undefined) while (this.width < width) this.coarsen();
    this.settle();
    if (this.part.size === 0) return { from: 0, width: this.width, values: [] };
    const w = this.width;
    const k0 = Math.floor(this.lo / w);
    const k1 = Math.floor((this.hi - 1e-9) / w);
    const values = new Array<number>(k1 - k0 + 1).fill(0);
    for (const [k, v] of this.part) if (k >= k0 && k <= k1) values[k - k0]! += v;
    return { from: k0 * w, width: w, values };
  }

  get binWidth(): number {
    return this.width;
  }
}

function bump(m: Map<number, number>, k: number, v: number): void {
  m.set(k, (m.get(k) ?? 0) + v);
}
