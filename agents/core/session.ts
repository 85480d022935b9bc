/**
 * The agent's session with the coordinator: named states, each carrying its own data, and the
 * table of allowed moves. Every move goes through `moveSession`; an illegal one throws.
 */
import { IllegalMoveError } from '../../src/errors.js';

/** What a welcome gave: the coordinator's epoch and the last dispatch seen under it. */
export interface Link {
  readonly epoch: number;
  /** The seq of the last dispatch; the next pull echoes it (a gap tells the coordinator a dispatch was lost). */
  seq: number;
}

/** Where the agent stands. */
export type Session =
  /** Made, not started. */
  | { readonly s: 'starting' }
  /** Started and pulling as soon as a coordinator welcomes it (first join, or asked to join again). */
  | { readonly s: 'joining' }
  /** Welcomed: pulls work, runs it, reports. */
  | { readonly s: 'active'; readonly link: Link }
  /** Pulls nothing more; running tasks have their grace period. `link` is null while it joins again. */
  | { readonly s: 'draining'; readonly link: Link | null }
  /** Nothing runs any more: hands the rest back, flushes the outbox, then exits. */
  | { readonly s: 'stopping'; readonly link: Link | null }
  /** Stopped: nothing more happens. */
  | { readonly s: 'stopped' };

export type SessionName = Session['s'];

/** The allowed moves. A move to the same state changes its data (a new link). */
export const SESSION_MOVES: Readonly<Record<SessionName, readonly SessionName[]>> = {
  starting: ['joining', 'draining', 'stopped'],
  joining: ['active', 'draining', 'stopped'],
  active: ['joining', 'draining', 'stopped'],
  draining: ['draining', 'stopping', 'stopped'],
  stopping: ['stopping', 'stopped'],
  stopped: [],
};

/** The next session if the table allows the move from `from`; throws otherwise. */
export function moveSession(from: Session, to: Session, event: string): Session {
  if (!SESSION_MOVES[from.s].includes(to.s)) throw new IllegalMoveError('agent session', from.s, to.s, `on ${event}`);
  return to;
}

/** The link of a session, if it has one. */
export function linkOf(s: Session): Link | null {
  return 'link' in s ? s.link : null;
}
