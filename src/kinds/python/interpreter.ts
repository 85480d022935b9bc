/**
 * One long-lived Python interpreter, run by a worker thread: `python -m shoal_worker` (the
 * package's python/shoal_worker.py, which documents the protocol) in its own process group.
 *
 * Requests go on the child's fd 3 and replies come on its fd 4, one JSON object per line, so the
 * user's own stdout and stderr (fds 1 and 2) never disturb them; their last bytes are kept for
 * the message of a crash. The group is guarded by a lifeline (lifelineWrapper): when the thread
 * or the agent dies, or the pool kills the thread of a cancelled bundle, the interpreter gets
 * SIGTERM and, `killGraceS` later, SIGKILL.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { threadId } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import type { Readable, Writable } from 'node:stream';
import { lifelineWrapper, signalOfStatus, Tail } from '../command/process.js';

/** What the interpreter says about a failure (a Python exception). */
export interface PyError {
  type: string;
  message: string;
  traceback: string;
  stdout?: string;
  stderr?: string;
}

/** One task's answer. */
export interface PyReply {
  op: 'done' | 'error';
  id: string;
  value?: unknown;
  records?: unknown[];
  error?: PyError;
  stdout?: string;
  stderr?: string;
  /** The task's time in the interpreter, ms. */
  ms?: number;
}

/** How the process ended, when it did. */
export interface PyExit {
  code: number | null;
  signal: string | null;
  /** The end of what it wrote to stderr (fd 2), for the message. */
  stderr: string;
}

export interface InterpreterSpec {
  python: string;
  fn: string;
  cwd: string;
  params: unknown;
  env: NodeJS.ProcessEnv;
  /** Characters of each task's stdout and stderr kept. */
  tail: number;
  /** Seconds between SIGTERM and SIGKILL when it must go. */
  killGraceS: number;
}

/** Where shoal_worker.py is: `python/` at the package root, found upward from this file (tsc output or bundle). */
function workerDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'python', 'shoal_worker.py'))) return join(dir, 'python');
    const up = dirname(dir);
    if (up === dir) throw new Error(`python/shoal_worker.py not found above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
}
let foundDir: string | null = null;

/** Setup failed: the function cannot be imported, or `setup(params)` raised. */
export class SetupFailed extends Error {
  constructor(readonly error: PyError) {
    super(`${error.type}: ${error.message}`);
  }
}

/** The interpreter could not be started, or died before it was ready. */
export class StartFailed extends Error {}

let made = 0;

export class Interpreter {
  /** The interpreter's own pid (from its ready message; the group's leader until then). */
  pid: number;
  /** The process group (its leader is the lifeline wrapper). */
  private readonly group: number;
  version = '';
  /** Tasks answered since it started (for --recycle-after). */
  answered = 0;
  private readonly child: ChildProcess;
  private readonly requests: Writable;
  private readonly stderr = new Tail(4096);
  private buffered = '';
  private readonly replies: unknown[] = [];
  private waiter: (() => void) | null = null;
  private ended: PyExit | null = null;
  /** The file where the interpreter counts the tasks it has begun (see shoal_worker.py). */
  private readonly progress = join(tmpdir(), `shoal-progress-${process.pid}-${threadId}-${++made}`);
  /** Tasks it had begun when it ended (from the progress file); null while it runs or when unknown. */
  begunAtEnd: number | null = null;

  private constructor(spec: InterpreterSpec) {
    foundDir ??= workerDir();
    writeFileSync(this.progress, Buffer.alloc(8));
    const env = { ...spec.env, PYTHONPATH: [foundDir, spec.env.PYTHONPATH].filter(Boolean).join(delimiter), PYTHONUNBUFFERED: '1', SHOAL_PROGRESS: this.progress };
    this.child = spawn('/bin/sh', ['-c', lifelineWrapper(9, spec.killGraceS, [3, 4]), 'shoal', spec.python, '-m', 'shoal_worker'], {
      cwd: spec.cwd,
      env,
      detached: true,
      stdio: ['pipe', 'pipe', 'pipe', 'pipe', 'pipe'],
    });
    this.group = this.child.pid ?? -1;
    this.pid = this.group;
    this.requests = this.child.stdio[3] as Writable;
    this.requests.on('error', () => undefined);
    // The lifeline: never written, never ended.
    this.child.stdin!.on('error', () => undefined);
    // fd 1 is the user's: drained (a C library printing megabytes must not block the process).
    this.child.stdout!.resume();
    this.child.stderr!.on('data', (b: Buffer) => this.stderr.add(b));
    const replies = this.child.stdio[4] as Readable;
    replies.setEncoding('utf8');
    replies.on('data', (s: string) => this.onData(s));
    this.child.once('error', (e) => this.onEnd({ code: null, signal: null, stderr: `cannot start ${spec.python}: ${e.message}` }));
    this.child.once('exit', (code, signal) => this.onEnd({ code, signal, stderr: this.stderr.text() }));
  }

  /** Starts an interpreter and loads the function (and runs `setup`). */
  static async start(spec: InterpreterSpec): Promise<Interpreter> {
    const it = new Interpreter(spec);
    it.write({ op: 'init', fn: spec.fn, cwd: spec.cwd, params: spec.params, tail: spec.tail });
    const first = await it.next();
    if ('code' in first) throw new StartFailed(`${spec.python} ended before it was ready (${describeExit(first)})`);
    const msg = first as { op?: string; error?: PyError; pid?: number; python?: string };
    if (msg.op === 'fatal' && msg.error) {
      it.kill();
      throw new SetupFailed(msg.error);
    }
    if (msg.op !== 'ready') {
      it.kill();
      throw new StartFailed(`${spec.python}: unexpected first message ${JSON.stringify(msg).slice(0, 200)}`);
    }
    it.version = msg.python ?? '';
    if (typeof msg.pid === 'number') it.pid = msg.pid;
    return it;
  }

  get alive(): boolean {
    return this.ended === null;
  }

  /** Sends tasks to run, in order. */
  run(tasks: ReadonlyArray<{ id: string; input: unknown }>): void {
    this.write({ op: 'run', tasks });
  }

  /** The next reply, or how the process ended. */
  async next(): Promise<PyReply | PyExit> {
    for (;;) {
      if (this.replies.length > 0) return this.replies.shift() as PyReply;
      if (this.ended) return this.ended;
      await new Promise<void>((r) => (this.waiter = r));
    }
  }

  /** SIGKILL to the whole group (a task over its time, or a protocol breach). */
  kill(): void {
    try {
      process.kill(-this.group, 'SIGKILL');
    } catch {
      // gone already
    }
  }

  /** Asks it to exit; kills it when it has not within `ms`. */
  async close(ms = 2000): Promise<void> {
    if (!this.alive) return;
    this.write({ op: 'exit' });
    const timer = setTimeout(() => this.kill(), ms);
    while (this.alive) await this.next().catch(() => undefined);
    clearTimeout(timer);
  }

  private write(msg: unknown): void {
    if (this.ended) return;
    this.requests.write(JSON.stringify(msg) + '\n');
  }

  private onData(s: string): void {
    this.buffered += s;
    let nl = this.buffered.indexOf('\n');
    if (nl < 0) return;
    let from = 0;
    while (nl >= 0) {
      const line = this.buffered.slice(from, nl);
      from = nl + 1;
      try {
        this.replies.push(JSON.parse(line));
      } catch {
        this.replies.push({ op: 'error', id: '', error: { type: 'ProtocolError', message: `unreadable reply: ${line.slice(0, 200)}`, traceback: '' } });
      }
      nl = this.buffered.indexOf('\n', from);
    }
    this.buffered = this.buffered.slice(from);
    this.wake();
  }

  private onEnd(e: PyExit): void {
    if (this.ended) return;
    this.ended = e;
    try {
      const b = readFileSync(this.progress);
      if (b.length >= 8) this.begunAtEnd = Number(b.readBigUInt64LE(0));
      rmSync(this.progress, { force: true });
    } catch {
      // gone or unreadable: the first unanswered task is blamed
    }
    // Nothing of its group may outlive it.
    this.kill();
    this.wake();
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }
}

/** "exit code 1", "killed by SIGSEGV", with stderr's end. */
export function describeExit(e: PyExit): string {
  const signal = e.signal ?? (e.code !== null ? signalOfStatus(e.code) : null);
  const how = signal ? `killed by ${signal}` : `exited with code ${e.code}`;
  const tail = e.stderr.trim();
  return tail ? `${how}; stderr tail: ${tail.slice(-1500)}` : how;
}
