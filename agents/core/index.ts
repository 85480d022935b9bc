/** The agent's pure core: session, bundles and slots, reports and drain, as events in and commands out. */
export { AgentCore, type AgentCommand, type CoreOptions } from './agent-core.js';
export type { Bundle } from './bundle-book.js';
export { moveSession, type Session, type SessionName } from './session.js';
export type { InterpreterRss } from './memory-book.js';
