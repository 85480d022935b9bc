/**
 * Every subject shoal uses, built here and nowhere else. All live under `shoal.<ns>.` so
 * several deployments can share a server and permissions can be scoped per namespace.
 *
 * Roles and what they publish (deploy/nats/ grants exactly this):
 * - operator (CLI):   ctl.*                        (request)
 * - agent:            agent.hello, agent.pull, agent.heartbeat, sink.results
 * - coordinator/sink: agent.<id>.cmd, sink.ctl, sink.committed, events
 */

const NS_RE = /^[A-Za-z0-9_-]{1,64}$/;

/** Throws when a namespace would break the subject hierarchy. */
export function checkNamespace(ns: string): string {
  if (!NS_RE.test(ns)) {
    throw new Error(`namespace '${ns}' is not valid: use 1-64 letters, digits, '_' or '-'`);
  }
  return ns;
}

/** Control verbs the CLI sends to the coordinator. */
export const CTL_VERBS = ['submit', 'status', 'cancel', 'drain'] as const;
export type CtlVerb = (typeof CTL_VERBS)[number];

export interface Subjects {
  readonly prefix: string;
  /** CLI → coordinator requests. */
  ctl(verb: CtlVerb): string;
  /** Wildcard the coordinator listens on for all control verbs. */
  readonly ctlAll: string;
  /** Agent → coordinator: join (request). */
  readonly hello: string;
  /** Agent → coordinator: ask for work (request, long-polled). */
  readonly pull: string;
  /** Agent → coordinator: liveness and load (publish). */
  readonly heartbeat: string;
  /** Coordinator → one agent: abort, drain (publish). */
  agentCmd(agentId: string): string;
  /** Agent (or coordinator) → sink: result batches (request; the reply is the ack). */
  readonly results: string;
  /** Coordinator → sink: open and close jobs (request). */
  readonly sinkCtl: string;
  /** Sink → coordinator: committed tasks (request; retried until answered). */
  readonly committed: string;
  /** Coordinator → anyone: job ended and similar notices (publish). */
  readonly events: string;
}

/** The subjects of one namespace. */
export function subjects(ns: string): Subjects {
  const p = `shoal.${checkNamespace(ns)}`;
  return {
    prefix: p,
    ctl: (verb) => `${p}.ctl.${verb}`,
    ctlAll: `${p}.ctl.*`,
    hello: `${p}.agent.hello`,
    pull: `${p}.agent.pull`,
    heartbeat: `${p}.agent.heartbeat`,
    agentCmd: (agentId) => `${p}.agent.${subjectToken(agentId)}.cmd`,
    results: `${p}.sink.results`,
    sinkCtl: `${p}.sink.ctl`,
    committed: `${p}.sink.committed`,
    events: `${p}.events`,
  };
}

/** Makes any id safe as one subject token (no dots, spaces or wildcards). */
export function subjectToken(id: string): string {
  return id.replace(/[^A-Za-z0-9_-]/g, '_');
}
