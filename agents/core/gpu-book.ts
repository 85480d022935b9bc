/**
 * The agent's GPUs: which are free, and which a running bundle holds. A bundle takes its GPUs
 * when it starts and gives them back when it ends, however it ends; no GPU is held by two
 * bundles at once. The bundle book (bundle-book.ts) is the only caller.
 */
export class GpuBook {
  /** Free GPUs, lowest index first (a bundle gets the lowest free ones). */
  private free: number[];

  /** @param all the indices of the agent's GPUs (as CUDA_VISIBLE_DEVICES names them) */
  constructor(readonly all: readonly number[]) {
    if (new Set(all).size !== all.length) throw new Error(`GPU indices repeat: ${all.join(',')}`);
    this.free = [...all].sort((a, b) => a - b);
  }

  get total(): number {
    return this.all.length;
  }

  get freeCount(): number {
    return this.free.length;
  }

  /** Takes `n` free GPUs (the lowest), or null when fewer are free. */
  take(n: number): number[] | null {
    if (n > this.free.length) return null;
    return this.free.splice(0, n);
  }

  /** GPUs a bundle held, free again. */
  give(gpus: readonly number[]): void {
    for (const g of gpus) {
      if (!this.all.includes(g) || this.free.includes(g)) throw new Error(`GPU ${g} given back but it was not held`);
      this.free.push(g);
    }
    this.free.sort((a, b) => a - b);
  }

  /**
   * Asserts that the GPUs `held` (one list per running bundle) are the agent's, no two bundles
   * hold the same one, and with the free ones they are all of them.
   */
  check(held: Iterable<readonly number[]>): void {
    const seen = new Set<number>(this.free);
    if (seen.size !== this.free.length) throw new Error(`a free GPU is listed twice: ${this.free.join(',')}`);
    for (const list of held) {
      for (const g of list) {
        if (!this.all.includes(g)) throw new Error(`a bundle holds GPU ${g}, which is not this agent's`);
        if (seen.has(g)) throw new Error(`GPU ${g} is held by a bundle and ${this.free.includes(g) ? 'free' : 'another bundle'} at once`);
        seen.add(g);
      }
    }
    if (seen.size !== this.all.length) throw new Error(`GPUs lost: ${this.all.filter((g) => !seen.has(g)).join(',')} neither free nor held`);
  }
}
