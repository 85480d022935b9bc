/** The agent's pure core: session, bundles and slots, reports and drain, as events in and commands out. */
export { AgentCore, type AgentCommand, type CoreOptions, type LoadFacts } from './agent-core.js';
export { BundleBook, BUNDLE_MOVES, IllegalBundleMoveError, type Bundle, type BundleState } from './bundle-book.js';
export { SESSION_MOVES, IllegalSessionMoveError, moveSession, type Link, type Session, type SessionName } from './session.js';
