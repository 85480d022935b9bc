/**
 * Agents as the scheduler knows them: named states, each with its own data, and the table of
 * allowed moves between them. The roster moves agents only through that table, and keeps the
 * slots of active agents and the set of parked pulls in step with their states.
 */
import type { AgentInfo, InterpreterMemory } from '../../protocol/index.js';
import { IllegalMoveError } from '../../src/errors.js';
import type { Task } from './task-state.js';

/** Where an agent stands. */
export type AgentState =
  /** Pulls and runs work. */
  | { readonly s: 'active' }
  /** Takes no new work: it finishes what it runs and hands the rest back. */
  | { readonly s: 'draining' }
  /** Silent past the timeout, its leases taken back, since `since`; it may say hello again. */
  | { readonly s: 'lost'; readonly since: number }
  /**
   * Gone after a drain, holding nothing: it was draining and fell silent with no lease left
   * (a drained agent exits, and SIGTERM drains), since `since`. Nothing was taken back from
   * it; it may say hello again.
   */
  | { readonly s: 'left'; readonly since: number };

export type AgentStateName = AgentState['s'];

/**
 * The allowed moves. Only a draining agent leaves (an active one that falls silent is lost);
 * a lost or left agent comes back only by saying hello (→ active).
 */
export const AGENT_TRANSITIONS: Readonly<Record<AgentStateName, readonly AgentStateName[]>> = {
  // active → active: a hello again (the agent restarted, or a coordinator restarted) opens a new epoch.
  active: ['active', 'draining', 'lost'],
  draining: ['active', 'lost', 'left'],
  lost: ['active'],
  left: ['active'],
};

/** Whether the agent is still with us (active or draining): not lost, not left. */
export function present(a: Agent): boolean {
  return a.state.s === 'active' || a.state.s === 'draining';
}

export const ACTIVE: AgentState = Object.freeze({ s: 'active' });
export const DRAINING: AgentState = Object.freeze({ s: 'draining' });

/** A pull waiting for work. */
export interface ParkedPull {
  token: unknown;
  want: number;
  freeSlots: number;
  memory: number;
  /** GPUs free for new bundles. */
  freeGpus: number;
  until: number;
  /** The work version (see dispatch.ts workVersion) at which serving it found nothing. */
  triedAt?: number;
}

export interface Agent {
  readonly id: string;
  /** What it said of itself in its last hello. */
  readonly info: AgentInfo;
  readonly epoch: number;
  /** Changed only by the roster, through the table. */
  readonly state: AgentState;
  lastSeen: number;
  readonly leases: Set<Task>;
  /** Dispatch seq → its tasks, until the agent confirms receipt with a later pull. */
  readonly dispatches: Map<number, Task[]>;
  seq: number;
  busy: number;
  memory: number;
  /** GPUs free, as its last pull or heartbeat said, less what was dispatched since. */
  freeGpus: number;
  done: number;
  /** Its live interpreters' memory per job, as its last heartbeat said (empty: none). */
  interpreters: InterpreterMemory[];
  /** Jobs whose params this agent has been sent. */
  readonly knows: Set<string>;
  /** Its parked pull; set and cleared by the roster (park, unpark). */
  readonly pull: ParkedPull | null;
}

type MutableAgent = { -readonly [K in keyof Agent]: Agent[K] };

export class AgentRoster {
  private readonly byId = new Map<string, Agent>();
  /** Agents whose pull is parked, waiting for work. */
  private readonly parkedSet = new Set<Agent>();
  private slots = 0;
  /** The most GPUs any agent that joined has (lost and forgotten ones too): it never shrinks. */
  private mostGpus = 0;
  private nextEpoch = 1;

  get(id: string): Agent | undefined {
    return this.byId.get(id);
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  get size(): number {
    return this.byId.size;
  }

  values(): IterableIterator<Agent> {
    return this.byId.values();
  }

  /** Slots of the active agents (a draining or lost one takes no new work). */
  get activeSlots(): number {
    return this.slots;
  }

  /** Agents whose pull is parked, in the order they parked. */
  parked(): Iterable<Agent> {
    return this.parkedSet;
  }

  /** A new agent, or a known one saying hello again: active under a new epoch, its dispatches and jobs known reset. */
  hello(id: string, info: AgentInfo, now: number): Agent {
    const epoch = this.nextEpoch++;
    this.mostGpus = Math.max(this.mostGpus, gpuCount(info));
    const known = this.byId.get(id) as MutableAgent | undefined;
    if (!known) {
      const a: MutableAgent = { id, info, epoch, state: ACTIVE, lastSeen: now, leases: new Set(), dispatches: new Map(), seq: 0, busy: 0, memory: info.memory.available, freeGpus: gpuCount(info), done: 0, interpreters: [], knows: new Set(), pull: null };
      this.byId.set(id, a);
      this.slots += info.slots;
      return a;
    }
    this.move(known, ACTIVE, info);
    known.epoch = epoch;
    known.lastSeen = now;
    known.freeGpus = gpuCount(info);
    known.dispatches.clear();
    known.knows.clear();
    this.unpark(known);
    return known;
  }

  /**
   * Moves an agent through the table (with its new info, on a hello), keeping the active slots
   * in step. An agent that is lost or has left runs nothing for us: its pull is dropped and
   * its busy slots and interpreters are no longer counted.
   */
  move(agent: Agent, next: AgentState, info?: AgentInfo): void {
    const a = agent as MutableAgent;
    const from = a.state.s;
    if (!AGENT_TRANSITIONS[from].includes(next.s)) throw new IllegalMoveError(`agent ${a.id}`, from, next.s);
    if (from === 'active') this.slots -= a.info.slots;
    if (info) a.info = info;
    a.state = next;
    if (next.s === 'active') this.slots += a.info.slots;
    if (!present(a)) {
      this.unpark(a);
      a.busy = 0;
      a.interpreters = [];
    }
  }

  /** Forgets a lost agent or one that left (it is no longer listed; it may join again). */
  forget(a: Agent): void {
    if (present(a)) throw new Error(`agent ${a.id} is ${a.state.s}: only a lost agent or one that left is forgotten`);
    this.byId.delete(a.id);
  }

  park(a: Agent, pull: ParkedPull): void {
    (a as MutableAgent).pull = pull;
    this.parkedSet.add(a);
  }

  unpark(a: Agent): void {
    (a as MutableAgent).pull = null;
    this.parkedSet.delete(a);
  }

  /** The largest memory limit among the agents that are still with us (not lost, not left). */
  largestMemory(): number {
    let max = 0;
    for (const a of this.byId.values()) if (present(a)) max = Math.max(max, a.info.memory.limit);
    return max;
  }

  /** The most GPUs of any agent that ever joined this coordinator. */
  largestGpus(): number {
    return this.mostGpus;
  }

  /** The roster's insides, for tests that break an invariant on purpose. */
  forTests(): { agents: Map<string, Agent>; addSlots(n: number): void; setLargestGpus(n: number): void } {
    return { agents: this.byId, addSlots: (n) => void (this.slots += n), setLargestGpus: (n) => void (this.mostGpus = n) };
  }
}

/** The GPUs an agent said it has (none when its hello did not tell: an older agent). */
export function gpuCount(info: AgentInfo): number {
  return info.gpus?.length ?? 0;
}
