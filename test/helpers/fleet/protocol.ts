/** What a fleet host (host.ts) and its controller (fleet.ts) say to each other over IPC. */

/** A request from the controller; the host answers each with a FleetReply of the same id. */
export type FleetRequest =
  /** Starts agents with these host names; answered once each has joined the coordinator. */
  | { id: number; op: 'add'; hosts: string[] }
  /** Drains these agents (as SIGTERM does); answered once each has stopped, with its exit code. */
  | { id: number; op: 'drain'; hosts: string[]; graceMs?: number }
  /** Cuts these agents off at once, with no goodbye, as a crashed node; answered at once. */
  | { id: number; op: 'vanish'; hosts: string[] }
  /** Measurements of requests sent in [from, to) (epoch ms), and the host's own load. */
  | { id: number; op: 'stats'; from: number; to: number }
  /** Stops every agent and ends the process. */
  | { id: number; op: 'stop' };

export type FleetReply<T = unknown> = { id: number; ok: true; result: T } | { id: number; ok: false; error: string };

/** One agent as its host sees it. */
export interface SimAgentState {
  host: string;
  id: string;
  /** The agent core's session state (active, draining, stopped, ...). */
  state: string;
  /** Tasks it has run to a result. */
  done: number;
  /** Slots busy now. */
  busy: number;
}

/** What one fleet host measured. */
export interface HostStats {
  agents: SimAgentState[];
  /** Latencies (ms) of pulls (a pull waits at the coordinator while there is no work for it). */
  pulls: number[];
  /** Latencies (ms) of result batches until the sink acknowledged them. */
  results: number[];
  /** Heartbeats the host's agents published in the window. */
  heartbeats: number;
  /** The host process's CPU over the window (% of one core) and its event loop's delay (ms). */
  cpuPercent: number;
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
}
