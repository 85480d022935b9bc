/**
 * One external program in its own process group, with its output captured within limits.
 *
 * Killing: a timeout or an abort sends SIGTERM to the whole group, then SIGKILL after the
 * grace period, so a program's own children die with it. When the program ends, whatever it
 * left running in its group is SIGKILLed too (as Slurm does at the end of a step).
 *
 * The worker thread that started the program may itself be terminated (piscina does that to
 * the thread of a cancelled task, and a SIGKILLed agent takes every thread with it); no
 * JavaScript runs then. So the program is started by a small sh wrapper that holds the read
 * end of a pipe whose write end only this thread holds: when the thread (or the whole agent)
 * dies the pipe closes, and the wrapper's watcher SIGKILLs the group. The wrapper leaves the
 * program's exit status, stdout and stderr untouched, and outlives a SIGTERM while the program
 * runs (so a program that traps SIGTERM gets its grace period). The program's stdin is
 * /dev/null, and, as for any background command of sh, SIGINT and SIGQUIT are ignored in it
 * (shoal never sends them: it stops programs with SIGTERM and SIGKILL).
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';

/**
 * The sh script that starts "$@" in its own process group, guarded by a lifeline: fd 0 when
 * the script starts, moved to `fd` (program's stdin is /dev/null). When the lifeline closes, a
 * watcher kills the group: at once (`graceS` 0), or SIGTERM first and SIGKILL `graceS` seconds
 * later. The watcher ignores SIGTERM so that it stays on guard during a grace period; `wait`
 * returns early when the trapped SIGTERM arrives, hence the loop. `passed` are further fds
 * meant for the program alone: the watcher and the script close theirs once it has started.
 */
export function lifelineWrapper(fd: number, graceS = 0, passed: readonly number[] = []): string {
  const onLost = graceS > 0 ? `kill -TERM 0; sleep ${graceS}; kill -KILL 0` : 'kill -KILL 0';
  const close = passed.map((p) => ` ${p}<&-`).join('');
  return [
    `exec ${fd}<&0 0</dev/null`,
    `"$@" ${fd}<&- &`,
    'c=$!',
    `{ trap '' TERM; read -r _ <&${fd}; ${onLost}; }${close} &`,
    'w=$!',
    `exec ${fd}<&-${close}`,
    "trap ':' TERM",
    'wait "$c"; s=$?',
    'while kill -0 "$c" 2>/dev/null; do wait "$c"; s=$?; done',
    'kill -KILL "$w" 2>/dev/null',
    'exit "$s"',
  ].join('\n');
}

const WRAPPER = lifelineWrapper(3);

/** How long the poll loop sleeps between looks at the abort flag and the clock. */
const POLL_MS = 50;
/** How long to wait for the pipes to close after the program exited (something outside the group may hold them). */
const CLOSE_WAIT_MS = 1_000;

export interface ProcessOptions {
  argv: readonly string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Kill the group after this many ms (0 = never). */
  timeoutMs: number;
  /** Between SIGTERM and SIGKILL. */
  killGraceMs: number;
  /** Most stdout bytes kept. */
  maxStdout: number;
  /** Bytes of the end of stderr kept. */
  stderrTail: number;
  /** Polled every 50 ms while the program runs; true kills the group. */
  aborted(): boolean;
}

export interface ProcessResult {
  /** Exit status of the program (128 + n when it died of signal n), or null when the group was killed. */
  exit: number | null;
  /** The signal that ended it: the wrapper's own, or inferred from a status of 128 + n (as a shell would). */
  signal: string | null;
  ms: number;
  /** Up to maxStdout bytes, as UTF-8 text. */
  stdout: string;
  stdoutBytes: number;
  stdoutTruncated: boolean;
  /** The last stderrTail bytes, as UTF-8 text. */
  stderr: string;
  /** Why we killed it, if we did. */
  killed: 'timeout' | 'aborted' | null;
}

/** The signal name behind a shell-style status of 128 + n, if n is a signal. */
export function signalOfStatus(status: number): string | null {
  if (status <= 128 || status > 128 + 64) return null;
  const n = status - 128;
  for (const [name, num] of Object.entries(constants.signals)) if (num === n) return name;
  return null;
}

/** Keeps the first `max` bytes of a stream and counts the rest. */
export class Head {
  private chunks: Buffer[] = [];
  private kept = 0;
  bytes = 0;
  constructor(private readonly max: number) {}
  add(b: Buffer): void {
    this.bytes += b.length;
    if (this.kept >= this.max) return;
    const take = b.subarray(0, this.max - this.kept);
    this.chunks.push(take);
    this.kept += take.length;
  }
  get truncated(): boolean {
    return this.bytes > this.kept;
  }
  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

/** Keeps the last `max` bytes of a stream. */
export class Tail {
  private chunks: Buffer[] = [];
  private held = 0;
  constructor(private readonly max: number) {}
  add(b: Buffer): void {
    if (this.max === 0) return;
    this.chunks.push(b);
    this.held += b.length;
    if (this.held > 2 * this.max) {
      const all = Buffer.concat(this.chunks);
      this.chunks = [all.subarray(all.length - this.max)];
      this.held = this.max;
    }
  }
  text(): string {
    const all = Buffer.concat(this.chunks);
    return all.subarray(Math.max(0, all.length - this.max)).toString('utf8');
  }
}

/** Runs the program to its end (or until killed). Rejects only when it cannot be started at all. */
export function runInGroup(o: ProcessOptions): Promise<ProcessResult> {
  const t0 = performance.now();
  const child = spawn('/bin/sh', ['-c', WRAPPER, 'shoal', ...o.argv], {
    cwd: o.cwd,
    env: o.env,
    detached: true, // setsid: the wrapper leads a new process group
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const out = new Head(o.maxStdout);
  const err = new Tail(o.stderrTail);
  child.stdout!.on('data', (b: Buffer) => out.add(b));
  child.stderr!.on('data', (b: Buffer) => err.add(b));
  // The lifeline: never written, never ended; it closes when this thread or process dies.
  child.stdin!.on('error', () => undefined);

  return new Promise((resolve, reject) => {
    let killed: ProcessResult['killed'] = null;
    let escalate: NodeJS.Timeout | null = null;
    let closeTimer: NodeJS.Timeout | undefined;
    let exitInfo: { code: number | null; signal: NodeJS.Signals | null } | null = null;
    let settled = false;
    const pgid = child.pid;

    const killGroup = (sig: NodeJS.Signals): void => {
      if (pgid === undefined) return;
      try {
        process.kill(-pgid, sig);
      } catch {
        // ESRCH: the group is gone already.
      }
    };
    const stop = (why: 'timeout' | 'aborted'): void => {
      if (killed) return;
      killed = why;
      killGroup('SIGTERM');
      escalate = setTimeout(() => killGroup('SIGKILL'), o.killGraceMs);
    };
    const poll = setInterval(() => {
      if (o.aborted()) stop('aborted');
      else if (o.timeoutMs > 0 && performance.now() - t0 >= o.timeoutMs) stop('timeout');
    }, POLL_MS);

    const finish = (): void => {
      if (settled) return;
      settled = true;
      clearInterval(poll);
      if (escalate) clearTimeout(escalate);
      clearTimeout(closeTimer);
      child.stdout!.destroy();
      child.stderr!.destroy();
      child.stdin!.destroy();
      const e = exitInfo ?? { code: null, signal: null };
      const signal = e.signal ?? (e.code !== null ? signalOfStatus(e.code) : null);
      resolve({
        exit: e.code,
        signal,
        ms: +(performance.now() - t0).toFixed(3),
        stdout: out.text(),
        stdoutBytes: out.bytes,
        stdoutTruncated: out.truncated,
        stderr: err.text(),
        killed,
      });
    };
    child.once('error', (e) => {
      if (exitInfo || settled) return;
      settled = true;
      clearInterval(poll);
      if (escalate) clearTimeout(escalate);
      reject(e);
    });
    child.once('exit', (code, signal) => {
      exitInfo = { code, signal };
      // The program is done (the wrapper waits for it): nothing of its group may outlive the task.
      killGroup('SIGKILL');
      closeTimer = setTimeout(finish, CLOSE_WAIT_MS);
    });
    child.once('close', () => {
      if (exitInfo) finish();
    });
  });
}
