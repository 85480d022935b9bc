/**
 * The result cache end to end (`--cache DIR`): a conformers job and a python job run twice into
 * different outputs compute nothing the second time, their values byte for byte the first's;
 * one generated record changed (in a renamed copy of the file) misses for its molecule only; an
 * edited function file misses for every task; a command job's template and --cache-key count,
 * the place of its line in the list does not. The cache reached through SHOAL_CACHE (a
 * pipeline) and a coordinator's --cache; --no-cache-write, `cache stats` and `cache prune`. Two coordinators (each with its own nats-server)
 * writing one cache at once leave no pack that is not whole while a reader looks on; a pack cut
 * short, a full cache and a read-only one still let the job complete, each reported once.
 */
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CacheStore, decodePack, packsDir } from '../../coordinator/index.js';
import { writeSyntheticSet } from '../bench/synthetic-sdf.js';
import { startTestNats, uniqueNs } from '../helpers/nats.js';
import { runShoal, spawnShoal, startAgent, startCoordinator, connArgs } from '../helpers/shoal.js';
import { natsSuite } from '../helpers/suite.js';
import { smallDisk } from '../helpers/tmpfs.js';
import { until } from '../helpers/wait.js';

const suite = natsSuite('shoal-cache-');

interface RawRow {
  task: string;
  cached: boolean;
  /** The row's text from `"value":` on. */
  value: string;
}

function rawRows(path: string): RawRow[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => {
      const r = JSON.parse(l) as { task: string; cached?: boolean; status: string };
      assert.equal(r.status, 'ok', l);
      return { task: r.task, cached: r.cached === true, value: l.slice(l.indexOf(',"value":')) };
    });
}

function byTask(rows: RawRow[]): Map<string, string> {
  return new Map(rows.map((r) => [r.task, r.value]));
}

async function run(args: string[]): Promise<{ stdout: string; stderr: string }> {
  const r = await runShoal(['run', ...args, '--workers', '2'], { cwd: suite.dir, timeoutMs: 120_000 });
  assert.equal(r.code, 0, r.describe());
  return r;
}

function packFiles(cache: string): string[] {
  return readdirSync(packsDir(cache)).filter((n) => n.endsWith('.pack')).map((n) => join(packsDir(cache), n));
}

/** The keys of the whole entries in the cache's packs; throws on a pack or an entry that is not whole. */
function wholeKeys(cache: string): Set<string> {
  const keys = new Set<string>();
  for (const f of packFiles(cache)) {
    const d = decodePack(readFileSync(f));
    if ('why' in d) throw new Error(`${f}: ${d.why}`);
    for (const e of d.entries) {
      if (e.rows === null) throw new Error(`${f}: the entry of ${e.key} is not whole`);
      keys.add(e.key);
    }
    for (const v of d.values) if (v.bytes === null) throw new Error(`${f}: value ${v.hash} is not whole`);
  }
  return keys;
}

function count(text: string, what: string): number {
  return text.split(what).length - 1;
}

describe('result cache', () => {
  it('conformers: a second run computes nothing; a changed record in a renamed file misses for its molecule only', async () => {
    const cache = join(suite.dir, 'conf-cache');
    const set = await writeSyntheticSet(join(suite.dir, 'ref.sdf'), join(suite.dir, 'gen.sdf'), [3, 5, 2, 4, 6, 3, 2, 5], (_k, n) => n, 8);
    const conf = (gen: string, out: string): string[] => ['conformers', '--ref', set.refPath, '--gen', gen, '--out', join(suite.dir, out), '--cache', cache];
    await run(conf(set.genPath, 'c1.jsonl'));
    const first = rawRows(join(suite.dir, 'c1.jsonl'));
    assert.ok(first.length >= 8 && first.every((r) => !r.cached));
    const again = await run(conf(set.genPath, 'c2.jsonl'));
    const second = rawRows(join(suite.dir, 'c2.jsonl'));
    assert.equal(second.length, first.length);
    assert.ok(second.every((r) => r.cached), 'every row of the second run is cached');
    assert.deepEqual(byTask(second), byTask(first), 'values byte for byte the first run\'s');
    const summary = JSON.parse(readFileSync(join(suite.dir, 'c2.summary.json'), 'utf8')) as { cache: { hits: number; misses: number } };
    assert.deepEqual([summary.cache.hits, summary.cache.misses], [second.length, 0]);
    assert.match(again.stdout, new RegExp(`^cache: +${second.length} of ${second.length} tasks found in ${cache}, 0 run$`, 'm'), 'the run says what the cache gave');

    // One coordinate of mol_0003's first generated record, in a copy under another name.
    const text = readFileSync(set.genPath, 'utf8');
    const title = text.indexOf('mol_0003\n');
    const atomLine = text.indexOf('\n', text.indexOf('V2000', title)) + 1;
    const digit = text.slice(atomLine).search(/[0-9]/) + atomLine;
    const changed = text.slice(0, digit) + (text[digit] === '9' ? '8' : String(Number(text[digit]) + 1)) + text.slice(digit + 1);
    const gen2 = join(suite.dir, 'moved-gen.sdf');
    writeFileSync(gen2, changed);
    await run(conf(gen2, 'c3.jsonl'));
    const third = rawRows(join(suite.dir, 'c3.jsonl'));
    const missed = third.filter((r) => !r.cached).map((r) => r.task);
    assert.ok(missed.length > 0 && missed.every((t) => t.endsWith('mol_0003')), `only mol_0003 misses: ${missed.join(', ')}`);
    assert.ok(third.filter((r) => r.cached).every((r) => !r.task.endsWith('mol_0003')));
  });

  it('python: a second run computes nothing; the function file edited, every task misses', async () => {
    const cache = join(suite.dir, 'py-cache');
    const fn = join(suite.dir, 'fns.py');
    writeFileSync(fn, 'def f(x, params):\n    return {"x": x, "n": len(x), "half": len(x) / 2}\n');
    const inputs = join(suite.dir, 'words.txt');
    writeFileSync(inputs, Array.from({ length: 40 }, (_, i) => `word${i}`).join('\n') + '\n');
    const py = (out: string): string[] => ['python', '--fn', `${fn}:f`, '--inputs', inputs, '--out', join(suite.dir, out), '--cache', cache];
    await run(py('p1.jsonl'));
    await run(py('p2.jsonl'));
    const first = rawRows(join(suite.dir, 'p1.jsonl'));
    const second = rawRows(join(suite.dir, 'p2.jsonl'));
    assert.equal(first.length, 40);
    assert.ok(second.every((r) => r.cached));
    assert.deepEqual(byTask(second), byTask(first));
    appendFileSync(fn, '# edited\n');
    await run(py('p3.jsonl'));
    const third = rawRows(join(suite.dir, 'p3.jsonl'));
    assert.equal(third.length, 40);
    assert.ok(third.every((r) => !r.cached), 'every task misses after the function file changed');
  });

  it('command: its template and --cache-key count, where a line lies in the list does not', async () => {
    const cache = join(suite.dir, 'cmd-cache');
    const list = join(suite.dir, 'args.txt');
    writeFileSync(list, 'alpha\nbeta\ngamma\n');
    const cmd = async (out: string, key: string, template: string[], args = list): Promise<RawRow[]> => {
      const r = await runShoal(['run', 'command', '--args', args, '--out', join(suite.dir, out), '--cache', cache, '--cache-key', key, '--workers', '2', '--', ...template], { cwd: suite.dir, timeoutMs: 120_000 });
      assert.equal(r.code, 0, r.describe());
      return rawRows(join(suite.dir, out));
    };
    const first = await cmd('k1.jsonl', 'tool-1', ['echo', 'seen', '{}']);
    assert.equal(first.length, 3);
    assert.ok(first.every((r) => !r.cached));
    const again = await cmd('k2.jsonl', 'tool-1', ['echo', 'seen', '{}']);
    assert.ok(again.every((r) => r.cached), 'the same template and key: every task cached');
    assert.deepEqual(byTask(again), byTask(first));
    assert.ok((await cmd('k3.jsonl', 'tool-2', ['echo', 'seen', '{}'])).every((r) => !r.cached), 'another --cache-key: every task misses');
    assert.ok((await cmd('k4.jsonl', 'tool-1', ['echo', 'other', '{}'])).every((r) => !r.cached), 'another template: every task misses');
    // The same lines in another order, in a file of another name: each line's task hits.
    const moved = join(suite.dir, 'moved-args.txt');
    writeFileSync(moved, 'gamma\nalpha\nbeta\n');
    const fourth = await cmd('k5.jsonl', 'tool-1', ['echo', 'seen', '{}'], moved);
    assert.ok(fourth.every((r) => r.cached), 'lines moved: every task cached');
    assert.deepEqual([...byTask(fourth).values()].sort(), [...byTask(first).values()].sort());
  });

  it('a pipeline\'s stages with SHOAL_CACHE, and a coordinator\'s --cache for jobs that name none', async () => {
    const cache = join(suite.dir, 'env-cache');
    const file = join(suite.dir, 'cached.yaml');
    writeFileSync(file, ['name: cp', 'stages:', '  - { name: a, kind: spin, options: { tasks: 12, ms: 2 } }', '  - { name: b, kind: spin, after: [a], options: { tasks: 8, ms: 3 } }', ''].join('\n'));
    const env = { ...process.env, SHOAL_CACHE: cache };
    for (const out of ['pipe-1', 'pipe-2']) {
      const r = await runShoal(['pipeline', file, '--out-dir', join(suite.dir, out), '--workers', '2'], { cwd: suite.dir, env, timeoutMs: 120_000 });
      assert.equal(r.code, 0, r.describe());
    }
    for (const stage of ['a', 'b']) {
      const [first, second] = ['pipe-1', 'pipe-2'].map((o) => rawRows(join(suite.dir, o, `cp.${stage}.jsonl`)));
      assert.ok(first!.every((r) => !r.cached) && second!.every((r) => r.cached), `stage ${stage}: computed once, then every row cached`);
      assert.deepEqual(byTask(second!), byTask(first!));
    }

    // A coordinator started with --cache gives it to a job submitted without one.
    const ns = uniqueNs('coordcache');
    const out = join(suite.dir, 'coord-out');
    const coord = await startCoordinator(suite.nats.url, ns, out, ['--cache', cache]);
    const agent = await startAgent(suite.nats.url, ns, ['--workers', '2']);
    try {
      const r = await runShoal(['submit', 'spin', ...connArgs(suite.nats.url, ns), '--job', 'fromcoord', '--tasks', '12', '--ms', '2', '--wait'], { cwd: suite.dir, timeoutMs: 120_000 });
      assert.equal(r.code, 0, r.describe());
      const rows = rawRows(join(out, 'fromcoord.jsonl'));
      assert.equal(rows.length, 12);
      assert.ok(rows.every((x) => x.cached), 'the pipeline\'s stage a stored these tasks');
      const st = await runShoal(['status', ...connArgs(suite.nats.url, ns), '--json'], { cwd: suite.dir });
      assert.equal(st.code, 0, st.describe());
      const job = (JSON.parse(st.stdout) as { jobs: Array<{ job: string; cache?: { hits: number; misses: number } }> }).jobs.find((j) => j.job === 'fromcoord');
      assert.deepEqual(job?.cache, { hits: 12, misses: 0 });
      const table = await runShoal(['status', ...connArgs(suite.nats.url, ns)], { cwd: suite.dir });
      const lines = table.stdout.split('\n');
      const head = lines.find((l) => l.includes('CACHED'));
      const line = lines.find((l) => l.startsWith('fromcoord'));
      assert.ok(head && line, table.stdout);
      assert.equal(line.slice(head.indexOf('CACHED')).split(/\s+/)[0], '12/12', table.stdout);
    } finally {
      agent.proc.kill('SIGTERM');
      coord.kill('SIGTERM');
    }
  });

  it('--no-cache-write looks up and stores nothing; cache stats and prune through the CLI', async () => {
    const cache = join(suite.dir, 'cli-cache');
    const spin = (out: string, ms: number, more: string[] = []): Promise<{ stdout: string }> => run(['spin', '--tasks', '10', '--ms', String(ms), '--job', out.replace('.jsonl', ''), '--out', join(suite.dir, out), '--cache', cache, ...more]);
    const stats = async (): Promise<{ entries: number; runs: Array<{ job: string; hits: number; misses: number; stored: number }> }> => {
      const r = await runShoal(['cache', 'stats', cache, '--json'], { cwd: suite.dir });
      assert.equal(r.code, 0, r.describe());
      return JSON.parse(r.stdout) as { entries: number; runs: Array<{ job: string; hits: number; misses: number; stored: number }> };
    };
    await spin('w1.jsonl', 2);
    assert.equal((await stats()).entries, 10);
    await spin('w2.jsonl', 3, ['--no-cache-write']);
    assert.ok(rawRows(join(suite.dir, 'w2.jsonl')).every((r) => !r.cached));
    assert.equal((await stats()).entries, 10, 'a read-only run stores nothing');
    await spin('w3.jsonl', 2, ['--no-cache-write']);
    assert.ok(rawRows(join(suite.dir, 'w3.jsonl')).every((r) => r.cached), 'a read-only run finds what is there');
    // The runs listed are those that wrote to the cache: a read-only run writes nothing there.
    assert.deepEqual((await stats()).runs.map((r) => [r.hits, r.misses, r.stored]), [[0, 10, 10]]);

    const none = await runShoal(['cache', 'prune', cache], { cwd: suite.dir });
    assert.notEqual(none.code, 0);
    assert.match(none.stderr, /--older-than AGE .* or --max-size SIZE/);
    const pruned = await runShoal(['cache', 'prune', cache, '--max-size', '0', '--json'], { cwd: suite.dir });
    assert.equal(pruned.code, 0, pruned.describe());
    assert.equal((JSON.parse(pruned.stdout) as { entriesRemoved: number }).entriesRemoved, 10);
    assert.equal((await stats()).entries, 0);
    await spin('w4.jsonl', 2);
    assert.ok(rawRows(join(suite.dir, 'w4.jsonl')).every((r) => !r.cached), 'pruned: every task runs again');
    const after = await stats();
    assert.equal(after.entries, 10);
    assert.deepEqual(after.runs.map((r) => [r.job, r.hits, r.misses, r.stored]), [['w4', 0, 10, 10], ['w1', 0, 10, 10]], 'newest first');
  });

  it('a run killed (SIGKILL) while it stores: whole packs and temporary files only, and the next run finds exactly what they hold', async () => {
    const cache = join(suite.dir, 'killed-cache');
    const N = 100_000;
    const spin = (out: string): string[] => ['run', 'spin', '--tasks', String(N), '--ms', '0', '--job', 'killed', '--out', join(suite.dir, out), '--cache', cache, '--workers', '2'];
    const p = spawnShoal(spin('killed-1.jsonl'), { cwd: suite.dir });
    // Killed once its first pack is in place: later packs are gathered or being written.
    await until('a pack written', () => existsSync(packsDir(cache)) && packFiles(cache).length > 0, 60_000, 5);
    p.kill('SIGKILL');
    assert.equal((await p.exited).signal, 'SIGKILL', 'the run was killed, not ended');
    const names = readdirSync(packsDir(cache));
    assert.deepEqual(names.filter((n) => !n.endsWith('.pack') && !/\.pack\.\d+$/.test(n)), [], 'packs and temporary files only');
    const keys = wholeKeys(cache);
    assert.deepEqual(new CacheStore(cache).refresh(), [], 'every pack whole');
    assert.ok(keys.size > 0 && keys.size < N, `${keys.size} tasks stored before the kill`);

    const r = await runShoal(spin('killed-2.jsonl'), { cwd: suite.dir, timeoutMs: 120_000 });
    assert.equal(r.code, 0, r.describe());
    const rows = rawRows(join(suite.dir, 'killed-2.jsonl'));
    assert.equal(new Set(rows.map((x) => x.task)).size, N, 'one row per task');
    assert.equal(rows.length, N);
    assert.equal(rows.filter((x) => x.cached).length, keys.size, 'every task stored before the kill is found, and only those');
  });

  it('a pack cut short is a miss for what it held, reported once; the job completes', async () => {
    const cache = join(suite.dir, 'torn-cache');
    const spin = (out: string, n: number): string[] => ['spin', '--tasks', String(n), '--out', join(suite.dir, out), '--cache', cache];
    await run(spin('t1.jsonl', 20));
    const [first] = packFiles(cache);
    // Twice the tasks: the first 20 hit, the other 20 go into a second pack, which is cut in half.
    await run(spin('t2.jsonl', 40));
    const second = packFiles(cache).filter((f) => f !== first);
    assert.equal(second.length, 1);
    assert.equal(wholeKeys(cache).size, 40);
    truncateSync(second[0]!, Math.floor(statSync(second[0]!).size / 2));
    const { stderr } = await run(spin('t3.jsonl', 40));
    const rows = rawRows(join(suite.dir, 't3.jsonl'));
    assert.equal(rows.length, 40);
    assert.equal(rows.filter((r) => !r.cached).length, 20, 'the cut pack\'s tasks ran');
    assert.equal(count(stderr, 'a broken cache entry counts as a miss'), 1, stderr);
    // Written again by the run that missed them, in a new pack that wins: a fourth run hits everything.
    await run(spin('t4.jsonl', 40));
    assert.ok(rawRows(join(suite.dir, 't4.jsonl')).every((r) => r.cached));
  });

  it('a full cache and a read-only one: the job completes, the failed write said once', async (t) => {
    const disk = smallDisk(t, '64k');
    if (!disk) return;
    const spin = (out: string, n: number): string[] => ['spin', '--tasks', String(n), '--out', join(suite.dir, out), '--cache', disk.dir];
    // A first pack fits; the second, of the 240 tasks more, does not.
    await run(spin('f0.jsonl', 60));
    const f1 = await run(spin('f1.jsonl', 300));
    const full = f1.stderr;
    assert.equal(rawRows(join(suite.dir, 'f1.jsonl')).length, 300);
    assert.equal(count(full, 'cannot write to the cache'), 1, full);
    const stored = wholeKeys(disk.dir).size;
    assert.equal(stored, 60, 'the pack that fit');
    // The 60 found; of the 240 run, none stored, and the run says so.
    assert.match(f1.stdout, /^cache: +60 of 300 tasks found in .*, 240 run; 240 ok tasks not stored \(the log says why\)$/m, f1.stdout);
    disk.readOnly(true);
    const ro = (await run(spin('f2.jsonl', 300))).stderr;
    const rows = rawRows(join(suite.dir, 'f2.jsonl'));
    assert.equal(rows.length, 300);
    assert.equal(rows.filter((r) => r.cached).length, stored, 'entries written before the disk filled are hits');
    assert.equal(count(ro, 'cannot write to the cache'), 1, ro);
  });

  it('two coordinators writing one cache at once: no pack that is not whole, and a reader racing them sees whole packs or none', async () => {
    // 400 tasks of 30 ms over 2 workers: longer than a pack's 5 s, so packs are written while the jobs run.
    const TASKS = 400;
    const cache = join(suite.dir, 'shared-cache');
    const other = await startTestNats();
    try {
      const sides = [suite.nats.url, other.url].map((url, k) => ({ url, ns: uniqueNs(`cache${k}`), out: join(suite.dir, `shared-out-${k}`) }));
      for (const s of sides) {
        await startCoordinator(s.url, s.ns, s.out);
        await startAgent(s.url, s.ns, ['--workers', '2']);
      }
      const submits = sides.map((s) => runShoal(['submit', 'spin', ...connArgs(s.url, s.ns), '--job', 'shared', '--tasks', String(TASKS), '--ms', '30', '--sleep', '--cache', cache, '--wait'], { cwd: suite.dir, timeoutMs: 120_000 }));
      let ended = false;
      const both = Promise.all(submits).finally(() => (ended = true));
      let seen = 0;
      do {
        let keys: Set<string> = new Set();
        try {
          keys = wholeKeys(cache);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        }
        const store = new CacheStore(cache);
        assert.deepEqual(store.refresh(), [], 'every pack listed is whole');
        for (const k of [...keys].slice(-200)) assert.ok('hit' in store.lookup(k), `entry ${k} read whole`);
        seen += keys.size;
        // A pause between scans (each reads the whole cache): the writers get the CPU.
        await new Promise((r) => setTimeout(r, 20));
      } while (!ended);
      for (const r of await both) assert.equal(r.code, 0, r.describe());
      assert.ok(seen > 0, 'the reader read entries while they were written');
      const keys = wholeKeys(cache);
      assert.equal(keys.size, TASKS);
      const store = new CacheStore(cache);
      store.refresh();
      for (const k of keys) assert.ok('hit' in store.lookup(k), `entry ${k} is whole`);
      for (const s of sides) assert.equal(rawRows(join(s.out, 'shared.jsonl')).length, TASKS);
    } finally {
      await other.stop();
    }
  });
});
