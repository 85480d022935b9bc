/**
 * A fresh process that looks a ranges job up in a cache, for test/unit/cache-hasher-wait.test.ts:
 * its range hasher is not loaded when the lookups start, so the first key that wants it waits.
 *
 *   node dist/test/helpers/cache-lookup-child.js '{"cache":DIR,"refs":[{file,start,end},…],"failLoad":false}'
 *
 * Prints one JSON line: {"hitsWritten", "hits", "misses", "loadedBefore", "uncached", "warnings"}
 * (loadedBefore: whether the hasher was loaded before the lookups, which must be false for the
 * test to mean anything; uncached: the job left the cache; warnings: what the log said at
 * warn). With `failLoad` the hasher's load fails, as in an install without it.
 */
import { ResultCache } from '../../coordinator/cache/index.js';
import { rangeHash } from '../../coordinator/cache/range-digest.js';
import { createLogger } from '../../src/log.js';
import { rangesKind, rangeTasks, type RangeRef } from './kinds.js';

const a = JSON.parse(process.argv[2] ?? '{}') as { cache: string; refs: RangeRef[]; failLoad?: boolean };
let loadedBefore = true;
try {
  rangeHash();
} catch {
  loadedBefore = false;
}
const warnings: string[] = [];
const log = createLogger('warn', {}, { stream: { write: (l: string) => void warnings.push((JSON.parse(l) as { msg: string }).msg) }, format: 'json' });
const failing = (): Promise<void> => Promise.reject(new Error('hash-wasm cannot be found'));
const rc = new ResultCache(log, { agent: 'coordinator', host: 'h' }, {}, ...(a.failLoad ? [failing] : []));
let hitsWritten = 0;
const tasks = rangeTasks(a.refs);
await rc.admit({ job: 'L', kindName: 'ranges', kind: rangesKind, params: {}, cache: { dir: a.cache }, tasks, split: undefined, fileHash: () => '', inputs: [a.refs[0]!.file] }, new Set<string>(), async (rows) => {
  hitsWritten += rows.ids.length;
});
const counts = rc.counts('L');
process.stdout.write(`${JSON.stringify({ hitsWritten, hits: counts?.hits ?? 0, misses: counts?.misses ?? 0, loadedBefore, uncached: counts === undefined, warnings })}\n`);
