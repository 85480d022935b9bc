/**
 * One job's tasks and its queue in one place: every task by id, the dispatch order (requeued
 * tasks first, then largest first), the count of tasks in each state and the cost still queued.
 * Tasks move only through `move`, which keeps the counts, the queued cost and the retry list in
 * step with the states, so no caller edits them by hand.
 */
import { moveTask, SPLIT, type Task, type TaskChange, type TaskState, type TaskStateName, type TransitionLog } from './task-state.js';

/** What a scan makes of one queued task: take it, leave it for another agent, end the scan, or it is no longer queued. */
export type Verdict = 'take' | 'skip' | 'stop' | 'gone';

export class JobQueue {
  /** Every task of the job by id, split ones included (in their end state). */
  private readonly tasks = new Map<string, Task>();
  /** Largest first; queued tasks at index >= head (others are skipped lazily). */
  private readonly order: Task[] = [];
  private head = 0;
  /** Requeued tasks, served before the ordered queue (others are dropped lazily). */
  private retry: Task[] = [];
  private readonly n: Record<TaskStateName, number> = { queued: 0, leased: 0, failing: 0, done: 0, cancelled: 0, split: 0 };
  private cost = 0;

  constructor(
    private readonly job: string,
    private readonly log: TransitionLog,
  ) {}

  /** How many tasks are in each state. */
  get counts(): Readonly<Record<TaskStateName, number>> {
    return this.n;
  }

  /** Summed cost of the queued tasks. */
  get queuedCost(): number {
    return this.cost;
  }

  /** The job's tasks, not counting split ones (their halves stand for them). */
  get total(): number {
    return this.tasks.size - this.n.split;
  }

  /** Tasks not finished yet: queued, leased, or failing (their error row on its way). */
  get open(): number {
    return this.n.queued + this.n.leased + this.n.failing;
  }

  /** The task `id` names; a split one is not found (its halves do its work). */
  get(id: string): Task | undefined {
    const t = this.tasks.get(id);
    return t === undefined || t.state.s === 'split' ? undefined : t;
  }

  /** The task `id` names, split ones included. */
  find(id: string): Task | undefined {
    return this.tasks.get(id);
  }

  all(): IterableIterator<Task> {
    return this.tasks.values();
  }

  /** Adds a new task (a queued one joins the order: call `sort` after adding a batch). */
  add(t: Task): void {
    this.register(t);
    if (t.state.s === 'queued') this.order.push(t);
  }

  /** Puts the order largest first (stable: equal costs keep the order they were added in). */
  sort(): void {
    this.order.sort((a, b) => b.cost - a.cost);
  }

  /** Adds a queued task that is split at once (a resumed job whose output holds its halves); the halves are added beside it. */
  addSplit(t: Task, ev: number): void {
    this.register(t);
    this.move(t, SPLIT, ev);
  }

  private register(t: Task): void {
    if (this.tasks.has(t.id)) throw new Error(`job ${this.job}: task id ${t.id} is not unique`);
    this.tasks.set(t.id, t);
    this.n[t.state.s]++;
    if (t.state.s === 'queued') this.cost += t.cost;
  }

  /** Moves a task through the table, keeping counts, queued cost and the retry list in step. */
  move(t: Task, next: TaskState, ev: number, change?: TaskChange): void {
    const from = t.state.s;
    moveTask(t, next, ev, this.log, change);
    this.n[from]--;
    this.n[next.s]++;
    if (from === 'queued') this.cost -= t.cost;
    if (next.s === 'queued') {
      // Back in the queue (handed back, failed or lost): served before the ordered queue.
      this.cost += t.cost;
      this.retry.push(t);
    }
  }

  /** Where a queued task stands in the order, or -1 (it is in the retry list, or not queued). */
  indexOf(t: Task): number {
    return this.order.indexOf(t, this.head);
  }

  /**
   * Replaces the queued task at `order[i]` by its halves: the task moves to `split` and the
   * halves take its place in the largest-first order (after i: they cost less than it).
   */
  splitAt(i: number, halves: readonly Task[], ev: number): void {
    const parent = this.order[i]!;
    this.move(parent, SPLIT, ev);
    this.order.splice(i, 1);
    for (const h of halves) {
      this.register(h);
      insertByCost(this.order, h, i);
    }
  }

  /** The task the next bundle starts with, about: the first queued retry, else the queue head. */
  next(): Task | undefined {
    for (const t of this.retry) if (t.state.s === 'queued') return t;
    for (let i = this.head; i < this.order.length; i++) if (this.order[i]!.state.s === 'queued') return this.order[i];
    return undefined;
  }

  /**
   * Visits the requeued tasks, oldest first, until one says 'stop'. Tasks taken or gone leave
   * the retry list; those skipped or not visited stay.
   */
  scanRetries(visit: (t: Task) => Verdict): void {
    const r = this.retry;
    let keep = 0;
    let stopped = false;
    for (let i = 0; i < r.length; i++) {
      const t = r[i]!;
      const v = stopped ? 'stop' : visit(t);
      if (v === 'stop') stopped = true;
      if (v === 'skip' || v === 'stop') r[keep++] = t;
    }
    r.length = keep;
  }

  /**
   * Visits the ordered queue from its head while `more()` says so, until a task says 'stop'.
   * Before a task is visited, `reshape` may replace it in the order (a split; it is asked
   * again until it declines). The head moves past a task taken or gone at the head.
   */
  scanOrder(more: () => boolean, visit: (t: Task) => Verdict, reshape?: (t: Task, i: number) => boolean): void {
    for (let i = this.head; i < this.order.length && more(); i++) {
      if (reshape) while (reshape(this.order[i]!, i));
      const v = visit(this.order[i]!);
      if (v === 'stop') break;
      if (v === 'skip') continue;
      if (i === this.head) this.head++;
    }
  }

  /** Empties the queue (the job was cancelled: no queued task is left). */
  close(): void {
    this.retry = [];
    this.head = this.order.length;
  }

  /** The queued tasks a scan can reach (for the invariant check). */
  reachable(): Set<Task> {
    return new Set([...this.retry, ...this.order.slice(this.head)]);
  }

  /** The queue's insides, for tests that break an invariant on purpose. */
  forTests(): { order: Task[]; retry: Task[]; counts: Record<TaskStateName, number>; addCost(c: number): void } {
    return { order: this.order, retry: this.retry, counts: this.n, addCost: (c) => void (this.cost += c) };
  }
}

/** Inserts `t` into `order` (largest cost first) at or after index `from`. */
function insertByCost(order: Task[], t: Task, from: number): void {
  let lo = from;
  let hi = order.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (order[mid]!.cost >= t.cost) lo = mid + 1;
    else hi = mid;
  }
  order.splice(lo, 0, t);
}
