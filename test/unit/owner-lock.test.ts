/**
 * The owner lock: one owner per out dir or output file, across processes (children taking the
 * lock with test/helpers/hold-owner-lock.js) and, simulated through the owner file, hosts.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, rmdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { pino } from 'pino';
import { ErrorCode } from '../../src/errors.js';
import { acquireOwnerLock, OwnerLockedError, type OwnerInfo, type OwnerLockOptions, type OwnerLostError } from '../../src/owner-lock.js';
import { alive } from '../helpers/shoal.js';
import { repoRoot } from '../helpers/paths.js';
import { until } from '../helpers/wait.js';

const holderJs = join(repoRoot, 'dist', 'test', 'helpers', 'hold-owner-lock.js');

function tmp(t: TestContext): string {
  const d = mkdtempSync(join(tmpdir(), 'shoal-lock-'));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

interface Holder {
  child: ChildProcess;
  pid: number;
  lines: Record<string, any>[];
  /** The first line (seen or to come) with this key. */
  line(key: string): Promise<Record<string, any>>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** A child process that takes a lock and holds it (SIGKILLed when the test ends). */
function hold(t: TestContext, args: { target: string; kind: 'dir' | 'file'; role?: string; staleMs?: number; sigterm?: 'on' | 'once' | 'none' }): Holder {
  const child = spawn(process.execPath, [holderJs, JSON.stringify(args)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines: Record<string, any>[] = [];
  let buf = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    buf += d;
    for (let nl = buf.indexOf('\n'); nl !== -1; nl = buf.indexOf('\n')) {
      lines.push(JSON.parse(buf.slice(0, nl)) as Record<string, any>);
      buf = buf.slice(nl + 1);
    }
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.once('close', (code, signal) => r({ code, signal })));
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  });
  return {
    child,
    pid: child.pid!,
    lines,
    exited,
    async line(key) {
      await until(() => `holder ${child.pid} printed '${key}' (it printed ${JSON.stringify(lines)})`, () => lines.some((l) => key in l), 10_000, 20);
      return lines.find((l) => key in l)!;
    },
  };
}

const opts = (o: Partial<OwnerLockOptions> = {}): OwnerLockOptions => ({ kind: 'dir', role: 'coordinator', onLost: () => assert.fail('lost the lock'), ...o });
const isoSecond = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

function assertRefusedBy(err: unknown, owner: { host: string; pid: number; since: number }): true {
  assert.ok(err instanceof OwnerLockedError, `an OwnerLockedError, not ${String(err)}`);
  assert.equal(err.code, ErrorCode.Refused);
  assert.equal(err.owner?.pid, owner.pid);
  assert.ok(!err.message.includes('\n'), 'one line');
  for (const part of [`pid ${owner.pid}`, `on ${owner.host}`, `since ${isoSecond(owner.since)}`]) assert.ok(err.message.includes(part), `'${part}' in: ${err.message}`);
  return true;
}

test('a held out dir and a held output file are refused to another process, naming host, pid and since', async (t) => {
  const dir = tmp(t);
  const out = join(dir, 'out');
  const a = hold(t, { target: out, kind: 'dir', role: 'coordinator' });
  const ownerA = (await a.line('held')).held as OwnerInfo;
  assert.deepEqual([ownerA.host, ownerA.pid, ownerA.role], [hostname(), a.pid, 'coordinator']);
  await assert.rejects(acquireOwnerLock(out, opts()), (err) => assertRefusedBy(err, ownerA) && /the out dir .*out is in use by coordinator/.test((err as Error).message));

  const file = join(dir, 'sub', 'results.jsonl'); // neither the file nor its folder exists yet
  const b = hold(t, { target: file, kind: 'file', role: 'run' });
  const ownerB = (await b.line('held')).held as OwnerInfo;
  assert.equal(existsSync(file), false, 'locking a file does not create it');
  await assert.rejects(acquireOwnerLock(file, opts({ kind: 'file' })), (err) => assertRefusedBy(err, ownerB) && /the output file .*results\.jsonl is in use by run/.test((err as Error).message));
  // The same file through another path (a relative one) finds the same lock.
  await assert.rejects(acquireOwnerLock(join(dir, 'sub', '.', 'results.jsonl'), opts({ kind: 'file' })), OwnerLockedError);
});

test('release, then acquire succeeds; release twice is fine; a second acquire in the same process is refused', async (t) => {
  const out = join(tmp(t), 'out');
  const first = await acquireOwnerLock(out, opts());
  assert.equal(first.lockPath, join(out, '.shoal.lock'));
  assert.deepEqual(JSON.parse(readFileSync(first.ownerPath, 'utf8')), first.info);
  await assert.rejects(acquireOwnerLock(out, opts()), (err) => assertRefusedBy(err, first.info));
  await first.release();
  await first.release();
  assert.equal(existsSync(first.lockPath), false);
  assert.equal(existsSync(first.ownerPath), false);
  const second = await acquireOwnerLock(out, opts());
  assert.equal(second.info.pid, process.pid);
  await first.release(); // an old handle does not touch the new owner's files
  assert.deepEqual(JSON.parse(readFileSync(second.ownerPath, 'utf8')), second.info);
  assert.ok(existsSync(second.lockPath));
  await second.release();
});

test('a holder SIGKILLed on this host: the next acquire takes the lock at once', async (t) => {
  const out = join(tmp(t), 'out');
  const a = hold(t, { target: out, kind: 'dir', staleMs: 60_000 });
  await a.line('held');
  a.child.kill('SIGKILL');
  await a.exited;
  assert.equal(alive(a.pid), false);
  assert.ok(existsSync(join(out, '.shoal.lock')), 'a SIGKILL leaves the lock directory');
  const started = Date.now();
  const lock = await acquireOwnerLock(out, opts({ staleMs: 60_000 }));
  assert.ok(Date.now() - started < 10_000, 'did not wait for staleness');
  assert.equal(JSON.parse(readFileSync(lock.ownerPath, 'utf8')).pid, process.pid);
  await lock.release();
});

test('several processes racing for a dead owner\'s lock: one takes it, the others are refused naming it', async (t) => {
  const out = join(tmp(t), 'out');
  const dead = hold(t, { target: out, kind: 'dir' });
  await dead.line('held');
  dead.child.kill('SIGKILL');
  await dead.exited;
  const racers = [0, 1, 2].map(() => hold(t, { target: out, kind: 'dir' }));
  await until('every racer held or was refused', () => racers.every((r) => r.lines.some((l) => 'held' in l || 'refused' in l)), 20_000, 20);
  const winners = racers.filter((r) => r.lines.some((l) => 'held' in l));
  assert.equal(winners.length, 1, JSON.stringify(racers.map((r) => r.lines)));
  for (const r of racers.filter((x) => x !== winners[0])) {
    const refused = (await r.line('refused')).refused as { code: string; message: string };
    assert.equal(refused.code, ErrorCode.Refused);
    assert.match(refused.message, new RegExp(`pid ${winners[0]!.pid} on`));
  }
});

test('a lock of another host is refused while renewed, and taken over once not renewed for staleMs', async (t) => {
  const out = join(tmp(t), 'out');
  const lockDir = join(out, '.shoal.lock');
  mkdirSync(lockDir, { recursive: true });
  const since = Date.parse('2026-12-04T15:02:11Z');
  const far: OwnerInfo = { host: 'far-node-7', pid: 4242, since, role: 'coordinator', updateMs: 1000, staleMs: 2000 };
  writeFileSync(`${lockDir}.owner.json`, JSON.stringify(far));
  await assert.rejects(acquireOwnerLock(out, opts({ staleMs: 2000 })), (err) => assertRefusedBy(err, far));
  const past = (Date.now() - 5000) / 1000;
  utimesSync(lockDir, past, past);
  const lock = await acquireOwnerLock(out, opts({ staleMs: 2000 }));
  assert.equal(JSON.parse(readFileSync(lock.ownerPath, 'utf8')).pid, process.pid);
  await lock.release();
});

test('an owner that promised a longer lease than the reader waits is given it', async (t) => {
  const out = join(tmp(t), 'out');
  const lockDir = join(out, '.shoal.lock');
  mkdirSync(lockDir, { recursive: true });
  const far: OwnerInfo = { host: 'far-node-7', pid: 4242, since: Date.now(), role: 'coordinator', updateMs: 10_000, staleMs: 30_000 };
  writeFileSync(`${lockDir}.owner.json`, JSON.stringify(far));
  const past = (Date.now() - 5000) / 1000; // stale for the reader (2 s), not for the owner (30 s)
  utimesSync(lockDir, past, past);
  await assert.rejects(acquireOwnerLock(out, opts({ staleMs: 2000 })), (err) => assertRefusedBy(err, far) && /taken over 30 s after/.test((err as Error).message));
});

test('a lock is not taken at once when its pid cannot be checked here, or its owner file is missing or garbage', async (t) => {
  const out = join(tmp(t), 'out');
  const lockDir = join(out, '.shoal.lock');
  mkdirSync(lockDir, { recursive: true });
  const gone = spawn(process.execPath, ['-e', '']);
  await new Promise((r) => gone.once('close', r));
  assert.equal(alive(gone.pid!), false);
  // This hostname and a dead pid, but another kernel boot or PID namespace (a container): not ours to judge.
  const other: OwnerInfo = { host: hostname(), pid: gone.pid!, since: Date.now(), role: 'run', updateMs: 10_000, staleMs: 30_000, pidScope: 'another-boot/pid:[1]' };
  writeFileSync(`${lockDir}.owner.json`, JSON.stringify(other));
  await assert.rejects(acquireOwnerLock(out, opts()), (err) => assertRefusedBy(err, other));

  rmSync(`${lockDir}.owner.json`);
  await assert.rejects(acquireOwnerLock(out, opts()), (err) => err instanceof OwnerLockedError && err.owner === undefined && /is in use, but its owner file .*owner\.json is missing/.test(err.message));
  writeFileSync(`${lockDir}.owner.json`, '{"host": "no');
  await assert.rejects(acquireOwnerLock(out, opts()), (err) => err instanceof OwnerLockedError && /owner file .* is not valid/.test(err.message));
});

test('onLost is called once another owner takes the lock over; release then leaves the new owner alone', async (t) => {
  const out = join(tmp(t), 'out');
  const lost: OwnerLostError[] = [];
  const ours = await acquireOwnerLock(out, opts({ staleMs: 4000, updateMs: 2000, onLost: (e) => lost.push(e) }));
  rmdirSync(ours.lockPath); // someone removes our lock directory...
  const other = hold(t, { target: out, kind: 'dir' }); // ...and another process takes it
  const theirs = (await other.line('held')).held as OwnerInfo;
  await until('onLost was called', () => lost.length > 0, 10_000, 20);
  assert.equal(lost.length, 1);
  assert.equal(lost[0]!.code, ErrorCode.Refused);
  assert.match(lost[0]!.message, /^lost the out dir /);
  if (lost[0]!.owner) assert.equal(lost[0]!.owner.pid, other.pid);
  await ours.release();
  assert.ok(existsSync(ours.lockPath), 'their lock directory is still there');
  assert.deepEqual(JSON.parse(readFileSync(ours.ownerPath, 'utf8')), theirs);
  await assert.rejects(acquireOwnerLock(out, opts()), (err) => assertRefusedBy(err, theirs));
  assert.equal(lost.length, 1);
});

test('a paused owner is not a dead one: taken over only once stale, and told it lost the lock when it resumes', async (t) => {
  const out = join(tmp(t), 'out');
  const h = hold(t, { target: out, kind: 'dir', staleMs: 6000 });
  const paused = (await h.line('held')).held as OwnerInfo;
  h.child.kill('SIGSTOP');
  t.after(() => void h.child.kill('SIGCONT'));
  await until('the holder is stopped', () => readFileSync(`/proc/${h.pid}/stat`, 'utf8').split(') ')[1]![0] === 'T', 10_000, 20);
  await assert.rejects(acquireOwnerLock(out, opts({ staleMs: 6000 })), (err) => assertRefusedBy(err, paused));
  const past = (Date.now() - 10_000) / 1000; // as if it had been stopped for 10 s
  utimesSync(join(out, '.shoal.lock'), past, past);
  const ours = await acquireOwnerLock(out, opts({ staleMs: 6000 }));
  h.child.kill('SIGCONT');
  const lost = await h.line('lost');
  assert.equal(lost.code, ErrorCode.Refused);
  assert.match(lost.lost as string, new RegExp(`in use by coordinator pid ${process.pid} on`));
  assert.deepEqual(JSON.parse(readFileSync(ours.ownerPath, 'utf8')), ours.info, 'the resumed owner left our owner file alone');
  await ours.release();
});

test('a lease touched by someone else while the owner file still names us is taken back quietly', async (t) => {
  const out = join(tmp(t), 'out');
  const logs: string[] = [];
  const log = pino({ level: 'warn' }, { write: (s: string) => void logs.push(s) });
  const lost: Error[] = [];
  const ours = await acquireOwnerLock(out, opts({ staleMs: 2000, onLost: (e) => lost.push(e), log }));
  const touched = Date.now() - 500;
  utimesSync(ours.lockPath, touched / 1000, touched / 1000); // not the mtime proper-lockfile set
  await until('the lock was taken back', () => logs.some((l) => l.includes('back after a failed renewal')), 10_000, 20);
  await until('the lease is renewed again', () => statSync(ours.lockPath).mtimeMs > touched + 400, 10_000, 20);
  assert.deepEqual(lost, []);
  await assert.rejects(acquireOwnerLock(out, opts()), (err) => assertRefusedBy(err, ours.info));
  await ours.release();
  assert.equal(existsSync(ours.lockPath), false);
});

test('a holder\'s own SIGTERM handler still runs (on, or once registered before the lock); without one it dies of SIGTERM', async (t) => {
  for (const sigterm of ['on', 'once'] as const) {
    const out = join(tmp(t), `out-${sigterm}`);
    const h = hold(t, { target: out, kind: 'dir', sigterm });
    await h.line('held');
    h.child.kill('SIGTERM');
    assert.deepEqual(await h.exited, { code: 0, signal: null }, `handler registered with ${sigterm}: ${JSON.stringify(h.lines)}`);
    assert.ok(h.lines.some((l) => l.sigterm === true), 'its handler printed');
    assert.equal(existsSync(join(out, '.shoal.lock')), false, 'the lock directory is removed on exit');
    assert.equal(existsSync(join(out, '.shoal.lock.owner.json')), false, 'the owner file is removed on exit');
  }
  const out = join(tmp(t), 'out-none');
  const h = hold(t, { target: out, kind: 'dir', sigterm: 'none' });
  await h.line('held');
  h.child.kill('SIGTERM');
  assert.deepEqual(await h.exited, { code: null, signal: 'SIGTERM' });
  assert.equal(existsSync(join(out, '.shoal.lock')), false, 'proper-lockfile removed its lock directory on the way out');
});

test('a holder that exits without releasing (process.exit) leaves neither lock directory nor owner file', async (t) => {
  const out = join(tmp(t), 'out');
  const h = hold(t, { target: out, kind: 'dir' });
  await h.line('held');
  h.child.stdin!.write('exit\n');
  assert.deepEqual(await h.exited, { code: 0, signal: null });
  assert.equal(existsSync(join(out, '.shoal.lock')), false);
  assert.equal(existsSync(join(out, '.shoal.lock.owner.json')), false);
});

test('lease options are checked up front', async (t) => {
  const out = join(tmp(t), 'out');
  await assert.rejects(acquireOwnerLock(out, opts({ staleMs: 1000 })), (err) => (err as { code?: string }).code === ErrorCode.Usage && /staleMs/.test((err as Error).message));
  await assert.rejects(acquireOwnerLock(out, opts({ staleMs: 4000, updateMs: 3000 })), (err) => (err as { code?: string }).code === ErrorCode.Usage && /updateMs/.test((err as Error).message));
  await assert.rejects(acquireOwnerLock(out, opts({ staleMs: 4000, updateMs: 500 })), /updateMs/);
});
