/**
 * One owner per output: an out dir or an output file is written by one process at a time, even
 * across the hosts of a cluster on a shared filesystem (NFS, Lustre, GPFS) where fcntl/flock
 * locks may not hold.
 *
 * The lock is proper-lockfile's: a lock directory created with mkdir (atomic on every such
 * filesystem), whose mtime the owner touches every `updateMs` (a lease). A lock not touched for
 * `staleMs` is abandoned and taken over; a renewed one is refused. Beside the lock directory
 * (not inside: a stale one is removed with rmdir) an owner file names the holder (host, pid,
 * role, since), for the refusal message and for taking over at once a lock whose owner process
 * is gone on this very host.
 *
 * Limits:
 * - Staleness is judged by comparing the lock directory's mtime (set from the owner's clock) with
 *   the reader's clock, so the hosts' clocks must agree to well under `staleMs` (NTP does this;
 *   a host minutes off can take a live lock, or wait minutes for a dead one).
 * - NFS clients cache a directory's attributes (up to `acdirmax`, 60 s by default), so another
 *   host may see the mtime that late: on NFS `staleMs` must exceed it (or mount the out dir
 *   with a small `actimeo`). Lustre and GPFS keep attributes coherent.
 * - A paused owner (SIGSTOP, a hung filesystem, a frozen VM) is not a dead one: after `staleMs`
 *   its lock is taken over, and when it resumes it learns so at its next renewal and is told
 *   through `onLost`; it may have written in between. Only a pid checked on this host (same
 *   kernel boot and PID namespace) proves an owner dead sooner.
 * - Taking, taking over and releasing happen under a short second lock, the gate (`<lock>.gate`),
 *   so that a lock directory and its owner file are read and replaced together: a process never
 *   judges a fresh lock by the owner file of the dead one it replaced.
 */
import { readFileSync, readlinkSync, unlinkSync } from 'node:fs';
import { mkdir, readFile, realpath, rename, rmdir, stat, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import type * as ProperLockfile from 'proper-lockfile';
import { ErrorCode, ShoalError, UsageError } from './errors.js';
import { silentLogger, type Logger } from './log.js';

/** Who holds a lock; kept as JSON in `<lockPath>.owner.json`. */
export interface OwnerInfo {
  /** os.hostname() of the owner. */
  host: string;
  /** The owner's process id (meaningful on `host` only). */
  pid: number;
  /** When it took the lock, epoch ms. */
  since: number;
  /** What holds it: 'coordinator', 'run', ... */
  role: string;
  /** Free text for people (a Slurm job id, a job name). */
  detail?: string;
  /** How often the owner renews its lease, ms. */
  updateMs: number;
  /** After how long without renewal the owner expects its lock to be taken over, ms. */
  staleMs: number;
  /** Where `pid` names a process (Linux: kernel boot id and PID namespace). A pid is judged dead only from the same scope, so a container with the same hostname is not. */
  pidScope?: string;
}

/** The lock is held by someone else (or being taken right now). `owner`: the holder, when its owner file could be read. */
export class OwnerLockedError extends ShoalError {
  constructor(message: string, readonly lockPath: string, readonly owner?: OwnerInfo) {
    super(ErrorCode.Refused, message, { retryable: false });
    this.name = 'OwnerLockedError';
  }
}

/** Given to `onLost`: the lock we held is gone, or someone else's now (`owner`, when known). */
export class OwnerLostError extends ShoalError {
  constructor(message: string, readonly lockPath: string, readonly owner: OwnerInfo | undefined, cause: unknown) {
    super(ErrorCode.Refused, message, { retryable: false, cause });
    this.name = 'OwnerLostError';
  }
}

export interface OwnerLockOptions {
  /** 'dir': an out dir, locked by `<dir>/.shoal.lock` (the dir is created). 'file': one output file, locked by `<file>.lock` (the file need not exist). */
  kind: 'dir' | 'file';
  /** What the holder is, for the refusal message: 'coordinator', 'run', ... */
  role: string;
  /** Free text for the refusal message (a Slurm job id, a job name). */
  detail?: string;
  /** A lease not renewed for this long is taken over, ms. Default 30,000; at least 2,000 (proper-lockfile's floor). */
  staleMs?: number;
  /** How often the lease is renewed, ms. Default staleMs / 3 (at least 1,000); between 1,000 and staleMs / 2. */
  updateMs?: number;
  /** Called once when the lock is lost for good (taken over, removed, not renewable): stop writing. Never called after release(). */
  onLost(err: OwnerLostError): void;
  /** Takeovers and losses are logged here (default: nowhere). */
  log?: Logger;
}

/** A held lock: its lock directory, the owner file beside it, and what that file says. */
export interface OwnerLock {
  readonly lockPath: string;
  readonly ownerPath: string;
  readonly info: OwnerInfo;
  /** Removes the lock and the owner file (if still ours). Idempotent; safe after a loss; never rejects. */
  release(): Promise<void>;
}

export const OWNER_LOCK_DEFAULTS = { staleMs: 30_000 } as const;

type Lib = { lock: typeof ProperLockfile.lock };
type Unlock = () => Promise<void>;
let lib: Promise<Lib> | undefined;

/**
 * proper-lockfile, loaded on first use. On load it hooks signal-exit (v3) to remove its locks
 * when the process dies of a signal: a listener on SIGTERM, SIGINT, ... that re-raises the
 * signal when it is the only listener left. A handler added with `process.on` is unaffected.
 * But a `process.once` handler registered before that listener runs first, removes itself, and
 * signal-exit then finds itself alone and kills the process before the handler's drain could run
 * (the coordinator waits for SIGTERM with `once`). So the listeners it adds are moved to the front:
 * they then always see the program's handlers still registered.
 */
function properLockfile(): Promise<Lib> {
  return (lib ??= (async () => {
    const signals = ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT'] as const;
    const before = new Map(signals.map((s) => [s, new Set(process.listeners(s))]));
    const mod = (await import('proper-lockfile')).default;
    for (const s of signals) {
      for (const l of process.listeners(s)) {
        if (before.get(s)!.has(l)) continue;
        process.removeListener(s, l);
        process.prependListener(s, l as NodeJS.SignalsListener);
      }
    }
    return mod;
  })());
}

const PID_SCOPE = ((): string | undefined => {
  try {
    return `${readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim()}/${readlinkSync('/proc/self/ns/pid')}`;
  } catch {
    return undefined; // no /proc: pids are checked with kill -0
  }
})();

/** Whether a pid is a live process here: a zombie is dead (it only waits to be reaped, and `kill -0` succeeds on it). */
function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return true; // not a pid we can check: assume alive
  try {
    const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return st.slice(st.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    if (PID_SCOPE !== undefined) return false; // /proc works here, and has no such process
  }
  try {
    return process.kill(pid, 0);
  } catch (err) {
    return errCode(err) !== 'ESRCH';
  }
}

type OwnerRead = { ok: true; info: OwnerInfo } | { ok: false; why: string };

async function readOwner(path: string): Promise<OwnerRead> {
  const text = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => err);
  if (typeof text !== 'string') return { ok: false, why: `its owner file ${path} ${text.code === 'ENOENT' ? 'is missing' : `cannot be read (${text.code ?? text.message})`}` };
  try {
    const v = JSON.parse(text) as OwnerInfo;
    if (typeof v.host !== 'string' || !Number.isInteger(v.pid) || typeof v.since !== 'number' || typeof v.role !== 'string') throw new Error('fields missing');
    return { ok: true, info: v };
  } catch (err) {
    return { ok: false, why: `its owner file ${path} is not valid (${(err as Error).message})` };
  }
}

const sameOwner = (a: OwnerInfo, b: OwnerInfo): boolean => a.host === b.host && a.pid === b.pid && a.since === b.since;
const secs = (ms: number): string => (Number.isFinite(ms) ? `${Number((ms / 1000).toFixed(ms < 10_000 ? 1 : 0))} s` : '? s');
const iso = (ms: number): string => (Number.isFinite(new Date(ms).getTime()) ? new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z') : `${ms} (not a time)`);
const errCode = (err: unknown): string | undefined => (err as NodeJS.ErrnoException | undefined)?.code;

/** "coordinator pid 4711 on node12 (slurm job 812) since 2026-12-04T15:02:11Z" */
export function describeOwner(o: OwnerInfo): string {
  return `${o.role} pid ${o.pid} on ${o.host}${o.detail ? ` (${o.detail})` : ''} since ${iso(o.since)}`;
}

/** The lease's age (ms since its last renewal), or undefined if the lock directory is gone. */
const leaseAge = (lockDir: string): Promise<number | undefined> =>
  stat(lockDir).then(
    (st) => Math.max(0, Date.now() - st.mtimeMs),
    () => undefined,
  );

const GATE_STALE_MS = 2_000;
/** About 6 s in all: more than a crashed gate holder's staleness, so its gate is taken over. */
const GATE_RETRIES = { retries: 40, factor: 1.3, minTimeout: 20, maxTimeout: 200 };
class GateBusy extends Error {}

/** Runs `fn` holding the gate: the short lock under which a lock and its owner file change together. */
async function withGate<T>(gate: string, fn: () => Promise<T>): Promise<T> {
  // A paused gate holder loses the gate after 2 s; the main lock's own lease check finds any
  // double owner that results, so the gate's compromise is ignored.
  const opts = { lockfilePath: gate, realpath: false, stale: GATE_STALE_MS, retries: GATE_RETRIES, onCompromised: () => undefined };
  const unlock = await (await properLockfile()).lock(gate, opts).catch((err) => {
    throw errCode(err) === 'ELOCKED' ? new GateBusy(`${gate} is held`) : err;
  });
  try {
    return await fn();
  } finally {
    await unlock().catch(() => undefined);
  }
}

/** Locks held now: their owner files are removed when the process exits (proper-lockfile removes their lock directories). */
const live = new Set<HeldLock>();
process.on('exit', () => live.forEach((l) => l.removeOwnerFileSync()));

type State = 'new' | 'held' | 'recovering' | 'lost' | 'released';

class HeldLock implements OwnerLock {
  private state: State = 'new';
  private unlock: Unlock | undefined;
  private recovery: Promise<void> | undefined;
  private releasing: Promise<void> | undefined;
  info!: OwnerInfo;
  readonly ownerPath: string;
  readonly gatePath: string;
  private readonly log: Logger;

  constructor(readonly lockPath: string, private readonly target: string, private readonly what: string, private readonly o: Lease & OwnerLockOptions) {
    this.ownerPath = `${lockPath}.owner.json`;
    this.gatePath = `${lockPath}.gate`;
    this.log = (o.log ?? silentLogger()).child({ lock: lockPath });
  }

  private async lockDir(): Promise<Unlock> {
    const { staleMs: stale, updateMs: update } = this.o;
    return (await properLockfile()).lock(this.target, { lockfilePath: this.lockPath, realpath: false, stale, update, onCompromised: (err) => this.compromised(err) });
  }

  /** Takes the lock; call under the gate. */
  async take(): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const prev = await readOwner(this.ownerPath);
      const p = prev.ok ? prev.info : undefined;
      const age = await leaseAge(this.lockPath);
      // proper-lockfile judges staleness by the reader's `stale`: an owner that promised a
      // longer lease than ours is given it (its lease is checked here, before proper-lockfile's).
      const promised = Math.max(this.o.staleMs, typeof p?.staleMs === 'number' ? p.staleMs : 0);
      let locked = age !== undefined && age < promised;
      if (!locked) {
        try {
          this.unlock = await this.lockDir();
        } catch (err) {
          if (errCode(err) !== 'ELOCKED') throw new ShoalError(ErrorCode.Input, `cannot lock ${this.what}: ${(err as Error).message}`, { cause: err });
          locked = true;
        }
      }
      if (!locked) {
        if (age !== undefined) this.log.warn({ owner: p ?? (prev.ok ? undefined : prev.why) }, `took over ${this.what}: its lease was not renewed for ${secs(age)}`);
        break;
      }
      if (attempt === 0 && p && p.host === hostname() && p.pidScope === PID_SCOPE && p.pid !== process.pid && !pidAlive(p.pid)) {
        this.log.warn({ owner: p }, `taking over ${this.what}: its owner process ${p.pid} is gone`);
        await rmdir(this.lockPath).catch((e) => (errCode(e) === 'ENOENT' ? undefined : Promise.reject(e)));
        continue; // once: if someone beat us to it, we are refused below
      }
      const now = await leaseAge(this.lockPath);
      const lease = `last ${now === undefined ? 'just now' : `${secs(now)} ago`}; it is taken over ${secs(promised)} after its owner stops renewing it`;
      const by = p ? ` by ${describeOwner(p)} (its lease is renewed every ${secs(p.updateMs)}, ${lease})` : `, but ${prev.ok ? '' : prev.why} (its lock ${this.lockPath} was renewed ${lease})`;
      throw new OwnerLockedError(`${this.what} is in use${by}`, this.lockPath, p);
    }
    const { role, detail, updateMs, staleMs } = this.o;
    this.info = { host: hostname(), pid: process.pid, since: Date.now(), role, ...(detail !== undefined ? { detail } : {}), updateMs, staleMs, ...(PID_SCOPE ? { pidScope: PID_SCOPE } : {}) };
    try {
      // temp + rename: a reader sees the old owner file or the new one, never half of one.
      const tmp = `${this.ownerPath}.${hostname()}.${process.pid}.tmp`;
      await writeFile(tmp, `${JSON.stringify(this.info)}\n`);
      await rename(tmp, this.ownerPath);
    } catch (err) {
      await this.unlock!().catch(() => undefined);
      throw new ShoalError(ErrorCode.Input, `cannot write ${this.ownerPath}: ${(err as Error).message}`, { cause: err });
    }
    this.state = 'held';
    live.add(this);
  }

  /** proper-lockfile could not renew the lease, or found it touched or gone (called from its timer: must not throw). */
  private compromised(err: Error): void {
    if (this.state !== 'held') return;
    this.state = 'recovering';
    this.recovery = this.recover(err);
  }

  /** Takes the lock back if it is still ours on disk; otherwise tells the owner it is lost. Never rejects. */
  private async recover(err: Error): Promise<void> {
    let owner: OwnerInfo | undefined;
    const why = await withGate(this.gatePath, async () => {
      if ((await leaseAge(this.lockPath)) === undefined) return 'its lock directory was removed';
      const now = await readOwner(this.ownerPath);
      if (!now.ok) return now.why;
      owner = now.info;
      if (!sameOwner(now.info, this.info)) return `it is now in use by ${describeOwner(now.info)}`;
      // Still ours (a renewal too late, an mtime touched by someone else): take it again.
      await rmdir(this.lockPath);
      this.unlock = await this.lockDir();
      return undefined;
    }).catch((e: Error) => `it could not be taken back (${e instanceof GateBusy ? `${this.gatePath} stayed held` : e.message})`);
    if (why === undefined) {
      this.state = 'held';
      this.log.warn({ reason: err.message }, `took ${this.what} back after a failed renewal of its lease`);
      return;
    }
    this.state = 'lost';
    live.delete(this);
    const lost = new OwnerLostError(`lost ${this.what}: ${why} (${err.message})`, this.lockPath, owner && !sameOwner(owner, this.info) ? owner : undefined, err);
    this.log.error({ err: lost.message }, 'owner lock lost');
    try {
      this.o.onLost(lost);
    } catch (e) {
      this.log.error({ err: (e as Error).message }, 'onLost threw');
    }
  }

  release(): Promise<void> {
    return (this.releasing ??= this.doRelease());
  }

  private async doRelease(): Promise<void> {
    await this.recovery;
    const wasHeld = this.state === 'held';
    this.state = 'released';
    live.delete(this);
    // The lock directory first: if we die in between, an owner file without a lock is harmless.
    const cleanup = async (): Promise<void> => {
      if (wasHeld) await this.unlock!().catch((e: Error) => this.log.warn({ err: e.message }, 'could not remove the lock directory'));
      const now = await readOwner(this.ownerPath);
      if (now.ok && sameOwner(now.info, this.info)) await unlink(this.ownerPath).catch(() => undefined);
    };
    await withGate(this.gatePath, cleanup).catch(async (e: Error) => {
      this.log.warn({ err: e.message }, 'releasing the owner lock without its gate');
      await cleanup().catch(() => undefined);
    });
  }

  /** On process exit: the owner file goes if it still names us. */
  removeOwnerFileSync(): void {
    try {
      if (sameOwner(JSON.parse(readFileSync(this.ownerPath, 'utf8')) as OwnerInfo, this.info)) unlinkSync(this.ownerPath);
    } catch {
      // gone or unreadable: nothing of ours to remove
    }
  }
}

type Lease = Required<Pick<OwnerLockOptions, 'staleMs' | 'updateMs'>>;

function options(o: OwnerLockOptions): Lease {
  const staleMs = o.staleMs ?? OWNER_LOCK_DEFAULTS.staleMs;
  if (!Number.isFinite(staleMs) || staleMs < 2_000) throw new UsageError(`owner lock: staleMs must be at least 2000 ms (proper-lockfile's floor), got ${staleMs}`);
  const updateMs = o.updateMs ?? Math.max(1_000, Math.round(staleMs / 3));
  if (!Number.isFinite(updateMs) || updateMs < 1_000 || updateMs > staleMs / 2) {
    throw new UsageError(`owner lock: updateMs must be between 1000 ms and staleMs / 2 (${staleMs / 2} ms), got ${updateMs}`);
  }
  if (o.kind !== 'dir' && o.kind !== 'file') throw new UsageError(`owner lock: kind must be 'dir' or 'file', got ${String(o.kind)}`);
  return { staleMs, updateMs };
}

/**
 * Makes this process the one owner of an out dir or an output file, or refuses with an
 * {@link OwnerLockedError}: one line naming what is locked and its owner (or saying that the
 * owner file is missing or unreadable).
 *
 * - A lease not renewed for `staleMs` (or for the longer lease its owner promised) is taken over.
 * - A lock whose owner file names this host and a pid that is no live process here (no /proc
 *   entry, a zombie, `kill -0` ESRCH) is taken over at once, once: if another process takes it
 *   first, this one is refused.
 * - The lease is renewed on unref'd timers (they do not keep the process alive). A renewal that
 *   fails, or finds the lock touched or gone, takes it back quietly when the lock directory is
 *   there and the owner file still names us; otherwise `onLost` is called once: stop writing.
 * - On exit the lock directory (proper-lockfile's hook) and the owner file are removed, but call
 *   `release()` on the shutdown path. A SIGKILLed owner leaves both: taken over at once on its
 *   host, after `staleMs` elsewhere. The program's own SIGTERM/SIGINT handlers keep working.
 */
export async function acquireOwnerLock(target: string, o: OwnerLockOptions): Promise<OwnerLock> {
  const lease = options(o);
  // The real path, so that a symlink or a relative path to the same output finds the same lock.
  const real = await (async () => {
    await mkdir(o.kind === 'dir' ? target : dirname(target), { recursive: true });
    if (o.kind === 'dir') return realpath(target);
    return realpath(target).catch(async (err) => {
      if (errCode(err) !== 'ENOENT') throw err;
      return join(await realpath(dirname(target)), basename(target));
    });
  })().catch((err) => {
    throw new ShoalError(ErrorCode.Input, `cannot lock ${target}: ${(err as Error).message}`, { cause: err });
  });
  const lockPath = o.kind === 'dir' ? join(real, '.shoal.lock') : `${real}.lock`;
  const what = o.kind === 'dir' ? `the out dir ${real}` : `the output file ${real}`;
  const lock = new HeldLock(lockPath, real, what, { ...o, ...lease });
  try {
    await withGate(lock.gatePath, () => lock.take());
  } catch (err) {
    if (err instanceof GateBusy) throw new OwnerLockedError(`${what} is being locked by another process right now (${lock.gatePath} is held); try again`, lockPath);
    throw err;
  }
  return lock;
}
