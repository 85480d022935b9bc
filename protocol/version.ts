/**
 * The wire protocol version. Every message carries `v`, the major version; peers with
 * another major are refused with a message naming both. Bump the major for any change an
 * older peer would misread.
 */
export const PROTOCOL_VERSION = 2;

/** The refusal text both sides print, naming both versions. */
export function versionMismatchMessage(theirs: unknown, role: string): string {
  return `protocol version mismatch: the ${role} speaks shoal protocol ${String(theirs)}, this side speaks ${PROTOCOL_VERSION}`;
}
