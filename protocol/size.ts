/**
 * An upper bound of a value's encoded size, without encoding it: what the scheduler counts for
 * each task against a dispatch's byte budget (kept under the bus's max_payload). Encoding each
 * task once to measure it cost more than a third of a no-op task's time in the coordinator.
 * Plain data only (what a task's ref may hold); the bound counts every object's keys in full
 * and a record header, so the codec's records can only make the real size smaller.
 */

/** Bytes a msgpack header of a string, array or map may take at most. */
const HEADER = 5;
/** What a record definition or reference may add to an object, at most. */
const RECORD = 8;

export function encodedSizeBound(v: unknown): number {
  switch (typeof v) {
    case 'string':
      return HEADER + Buffer.byteLength(v, 'utf8');
    case 'number':
    case 'bigint':
      return 9;
    case 'boolean':
    case 'undefined':
      return 1;
    case 'object': {
      if (v === null) return 1;
      if (ArrayBuffer.isView(v)) return HEADER + 1 + v.byteLength;
      if (v instanceof Date) return 15;
      if (v instanceof Map) {
        let n = HEADER;
        for (const [k, x] of v) n += encodedSizeBound(k) + encodedSizeBound(x);
        return n;
      }
      if (v instanceof Set) return encodedSizeBound([...v]);
      if (Array.isArray(v)) {
        let n = HEADER;
        for (const x of v) n += encodedSizeBound(x);
        return n;
      }
      let n = HEADER + RECORD;
      for (const k in v) n += HEADER + Buffer.byteLength(k, 'utf8') + encodedSizeBound((v as Record<string, unknown>)[k]);
      return n;
    }
    default:
      // Functions and symbols are not data; the codec drops or refuses them.
      return 1;
  }
}
