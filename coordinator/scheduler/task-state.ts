/**
 * Task states, each carrying its own data, and the table of allowed moves between them.
 * Every move goes through `moveTask`; an illegal one throws an error that names the task,
 * both states and its recent history.
 */
import { IllegalMoveError, type WireError } from '../../src/errors.js';
import type { NewTask } from './options.js';

/** Where a task stands. */
export type TaskState =
  /** Waiting in its job's queue. */
  | { readonly s: 'queued' }
  /** Handed to an agent in dispatch `dispatch`; `copy` is a speculative second lease, if any. */
  | { readonly s: 'leased'; readonly agent: string; readonly since: number; readonly dispatch: number; readonly copy: Copy | null }
  /** Out of attempts (or unschedulable): the coordinator is writing its error row. */
  | { readonly s: 'failing'; readonly error: WireError }
  /** A row for it is committed in the output. */
  | { readonly s: 'done'; readonly status: 'ok' | 'error' }
  /** Its job was cancelled before it was committed. */
  | { readonly s: 'cancelled' }
  /** Replaced by its two halves (ids `<id>/0`, `<id>/1`) before it ever ran. */
  | { readonly s: 'split' };

/** A speculative copy of a leased task on a second agent. */
export interface Copy {
  readonly agent: string;
  readonly since: number;
  readonly dispatch: number;
}

export type TaskStateName = TaskState['s'];

/** The allowed moves. `done` and `split` are final. */
export const TRANSITIONS: Readonly<Record<TaskStateName, readonly TaskStateName[]>> = {
  // queued → split: only a task that never started (moveTask checks), so no copy of it can be running.
  queued: ['leased', 'done', 'failing', 'cancelled', 'split'],
  // leased → leased: the speculative copy is added or dropped, or the lease moves to the copy.
  leased: ['queued', 'leased', 'done', 'failing', 'cancelled'],
  failing: ['done', 'cancelled'],
  done: [],
  // A result that finished before the cancel and arrives after it is still written: done.
  cancelled: ['done'],
  split: [],
};

/** TRANSITIONS as a lookup table (from → to → allowed), for the hot path. */
const ALLOWED: Readonly<Record<TaskStateName, Readonly<Record<TaskStateName, boolean>>>> = Object.fromEntries(
  (Object.keys(TRANSITIONS) as TaskStateName[]).map((from) => [
    from,
    Object.fromEntries((Object.keys(TRANSITIONS) as TaskStateName[]).map((to) => [to, TRANSITIONS[from].includes(to)])),
  ]),
) as Record<TaskStateName, Record<TaskStateName, boolean>>;

/** The one `queued` state object (it carries no data). */
export const QUEUED: TaskState = Object.freeze({ s: 'queued' });
/** The one `split` state object. */
export const SPLIT: TaskState = Object.freeze({ s: 'split' });
export const DONE_OK: TaskState = Object.freeze({ s: 'done', status: 'ok' });
export const DONE_ERROR: TaskState = Object.freeze({ s: 'done', status: 'error' });

/** What a move may change beside the state: the attempt number and the agent to avoid. */
export interface TaskChange {
  readonly attempt?: number;
  readonly avoid?: string;
}

/**
 * A task as the scheduler holds it. What changes over its life (state, attempt, avoid, started,
 * lessees) is read-only here: only `moveTask` changes it, so every change is a move the table
 * allows and the ring records.
 */
export interface Task {
  readonly job: string;
  readonly id: string;
  /** Its number in the job's task source, or -1 (a split half). */
  readonly index: number;
  readonly cost: number;
  readonly memory: number;
  readonly threads: number;
  /** GPUs it needs on its agent (0: none). */
  readonly gpus: number;
  /** Approximate encoded size of the task message, for keeping dispatches under max_payload. */
  readonly bytes: number;
  readonly ref: unknown;
  /** Attempt number of the current or next run, from 1. */
  readonly attempt: number;
  readonly state: TaskState;
  /** The agent of the last failed attempt, to prefer another one next time. */
  readonly avoid: string | null;
  /** It has been leased at least once (so it may be running somewhere: never split it). */
  readonly started: boolean;
  /**
   * Every agent it was leased to (or adopted from) in this coordinator's life: the agents
   * whose results for it the sink believes. One id, or several after requeues and copies.
   */
  readonly lessees: string | readonly string[] | null;
}

type MutableTask = { -readonly [K in keyof Task]: Task[K] };

/** A new task in state `state` (queued, or done when a resumed job's output holds it), attempt 1. */
export function newTask(job: string, t: NewTask, state: TaskState, index = -1): Task {
  return {
    job,
    id: t.id,
    index,
    cost: Math.max(t.cost, 1e-9),
    memory: t.memory ?? 0,
    threads: Math.max(1, t.threads ?? 1),
    gpus: Math.max(0, t.gpus ?? 0),
    bytes: t.bytes ?? 64,
    ref: t.ref,
    attempt: 1,
    state,
    avoid: null,
    started: false,
    lessees: null,
  };
}

/**
 * The most recent moves of all tasks in a fixed ring (cheaper than a history per task; an
 * illegal move shows the task's moves that are still in the ring).
 */
export class TransitionLog {
  private readonly tasks: Array<Task | null>;
  private readonly from: TaskStateName[];
  private readonly to: TaskStateName[];
  private readonly events: Float64Array;
  private readonly attempts: Uint32Array;
  private next = 0;
  constructor(readonly size = 8192) {
    this.tasks = new Array<Task | null>(size).fill(null);
    this.from = new Array<TaskStateName>(size).fill('queued');
    this.to = new Array<TaskStateName>(size).fill('queued');
    this.events = new Float64Array(size);
    this.attempts = new Uint32Array(size);
  }
  record(t: Task, from: TaskStateName, to: TaskStateName, event: number): void {
    const i = this.next;
    this.tasks[i] = t;
    this.from[i] = from;
    this.to[i] = to;
    this.events[i] = event;
    this.attempts[i] = t.attempt;
    this.next = i + 1 === this.size ? 0 : i + 1;
  }
  /** "queued>leased@12, leased>queued@40 #2": the task's moves still in the ring, oldest first (#: attempt after the move, past the first). */
  historyOf(t: Task, max = 8): string {
    const out: string[] = [];
    for (let k = 1; k <= this.size && out.length < max; k++) {
      const i = (this.next - k + this.size) % this.size;
      if (this.tasks[i] === t) out.unshift(`${this.from[i]}>${this.to[i]}@${this.events[i]}${this.attempts[i]! > 1 ? ` #${this.attempts[i]}` : ''}`);
    }
    return out.join(', ');
  }
}


/**
 * Moves a task to a new state if the table allows it, applying `change` (attempt, avoid) with
 * the move; records the move in `log`.
 */
export function moveTask(task: Task, next: TaskState, event: number, log: TransitionLog, change?: TaskChange): void {
  const from = task.state.s;
  // A task that ever started may be running somewhere: it is never split.
  if (!ALLOWED[from][next.s] || (next.s === 'split' && task.started)) throw new IllegalMoveError(`task ${task.job}/${task.id}`, from, next.s, `event ${event}; recent: ${log.historyOf(task) || 'none'}`);
  const t = task as MutableTask;
  if (change) {
    if (change.attempt !== undefined) t.attempt = change.attempt;
    if (change.avoid !== undefined) t.avoid = change.avoid;
  }
  log.record(task, from, next.s, event);
  t.state = next;
  if (next.s === 'leased') {
    t.started = true;
    addLessee(t, next.agent);
    if (next.copy) addLessee(t, next.copy.agent);
  }
}

function addLessee(t: MutableTask, agent: string): void {
  const l = t.lessees;
  if (l === null) t.lessees = agent;
  else if (typeof l === 'string') {
    if (l !== agent) t.lessees = [l, agent];
  } else if (!l.includes(agent)) t.lessees = [...l, agent];
}

/** Whether the task was leased to (or adopted from) `agent` in this coordinator's life. */
export function wasLeasedTo(t: Task, agent: string): boolean {
  const l = t.lessees;
  return l === agent || (typeof l !== 'string' && l !== null && l.includes(agent));
}

/** The agents currently holding a lease (or copy) on the task. */
export function holders(state: TaskState): string[] {
  if (state.s !== 'leased') return [];
  return state.copy ? [state.agent, state.copy.agent] : [state.agent];
}

/** Whether `agent` holds a lease (or the copy) on the task now. */
export function isHeldBy(state: TaskState, agent: string): boolean {
  return state.s === 'leased' && (state.agent === agent || state.copy?.agent === agent);
}
