/**
 * Measured speed of one job's tasks: seconds of worker time per unit of the kind's cost
 * estimate, as an exponentially weighted average over commit batches. The scheduler sizes
 * bundles from it; it is also what corrects a kind's estimates by measurement.
 */
export class Throughput {
  private spc: number | null = null;
  private samples = 0;

  /** Adds a batch: `seconds` of worker time spent on tasks worth `cost` units, `n` tasks. */
  add(seconds: number, cost: number, n: number): void {
    if (!(cost > 0) || !(seconds >= 0) || n <= 0) return;
    const r = seconds / cost;
    // Early batches weigh more so a first bad guess is corrected quickly.
    const w = Math.max(0.1, 1 / (this.samples + 1));
    this.spc = this.spc === null ? r : this.spc * (1 - w) + r * w;
    this.samples++;
  }

  /** Seconds per cost unit, or null before the first measurement. */
  secondsPerCost(): number | null {
    return this.spc;
  }
}
