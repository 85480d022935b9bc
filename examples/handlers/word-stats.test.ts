/**
 * How to test a handler module on its own: import it and call a kind's run() with a task
 * and a context, as a shoal worker would. No coordinator, no agent, no NATS.
 *
 *   npm run build && node --test dist/examples/handlers/
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';

interface HandlerKind {
  name: string;
  run(task: { id: string; input: string; index: number; line: number; params: Record<string, unknown> }, ctx: { signal: AbortSignal; attempt: number; threads: number; job: string; task: string }): Promise<unknown>;
}

// Compiled to dist/examples/handlers/: the module itself stays in examples/handlers/.
const here = dirname(fileURLToPath(import.meta.url));
const modulePath = resolve(here, '..', '..', '..', 'examples', 'handlers', 'word-stats.mjs');

let kinds: HandlerKind[];
let dir: string;

before(async () => {
  kinds = ((await import(pathToFileURL(modulePath).href)) as { kinds: HandlerKind[] }).kinds;
  dir = mkdtempSync(join(tmpdir(), 'word-stats-'));
  writeFileSync(join(dir, 'a.txt'), 'the cat saw the other cat\nthe end\n');
});
after(() => rmSync(dir, { recursive: true, force: true }));

const ctx = { signal: new AbortController().signal, attempt: 1, threads: 1, job: 'example', task: 'task_0' };
const kind = (name: string): HandlerKind => kinds.find((k) => k.name === name)!;

describe('examples/handlers/word-stats.mjs', () => {
  it('exports the kinds word-stats and sha256', () => {
    assert.deepEqual(kinds.map((k) => k.name), ['word-stats', 'sha256']);
  });

  it('word-stats counts lines, words and the most frequent words', async () => {
    const v = await kind('word-stats').run({ id: 'task_0', input: 'a.txt', index: 0, line: 1, params: { dir, top: 2 } }, ctx);
    assert.deepEqual(v, { file: 'a.txt', lines: 2, words: 8, distinct: 5, top: [['the', 3], ['cat', 2]] });
  });

  it('a missing file is a final input error (not retried)', async () => {
    await assert.rejects(kind('word-stats').run({ id: 'task_1', input: 'nope.txt', index: 1, line: 2, params: { dir } }, ctx), (e: Error & { code?: string; retryable?: boolean }) => e.code === 'E_INPUT' && e.retryable === false);
  });

  it('sha256 hashes the file', async () => {
    const v = (await kind('sha256').run({ id: 'task_0', input: join(dir, 'a.txt'), index: 0, line: 1, params: {} }, ctx)) as { bytes: number; sha256: string };
    assert.equal(v.bytes, 34);
    assert.match(v.sha256, /^[0-9a-f]{64}$/);
  });
});
