/** Field types every message shares, and the error reply any request may get. */
import { Type, type Static } from '@sinclair/typebox';

/** The protocol version a message carries. */
export const V = Type.Integer({ minimum: 0 });
export const Id = Type.String({ minLength: 1, maxLength: 512 });
export const Count = Type.Integer({ minimum: 0 });
export const Num = Type.Number();

export const WireErrorSchema = Type.Object({ code: Type.String({ maxLength: 64 }), message: Type.String() });

export const ErrorReplySchema = Type.Object({ kind: Type.Literal('error'), v: V, code: Type.String(), message: Type.String() });
export type ErrorReply = Static<typeof ErrorReplySchema>;

/**
 * A job's long-lived interpreters on one agent (the python kind's), as the agent measured them:
 * how many live, their resident memory together and the largest one's (bytes, VmRSS).
 */
export const InterpreterMemorySchema = Type.Object({
  job: Id,
  count: Count,
  rss: Num,
  maxRss: Num,
});
export type InterpreterMemory = Static<typeof InterpreterMemorySchema>;
