/** Keeps the `size` largest items by `key` (a min-heap): the report's slowest tasks, in O(log size) per item. */
export class TopK<T> {
  private heap: T[] = [];
  constructor(
    private readonly size: number,
    private readonly key: (t: T) => number,
  ) {}
  add(t: T): void {
    const h = this.heap;
    if (h.length < this.size) {
      h.push(t);
      let i = h.length - 1;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (this.key(h[p]!) <= this.key(h[i]!)) break;
        [h[p], h[i]] = [h[i]!, h[p]!];
        i = p;
      }
      return;
    }
    if (this.size === 0 || this.key(t) <= this.key(h[0]!)) return;
    h[0] = t;
    for (let i = 0; ; ) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && this.key(h[l]!) < this.key(h[m]!)) m = l;
      if (r < h.length && this.key(h[r]!) < this.key(h[m]!)) m = r;
      if (m === i) break;
      [h[m], h[i]] = [h[i]!, h[m]!];
      i = m;
    }
  }
  sorted(): T[] {
    return [...this.heap].sort((a, b) => this.key(b) - this.key(a));
  }
}
