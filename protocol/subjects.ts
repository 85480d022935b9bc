/**
 * Every subject shoal uses, built here and nowhere else. All live under `shoal.<ns>.` so
 * several deployments can share a server and permissions can be scoped per namespace.
 *
 * Subjects an agent sends on carry its *principal* (`agent.<P>.…`, `sink.results.<P>`): the
 * name NATS permissions grant it (deploy/nats/make-auth.sh gives each agent user exactly its
 * own). An agent id names its principal after an '@' (`node12-4711@chem-agent-3`; no '@':
 * the anonymous principal `_`), and a message is believed only when the id it speaks for
 * belongs to the principal of its subject, so with per-user permissions one agent cannot
 * speak for another.
 *
 * Roles and what they publish (deploy/nats/ grants exactly this):
 * - operator (CLI):   ctl.*                                   (request)
 * - agent P:          agent.P.hello, agent.P.pull, agent.P.heartbeat, sink.results.P
 * - coordinator/sink: agent.*.cmd.*, owner, events
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
export const CTL_VERBS = ['submit', 'status', 'cancel', 'drain', 'priority', 'alloc'] as const;
export type CtlVerb = (typeof CTL_VERBS)[number];

/** The principal of agents that have no NATS user (no permissions: anyone may speak for them). */
export const ANONYMOUS = '_';

export interface Subjects {
  readonly prefix: string;
  /** CLI → coordinator requests. */
  ctl(verb: CtlVerb): string;
  /** Wildcard the coordinator listens on for all control verbs. */
  readonly ctlAll: string;
  /** Coordinator ↔ coordinator: who owns this namespace (request; the owner answers). */
  readonly owner: string;
  /** Agent of principal P → coordinator: join (request). */
  hello(principal: string): string;
  /** Agent of principal P → coordinator: ask for work (request, long-polled). */
  pull(principal: string): string;
  /** Agent of principal P → coordinator: liveness and load (publish). */
  heartbeat(principal: string): string;
  /** Wildcards the coordinator listens on (any principal; the token is the sender's principal). */
  readonly helloAll: string;
  readonly pullAll: string;
  readonly heartbeatAll: string;
  /** Coordinator → one agent: abort, drain (publish). */
  agentCmd(agentId: string): string;
  /** Agent of principal P → sink: result batches (request; the reply is the ack). */
  results(principal: string): string;
  readonly resultsAll: string;
  /** Coordinator → anyone: job ended and similar notices (publish). */
  readonly events: string;
  /**
   * Subjects of protocol 1, where only peers of that version still send: the coordinator
   * answers them with a version refusal instead of leaving them to time out.
   */
  readonly legacy: { readonly hello: string; readonly pull: string; readonly results: string };
}

/** The subjects of one namespace. */
export function subjects(ns: string): Subjects {
  const p = `shoal.${checkNamespace(ns)}`;
  return {
    prefix: p,
    ctl: (verb) => `${p}.ctl.${verb}`,
    ctlAll: `${p}.ctl.*`,
    owner: `${p}.owner`,
    hello: (principal) => `${p}.agent.${subjectToken(principal)}.hello`,
    pull: (principal) => `${p}.agent.${subjectToken(principal)}.pull`,
    heartbeat: (principal) => `${p}.agent.${subjectToken(principal)}.heartbeat`,
    helloAll: `${p}.agent.*.hello`,
    pullAll: `${p}.agent.*.pull`,
    heartbeatAll: `${p}.agent.*.heartbeat`,
    agentCmd: (agentId) => `${p}.agent.${subjectToken(principalOf(agentId))}.cmd.${subjectToken(agentId)}`,
    results: (principal) => `${p}.sink.results.${subjectToken(principal)}`,
    resultsAll: `${p}.sink.results.*`,
    events: `${p}.events`,
    legacy: { hello: `${p}.agent.hello`, pull: `${p}.agent.pull`, results: `${p}.sink.results` },
  };
}

/** Makes any id safe as one subject token (no dots, spaces or wildcards). */
export function subjectToken(id: string): string {
  return id.replace(/[^A-Za-z0-9_-]/g, '_') || ANONYMOUS;
}

/** The principal an agent id belongs to: what follows its last '@', else the anonymous one. */
export function principalOf(agentId: string): string {
  const at = agentId.lastIndexOf('@');
  return at < 0 ? ANONYMOUS : agentId.slice(at + 1);
}

/** The principal token of a subject built by `hello`/`pull`/`heartbeat`/`results` (null when it is none of them). */
export function principalOfSubject(subject: string, prefix: string): string | null {
  if (!subject.startsWith(prefix)) return null;
  const rest = subject.slice(prefix.length + 1).split('.');
  if (rest.length === 3 && rest[0] === 'agent') return rest[1]!;
  if (rest.length === 3 && rest[0] === 'sink' && rest[1] === 'results') return rest[2]!;
  return null;
}

/**
 * Whether a message on a subject of principal `principal` may speak for agent `agentId`: the
 * id must name that principal (compared as subject tokens, since subjects carry tokens).
 */
export function speaksFor(principal: string, agentId: string): boolean {
  return subjectToken(principalOf(agentId)) === principal;
}
