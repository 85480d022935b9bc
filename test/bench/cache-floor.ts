/**
 * The floor under a fully cached re-run's rows/s, for `npm run bench -- cache`: a fresh process
 * (its code as cold as a re-run's) that does only what no cache can skip for each of a job's
 * rows, in one loop with nothing else: the task's key (a sha256 over the job part and the task's
 * JSON), a lookup in an in-memory table, the cached row's text, and at the end one write and one
 * fdatasync of all the rows. No pack is read, no row checked, no event loop crossed.
 *
 *   node dist/test/bench/cache-floor.js OUTPUT.jsonl DEST
 *
 * OUTPUT.jsonl is a run's output (its rows are the values looked up); prints {"rows", "ms",
 * "loopMs", "writeMs"}: ms from the first key to the rows durable in DEST, of them the loop's and
 * the write's.
 */
import { hash } from 'node:crypto';
import { closeSync, fdatasyncSync, openSync, readFileSync, writeSync } from 'node:fs';

const [from, dest] = process.argv.slice(2) as [string, string];
const lines = readFileSync(from, 'utf8').split('\n').filter((l) => l.length > 0);
const job = 'a'.repeat(64) + '\n';
const taskJson = (i: number): string => JSON.stringify({ ms: i / 7, i });
// The table a lookup finds each task in (made before the clock starts): key → the stored row.
const table = new Map<string, string>();
lines.forEach((l, i) => table.set(hash('sha256', job + taskJson(i), 'binary'), l.slice(l.indexOf('"kind"'))));

const t0 = performance.now();
const now = Date.now();
let text = '';
for (let i = 0; i < lines.length; i++) {
  const row = table.get(hash('sha256', job + taskJson(i), 'binary'));
  if (row === undefined) throw new Error(`row ${i} not found`);
  text += `{"job":"again","task":${JSON.stringify(`task_${String(i).padStart(6, '0')}`)},"start":${now},"end":${now},"cached":true,"cached_from":{${row}}\n`;
}
const t1 = performance.now();
const fd = openSync(dest, 'w');
writeSync(fd, text);
fdatasyncSync(fd);
closeSync(fd);
const t2 = performance.now();
process.stdout.write(`${JSON.stringify({ rows: lines.length, ms: +(t2 - t0).toFixed(2), loopMs: +(t1 - t0).toFixed(2), writeMs: +(t2 - t1).toFixed(2) })}\n`);
