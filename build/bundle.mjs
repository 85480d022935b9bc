/**
 * Bundles the compiled CLI (dist/src, dist/agents, ...) into dist/bundle: the `shoal` command
 * and the files it starts worker threads from, with the chunks they share.
 *
 * Why: Node 20 resolves, reads and links every ES module on its own, and one start of the
 * CLI loaded about 150 of shoal's files and 500 of TypeBox's in the main thread and again in
 * each worker thread (0.6 s for `shoal run spin --tasks 1`). esbuild puts them in a few files.
 *
 * What is inlined: shoal's own modules and the pure-JS libraries a `run` loads (TypeBox, the
 * NATS client, commander, pino, msgpackr, proper-lockfile): loaded from node_modules, each of
 * their files is resolved, read and (CommonJS) scanned for its exports on its own, some 30 ms
 * of a `run`. pino's transports (worker files found beside pino) are not used. What stays in
 * node_modules: packages that find files beside themselves while they run (piscina's worker
 * file, msgpackr's native add-on) and those loaded only by some
 * commands.
 *
 * Worker entries keep their names (worker.js, zeno-worker.js, worker-adapter.js,
 * summary-thread.js) and sit beside
 * the chunks, so `new URL('./worker.js', import.meta.url)` finds them from any chunk; the report
 * page's script is copied to browser/main.js for the same reason.
 */
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const out = join(dist, 'bundle');

const INLINE = ['@sinclair/typebox', '@nats-io/transport-node', 'commander', '@commander-js/extra-typings', 'pino', 'msgpackr', 'proper-lockfile'];
/** Not dependencies of ours, but loaded by one: msgpackr's native add-on (optional: it finds its binary beside itself). */
const BESIDE = ['msgpackr-extract'];
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const external = [...Object.keys(pkg.dependencies).filter((d) => !INLINE.includes(d)), ...BESIDE].flatMap((d) => [d, `${d}/*`]);

const entries = ['src/cli/main.js', 'agents/worker.js', 'src/kinds/frames/zeno-worker.js', 'src/kinds/handlers/worker-adapter.js', 'src/sink/summary-thread.js'];

/**
 * protocol/ is pure (subjects, schemas, codec: no I/O, nothing registered; ARCHITECTURE.md), so
 * esbuild may leave out of a chunk what its code does not use there: a worker thread takes the
 * job-name pattern and a few field schemas, and without this also loaded the codec (msgpackr and
 * its native add-on) and every message schema, ~35 ms of each thread's start.
 */
const pureProtocol = {
  name: 'pure-protocol',
  setup(b) {
    const dir = join(dist, 'protocol');
    b.onResolve({ filter: /^\.\.?\// }, (a) => {
      const path = join(a.resolveDir, a.path);
      return dirname(path) === dir ? { path, sideEffects: false } : undefined;
    });
  },
};

rmSync(out, { recursive: true, force: true });
await build({
  entryPoints: entries.map((e) => join(dist, e)),
  outdir: out,
  entryNames: '[name]',
  chunkNames: 'chunk-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external,
  // Inlined CommonJS (the NATS client, commander) calls require() for Node's own modules.
  banner: { js: "import { createRequire as shoalCreateRequire } from 'node:module'; const require = shoalCreateRequire(import.meta.url);" },
  plugins: [pureProtocol],
  sourcemap: true,
  logLevel: 'warning',
});
mkdirSync(join(out, 'browser'), { recursive: true });
copyFileSync(join(dist, 'src/report/browser/main.js'), join(out, 'browser/main.js'));
