/**
 * Which coordinator welcomed this agent. A coordinator that restarts welcomes with a new
 * boot id once; two coordinators answering on one namespace welcome in turns (each asks the
 * agent to join again when it meets the other's epoch). Seeing a boot come back within a
 * minute of the switch away from it means two coordinators: the agent stops and says so
 * instead of re-joining forever.
 */
import { describeCoordinator, type CoordinatorId } from '../protocol/index.js';

const WINDOW_MS = 60_000;

export class CoordinatorWatch {
  private current: CoordinatorId | null = null;
  private previous: { c: CoordinatorId; leftAt: number } | null = null;

  /** Records a welcome; returns the message to stop with when two coordinators answer. */
  welcomed(c: CoordinatorId, now: number): string | null {
    const cur = this.current;
    this.current = c;
    if (!cur || cur.boot === c.boot) return null;
    const prev = this.previous;
    this.previous = { c: cur, leftAt: now };
    if (prev && prev.c.boot === c.boot && now - prev.leftAt < WINDOW_MS) {
      return `two coordinators answer on this namespace: ${describeCoordinator(c)}, and ${describeCoordinator(cur)}. Stop one of them`;
    }
    return null;
  }
}
