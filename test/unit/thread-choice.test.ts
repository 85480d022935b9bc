/** Which pool thread a bundle goes to: a GPU bundle to the thread that last had its GPUs. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BundleBook, type Bundle } from '../../agents/core/bundle-book.js';
import { BundleTimes, gpuKey, SHORT_BUNDLE_MS, ThreadChoice } from '../../agents/thread-choice.js';
import type { JobInfo } from '../../protocol/index.js';

interface Thread {
  id: number;
  currentUsage: number;
  isRunningAbortableTask: boolean;
}
const thread = (id: number, currentUsage = 0): Thread => ({ id, currentUsage, isRunningAbortableTask: false });

test('a GPU bundle goes to the idle thread that last ran its GPUs, not the first idle one', () => {
  const c = new ThreadChoice(2);
  const ts = [thread(1), thread(2), thread(3)];
  assert.equal(c.choose('0', ts, false)?.id, 1);
  assert.equal(c.choose('1', [ts[1]!, ts[2]!], false)?.id, 2);
  assert.equal(c.choose('2', [ts[2]!], false)?.id, 3);
  assert.equal(c.choose('2', ts, false)?.id, 3);
  assert.equal(c.choose('1', ts, false)?.id, 2);
  assert.equal(c.choose('0,1', ts, false)?.id, 1, 'no thread had 0,1: the first idle one');
  assert.equal(c.choose('0', ts, false)?.id, 1, 'thread 1 now holds 0,1, but it is the only idle one left that fits');
});

test('while threads may start, a GPU bundle takes a fresh thread or a new one, not one that holds other GPUs', () => {
  const c = new ThreadChoice(2);
  const a = thread(1);
  assert.equal(c.choose('0', [a], true), a);
  assert.equal(c.choose('1', [a], true), null, 'a new thread rather than restart what saw GPU 0');
  const b = thread(2);
  assert.equal(c.choose('1', [a, b], true), b);
  assert.equal(c.choose(null, [a, b], true), null, 'no fresh idle thread: a new one, as for any bundle');
  const d = thread(3);
  assert.equal(c.choose(null, [a, b, d], true), d, 'a bundle without GPUs takes a fresh thread first');
});

test('every thread started: an idle one, else the least busy with room, else none; a bundle without GPUs clears what its thread held', () => {
  const c = new ThreadChoice(2);
  const ts = [thread(1), thread(2)];
  c.choose('0', ts, false, true);
  c.choose('1', [ts[1]!], false);
  ts[0]!.currentUsage = 2;
  assert.equal(c.choose('3', ts, false), ts[1], 'the only idle thread, though it held GPU 1');
  ts[0]!.currentUsage = 0;
  ts[1]!.currentUsage = 1;
  assert.equal(c.choose('3', ts, false, true), ts[0], 'the thread that ran GPU 3 is busy: an idle one');
  ts[0]!.currentUsage = 1;
  assert.equal(c.choose(null, ts, false), ts[0], 'none idle: the least busy with room, behind a short bundle');
  ts[0]!.currentUsage = 2;
  ts[1]!.currentUsage = 2;
  assert.equal(c.choose(null, ts, false), null, 'none has room');
  ts[0]!.currentUsage = 0;
  ts[1]!.currentUsage = 0;
  assert.equal(c.choose('3', ts, false), ts[1], 'thread 1 was given a bundle without GPUs since: only thread 2 holds GPU 3');
});

test('a bundle waits behind another on a busy thread only where that one is short and was given it lately; else for a thread to free', () => {
  let now = 1000;
  const c = new ThreadChoice(2, () => now);
  const [a, b] = [thread(1), thread(2)];
  assert.equal(c.choose(null, [a, b], false, false), a, 'a long (or not yet known) bundle on thread 1');
  a.currentUsage = 1;
  assert.equal(c.choose(null, [a, b], false, true), b, 'a short one on thread 2');
  b.currentUsage = 1;
  assert.equal(c.choose(null, [a, b], false, true), b, 'second in line behind the short one, not the long one');
  b.currentUsage = 2;
  assert.equal(c.choose(null, [a, b], false, true), null, 'thread 2 full, thread 1 runs a long bundle: it waits for a thread to free');
  b.currentUsage = 1;
  now += SHORT_BUNDLE_MS + 1;
  assert.equal(c.choose(null, [a, b], false, true), null, 'thread 2 has run its short bundle for longer than a short one takes: a straggler, maybe');
  c.choose(null, [b], false, false);
  now += 1;
  assert.equal(c.choose(null, [a, b], false, true), null, 'thread 2 was last given a long bundle: nothing waits behind it either');
});

test('a job is short while its bundles ran within SHORT_BUNDLE_MS of task time on average, and not known before one ended', () => {
  const t = new BundleTimes();
  assert.equal(t.short('J'), false);
  t.ran('J', [SHORT_BUNDLE_MS * 2, SHORT_BUNDLE_MS]);
  assert.equal(t.short('J'), false, 'one bundle of three times the bound');
  t.ran('J', [1]);
  assert.equal(t.short('J'), false);
  t.ran('J', [1, 0]);
  assert.equal(t.short('J'), false, 'three bundles in 302 ms');
  t.ran('J', []);
  assert.equal(t.short('J'), true, 'four bundles in 302 ms');
  assert.equal(t.short('K'), false);
});

test('a thread that ended is forgotten', () => {
  const c = new ThreadChoice(1);
  c.choose('0', [thread(1)], false);
  c.forget(1);
  assert.equal(c.choose('1', [thread(1), thread(2)], true)?.id, 1, 'thread ids are not reused, but nothing of 1 is left either');
  assert.equal(gpuKey([2, 3]), '2,3');
  assert.equal(gpuKey([]), null);
  assert.equal(gpuKey(undefined), null);
});

/**
 * The agent's core hands each starting bundle the lowest free GPUs; bundles end in any order,
 * several at once, and arrive in pulls now and then. Driven together with the chooser, each thread sees one GPU for the whole job once every
 * thread has started, so a kind keeping a process per thread never restarts it for a GPU.
 */
test('agent core and chooser together: 4 threads, 4 GPUs, 400 one-GPU bundles ending in random order: each thread keeps one GPU', () => {
  const info = { job: 'J', kind: 'command', params: {} } as unknown as JobInfo;
  for (const seed of [1, 2, 3, 4, 5]) {
    let r = seed;
    const rand = (n: number): number => ((r = (r * 1103515245 + 12345) % 2 ** 31), r % n);
    const book = new BundleBook(4, 2, [0, 1, 2, 3]);
    const c = new ThreadChoice(2);
    const threads: Thread[] = [];
    const on = new Map<Bundle, Thread>();
    const seen = new Map<number, Set<string>>();
    const run = (b: Bundle): void => {
      const key = gpuKey(b.gpus);
      let t = c.choose(key, threads, threads.length < 4);
      if (t === null) {
        t = thread(threads.length + 1);
        threads.push(t);
        assert.equal(c.choose(key, threads, threads.length < 4), t, 'the new thread takes it');
      }
      t.currentUsage++;
      on.set(b, t);
      seen.set(t.id, (seen.get(t.id) ?? new Set()).add(key!));
    };
    let made = 0;
    while (made < 400 || book.running.size > 0) {
      // Bundles arrive in pulls, now and then: at times GPUs wait free for them.
      if (rand(3) === 0) while (made < 400 && book.held < 8) book.add('J', info, 1, [{ id: `t${made++}`, attempt: 1, final: false, ref: null }] as never, 1);
      for (const b of book.start()) run(b);
      book.check();
      // A few bundles end on their threads before the core hears of the first.
      const running = [...book.running].sort(() => rand(3) - 1);
      const ending = running.slice(0, 1 + rand(running.length));
      for (const b of ending) on.get(b)!.currentUsage--;
      for (const b of ending) {
        on.delete(b);
        book.ended(b);
        for (const n of book.start()) run(n);
      }
    }
    assert.equal(threads.length, 4, `seed ${seed}: four threads`);
    for (const [id, keys] of seen) assert.equal(keys.size, 1, `seed ${seed}: thread ${id} saw GPUs ${[...keys].join(' and ')}`);
  }
});
