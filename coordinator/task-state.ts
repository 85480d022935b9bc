/**
 * Task states, each carrying its own data, and the table of allowed moves between them.
 * Every move goes through `moveTask`; an illegal one throws an error that names the task,
 * both states and its recent history.
 */
import type { WireError } from '../src/errors.js';

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
  | { readonly s: 'cancelled' };

/** A speculative copy of a leased task on a second agent. */
export interface Copy {
  readonly agent: string;
  readonly since: number;
  readonly dispatch: number;
}

export type TaskStateName = TaskState['s'];

/** The allowed moves. `done` and `cancelled` are final. */
export const TRANSITIONS: Readonly<Record<TaskStateName, readonly TaskStateName[]>> = {
  queued: ['leased', 'done', 'failing', 'cancelled'],
  // leased → leased: the speculative copy is added or dropped, or the lease moves to the copy.
  leased: ['queued', 'leased', 'done', 'failing', 'cancelled'],
  failing: ['done', 'cancelled'],
  done: [],
  cancelled: [],
};

/** A task as the scheduler holds it. */
export interface Task {
  readonly job: string;
  readonly id: string;
  readonly cost: number;
  readonly memory: number;
  readonly threads: number;
  /** Approximate encoded size of the task message, for keeping dispatches under max_payload. */
  readonly bytes: number;
  readonly ref: unknown;
  /** Attempt number of the current or next run, from 1. */
  attempt: number;
  state: TaskState;
  /** The agent of the last failed attempt, to prefer another one next time. */
  avoid: string | null;
  /** Recent moves, oldest first, as [from, to, event] triples flattened. Capped. */
  readonly history: Array<string | number>;
}

const HISTORY = 6;

export class IllegalTransitionError extends Error {
  readonly code = 'E_INTERNAL';
  constructor(
    readonly task: Task,
    readonly to: TaskStateName,
    readonly event: number,
  ) {
    super(
      `illegal transition of task ${task.job}/${task.id}: ${task.state.s} → ${to} (event ${event}); recent: ${formatHistory(task.history) || 'none'}`,
    );
    this.name = 'IllegalTransitionError';
  }
}

/** Moves a task to a new state if the table allows it; records the move in its history. */
export function moveTask(task: Task, next: TaskState, event: number): void {
  const from = task.state.s;
  if (!TRANSITIONS[from].includes(next.s)) throw new IllegalTransitionError(task, next.s, event);
  const h = task.history;
  if (h.length >= HISTORY * 3) h.splice(0, 3);
  h.push(from, next.s, event);
  task.state = next;
}

/** "queued>leased@12, leased>done@40" from the flattened history. */
export function formatHistory(h: ReadonlyArray<string | number>): string {
  const parts: string[] = [];
  for (let i = 0; i + 2 < h.length; i += 3) parts.push(`${h[i]}>${h[i + 1]}@${h[i + 2]}`);
  return parts.join(', ');
}

/** The agents currently holding a lease (or copy) on the task. */
export function holders(state: TaskState): string[] {
  if (state.s !== 'leased') return [];
  return state.copy ? [state.agent, state.copy.agent] : [state.agent];
}
