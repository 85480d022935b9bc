/**
 * One job's tasks and its queue in one place: every task by number, the dispatch order
 * (requeued tasks first, then largest first), the count of tasks in each state and the cost
 * still queued. Tasks move only through `move`, which keeps the counts, the queued cost and
 * the retry list in step with the states, so no caller edits them by hand.
 *
 * A task has no object while it waits or once it is committed: a byte per task number says
 * where it stands (`Slot`), and the task is built from its number (TaskSource) when a scan
 * reaches it or someone asks for it. Objects live from then until the task is committed or
 * split. Halves of split tasks have no number: they are objects from birth (there are few).
 */
import type { TaskOrder } from './cost-order.js';
import { CommittedLessees } from './lessees.js';
import type { NewTask, TaskSource } from './options.js';
import { DONE_ERROR, DONE_OK, moveTask, newTask, QUEUED, SPLIT, wasLeasedTo, type Task, type TaskChange, type TaskState, type TaskStateName, type TransitionLog } from './task-state.js';

/** What a scan makes of one queued task: take it, leave it for another agent, end the scan, or it is no longer queued. */
export type Verdict = 'take' | 'skip' | 'stop' | 'gone';

/** Where a numbered task stands while it has no object (LIVE: it has one, in `live`). */
const enum Slot {
  Fresh = 0,
  Live = 1,
  Ok = 2,
  Error = 3,
  Cancelled = 4,
  Split = 5,
}
const SLOT_STATE: Readonly<Record<Exclude<Slot, Slot.Live>, TaskStateName>> = { [Slot.Fresh]: 'queued', [Slot.Ok]: 'done', [Slot.Error]: 'done', [Slot.Cancelled]: 'cancelled', [Slot.Split]: 'split' };
const CANCELLED: TaskState = Object.freeze({ s: 'cancelled' });
const EMPTY: TaskSource = { length: 0, at: () => ({ id: '', cost: 0, ref: null }), costAt: () => 0, indexOf: () => -1 };

export class JobQueue {
  private src: TaskSource = EMPTY;
  private slot = new Uint8Array(0);
  /** Dispatch order of the task numbers, largest first; null: the numbers' own order. */
  private order: Uint32Array | null = null;
  /** Position in the order before which no task is queued (others are skipped lazily). */
  private head = 0;
  /** Numbered tasks that have an object. */
  private readonly live = new Map<number, Task>();
  /** Halves of split tasks (and the split halves among them) by id. */
  private readonly extra = new Map<string, Task>();
  /** Queued halves, largest first (others are dropped lazily); dispatch merges them with the order. */
  private halves: Task[] = [];
  /** Requeued tasks, served before the ordered queue (others are dropped lazily). */
  private retry: Task[] = [];
  private readonly n: Record<TaskStateName, number> = { queued: 0, leased: 0, failing: 0, done: 0, cancelled: 0, split: 0 };
  private cost = 0;
  /** Who held the committed numbered tasks (null once the job let its tasks go). */
  private lessees: CommittedLessees | null = null;
  /** Tasks that joined the queue after the job was loaded (requeued, halves): new work for agents served before. */
  enqueued = 0;
  /** Set when the job ended and its tasks were let go: the count of tasks it had. */
  private releasedTotal: number | null = null;

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
    return this.releasedTotal ?? this.src.length + this.extra.size - this.n.split;
  }

  /** Tasks not finished yet: queued, leased, or failing (their error row on its way). */
  get open(): number {
    return this.n.queued + this.n.leased + this.n.failing;
  }

  /** Whether the job's tasks were let go (it ended). */
  get released(): boolean {
    return this.releasedTotal !== null;
  }

  /** Takes the job's tasks, all queued, in their order (see cost-order.ts). */
  load(src: TaskSource, order: TaskOrder): void {
    if (this.src !== EMPTY) throw new Error(`job ${this.job}: tasks loaded twice`);
    this.src = src;
    this.slot = new Uint8Array(src.length);
    this.lessees = new CommittedLessees(src.length);
    this.order = order.order;
    this.n.queued = src.length;
    this.cost = order.cost;
  }

  /** A queued task without an object that is committed already (a resumed job's output holds it). */
  markDone(i: number, status: 'ok' | 'error'): boolean {
    if (this.slot[i] !== Slot.Fresh) return false;
    this.slot[i] = status === 'ok' ? Slot.Ok : Slot.Error;
    this.n.queued--;
    this.n.done++;
    this.cost -= Math.max(this.src.costAt(i), 1e-9);
    return true;
  }

  /** Whether task number i is queued and has no object yet. */
  isFresh(i: number): boolean {
    return this.slot[i] === Slot.Fresh;
  }

  /** The task `id` names; a split one is not found (its halves do its work). Builds its object if it has none. */
  get(id: string): Task | undefined {
    const t = this.find(id);
    return t === undefined || t.state.s === 'split' ? undefined : t;
  }

  /** The task `id` names, split ones included. */
  find(id: string): Task | undefined {
    const e = this.extra.get(id);
    if (e !== undefined) return e;
    const i = this.src.indexOf(id);
    if (i < 0) return undefined;
    // A released job has only the objects it kept.
    return this.released ? this.live.get(i) : this.taskAt(i);
  }

  /**
   * Whether task `id` was leased to (or adopted from) `agent` in this coordinator's life, without
   * building its object (a task that never had one was never leased). A job that ended done has
   * let its tasks go: nothing more of it is written (as once the sink has closed its output).
   */
  leasedTo(id: string, agent: string): boolean {
    const e = this.extra.get(id);
    if (e !== undefined) return wasLeasedTo(e, agent);
    if (this.released && this.n.cancelled === 0) return false;
    const i = this.src.indexOf(id);
    if (i < 0) return false;
    const live = this.live.get(i);
    if (live !== undefined) return wasLeasedTo(live, agent);
    const s = this.slot[i];
    return (s === Slot.Ok || s === Slot.Error) && this.committedLessees(i).includes(agent);
  }

  /** The task's object when it has one, without building it. */
  peek(id: string): Task | undefined {
    const e = this.extra.get(id);
    if (e !== undefined) return e;
    const i = this.src.indexOf(id);
    return i >= 0 ? this.live.get(i) : undefined;
  }

  private committedLessees(i: number): readonly string[] {
    return this.lessees?.of(i) ?? [];
  }

  /** The tasks that have objects: leased, failing, requeued or looked at, and halves. */
  *objects(): IterableIterator<Task> {
    yield* this.live.values();
    yield* this.extra.values();
  }

  /**
   * Task number i. Built and kept when queued; a committed, cancelled or split one without an
   * object gets a passing one in that state (it is final, or moves only to done).
   */
  private taskAt(i: number): Task {
    const s = this.slot[i]! as Slot;
    if (s === Slot.Live) return this.live.get(i)!;
    if (s === Slot.Fresh) {
      const t = newTask(this.job, this.src.at(i), QUEUED, i);
      this.slot[i] = Slot.Live;
      this.live.set(i, t);
      return t;
    }
    const t = newTask(this.job, this.src.at(i), s === Slot.Ok ? DONE_OK : s === Slot.Error ? DONE_ERROR : s === Slot.Cancelled ? CANCELLED : SPLIT, i);
    const held = this.committedLessees(i);
    return held.length === 0 ? t : { ...t, lessees: held.length === 1 ? held[0]! : held };
  }

  /** Adds a task without a number (a split half, or one that came after the job was loaded), in `state` (queued, or done when the output holds it). */
  addHalf(h: NewTask, state: TaskState): Task {
    if (this.extra.has(h.id) || this.src.indexOf(h.id) >= 0) throw new Error(`job ${this.job}: task id ${h.id} is not unique`);
    const t = newTask(this.job, h, state);
    this.extra.set(h.id, t);
    this.n[state.s]++;
    if (state.s === 'queued') {
      this.cost += t.cost;
      this.enqueued++;
      insertByCost(this.halves, t);
    }
    return t;
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
      this.enqueued++;
      this.retry.push(t);
    }
    // A numbered task committed or split needs its object no more.
    if (t.index >= 0 && (next.s === 'done' || next.s === 'split')) {
      this.slot[t.index] = next.s === 'split' ? Slot.Split : next.status === 'ok' ? Slot.Ok : Slot.Error;
      if (next.s === 'done') this.lessees?.record(t.index, t.lessees);
      this.live.delete(t.index);
    }
  }

  /** Replaces a queued task that never started by its halves (they join the largest-first order). */
  splitAt(parent: Task, halves: readonly NewTask[], ev: number): Task[] {
    this.move(parent, SPLIT, ev);
    if (parent.index < 0) {
      const k = this.halves.indexOf(parent);
      if (k >= 0) this.halves.splice(k, 1);
    }
    return halves.map((h) => this.addHalf(h, QUEUED));
  }

  /** The task the next bundle starts with, about: the first queued retry, else the first of the order. */
  next(): Task | undefined {
    for (const t of this.retry) if (t.state.s === 'queued') return t;
    // The order's first queued task, as a scan would find it (a scan stopped at once takes nothing).
    let first: Task | undefined;
    this.scanOrder(
      () => first === undefined,
      (t) => {
        first = t;
        return 'stop';
      },
    );
    return first;
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
   * Visits the queued tasks largest first (the order merged with the queued halves) while
   * `more()` says so, until a task says 'stop'. Before a task is visited, `reshape` may replace
   * it by its halves (a split; then the scan looks again). The head moves past a task taken or
   * gone at the head.
   */
  scanOrder(more: () => boolean, visit: (t: Task) => Verdict, reshape?: (t: Task) => boolean): void {
    const n = this.src.length;
    let p = this.head;
    let h = 0;
    while (more()) {
      while (p < n && !this.queuedAt(p)) {
        if (p === this.head) this.head++;
        p++;
      }
      while (h < this.halves.length && this.halves[h]!.state.s !== 'queued') this.halves.splice(h, 1);
      const half = this.halves[h];
      if (p >= n && half === undefined) break;
      const fromOrder = p < n && (half === undefined || half.cost <= this.src.costAt(this.numberAt(p)));
      const t = fromOrder ? this.taskAt(this.numberAt(p)) : half!;
      if (reshape?.(t)) continue;
      const v = visit(t);
      if (v === 'stop') break;
      if (fromOrder) {
        if (v !== 'skip' && p === this.head) this.head++;
        p++;
      } else if (v === 'skip') h++;
      else this.halves.splice(h, 1);
    }
  }

  private numberAt(p: number): number {
    return this.order === null ? p : this.order[p]!;
  }

  private queuedAt(p: number): boolean {
    const i = this.numberAt(p);
    const s = this.slot[i];
    return s === Slot.Fresh || (s === Slot.Live && this.live.get(i)!.state.s === 'queued');
  }

  /**
   * Cancels every queued task that has no object (the caller moves those with objects first);
   * then nothing is queued.
   */
  cancelWaiting(): void {
    let k = 0;
    for (let i = 0; i < this.slot.length; i++) {
      if (this.slot[i] === Slot.Fresh) {
        this.slot[i] = Slot.Cancelled;
        k++;
      }
    }
    this.n.queued -= k;
    this.n.cancelled += k;
    this.cost = 0;
  }

  /** Empties the queue (the job was cancelled: no queued task is left). */
  close(): void {
    this.retry = [];
    this.halves = [];
    this.head = this.src.length;
    this.order = null;
  }

  /**
   * Lets the tasks go once the job ended; counts stay. A job done has every task committed:
   * nothing of it is kept. A cancelled one keeps its tasks with objects (leased ones may still
   * send their results, which are written), not the byte per task.
   */
  release(): void {
    if (this.open > 0) return;
    this.releasedTotal = this.total;
    this.close();
    this.slot = new Uint8Array(0);
    this.lessees = null;
    if (this.n.cancelled > 0) return;
    this.src = EMPTY;
    this.live.clear();
    this.extra.clear();
  }

  /**
   * What the invariant check needs (O(tasks)): the states of the tasks without objects and the
   * cost of the queued ones, and which tasks a scan can reach.
   */
  audit(): { counts: Record<TaskStateName, number>; freshCost: number; reaches(t: Task): boolean; unreachableFresh: string | null } {
    const counts: Record<TaskStateName, number> = { queued: 0, leased: 0, failing: 0, done: 0, cancelled: 0, split: 0 };
    let freshCost = 0;
    for (let i = 0; i < this.slot.length; i++) {
      const s = this.slot[i]! as Slot;
      if (s === Slot.Live) continue;
      counts[SLOT_STATE[s]]++;
      if (s === Slot.Fresh) freshCost += Math.max(this.src.costAt(i), 1e-9);
    }
    // A released job keeps its counts and some objects: the counts less those are the rest.
    if (this.releasedTotal !== null) {
      Object.assign(counts, this.n);
      for (const t of this.objects()) counts[t.state.s]--;
    }
    const ahead = new Set<number>();
    for (let p = this.head; p < this.src.length; p++) ahead.add(this.numberAt(p));
    const listed = new Set([...this.retry, ...this.halves]);
    let unreachableFresh: string | null = null;
    for (let i = 0; i < this.slot.length && unreachableFresh === null; i++) if (this.slot[i] === Slot.Fresh && !ahead.has(i)) unreachableFresh = this.src.at(i).id;
    return { counts, freshCost, unreachableFresh, reaches: (t) => listed.has(t) || (t.index >= 0 && ahead.has(t.index)) };
  }

  /** The queue's insides, for tests that break an invariant on purpose. */
  forTests(): { drop(t: Task): void; retry: Task[]; counts: Record<TaskStateName, number>; addCost(c: number): void } {
    return {
      drop: (t) => {
        // The task's place in the order gets the head's task; the head moves on past it.
        const order = this.order ?? Uint32Array.from({ length: this.src.length }, (_, i) => i);
        const p = order.indexOf(t.index, this.head);
        order[p] = order[this.head]!;
        this.order = order;
        this.head++;
      },
      retry: this.retry,
      counts: this.n,
      addCost: (c) => void (this.cost += c),
    };
  }
}

/** Inserts `t` into `list` (largest cost first) after every task that costs as much or more. */
function insertByCost(list: Task[], t: Task): void {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid]!.cost >= t.cost) lo = mid + 1;
    else hi = mid;
  }
  list.splice(lo, 0, t);
}
