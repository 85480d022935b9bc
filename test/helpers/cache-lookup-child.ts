/**
 * A fresh process that looks a ranges job up in a cache, for test/unit/cache-hasher-wait.test.ts:
 * its range hasher is not loaded when the lookups start, so the first key that wants it waits.
 *
 *   node dist/test/helpers/cache-lookup-child.js '{"cache":DIR,"refs":[{file,start,end},…]}'
 *
 * Prints one JSON line: {"hitsWritten", "hits", "misses", "loadedBefore"} (loadedBefore: whether
 * the hasher was loaded before the lookups; it must be false for the test to mean anything).
 */
import { ResultCache } from '../../coordinator/cache/index.js';
import { rangeHash } from '../../coordinator/cache/range-digest.js';
import { silentLogger } from '../../src/log.js';
import { rangesKind, rangeTasks, type RangeRef } from './kinds.js';

const a = JSON.parse(process.argv[2] ?? '{}') as { cache: string; refs: RangeRef[] };
let loadedBefore = true;
try {
  rangeHash();
} catch {
  loadedBefore = false;
}
const rc = new ResultCache(silentLogger(), { agent: 'coordinator', host: 'h' });
let hitsWritten = 0;
const tasks = rangeTasks(a.refs);
await rc.admit({ job: 'L', kindName: 'ranges', kind: rangesKind, params: {}, cache: { dir: a.cache }, tasks, split: undefined, fileHash: () => '', inputs: [a.refs[0]!.file] }, new Set<string>(), async (rows) => {
  hitsWritten += rows.ids.length;
});
const counts = rc.counts('L')!;
process.stdout.write(`${JSON.stringify({ hitsWritten, hits: counts.hits, misses: counts.misses, loadedBefore })}\n`);
