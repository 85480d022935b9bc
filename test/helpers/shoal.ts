/**
 * The shoal CLI as separate OS processes, for integration tests.
 *
 *   const coord = spawnShoal(['coordinator', '--nats', url, '--ns', ns, '--out-dir', dir]);
 *   await coord.waitForLog('coordinator ready');
 *   const r = await runShoal(['status', '--json', '--nats', url, '--ns', ns]);
 *   const a = await startAgent(url, ns, ['--workers', '1']);   // a.id once it has joined
 *   after(killLeftovers);   // SIGKILL whatever a test file left running (suite.ts does)
 *
 * Every process started here is also SIGKILLed when the test process exits, so a failing
 * test never leaves a coordinator or an agent behind.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { cliPath } from './paths.js';
import { GiveUp, until } from './wait.js';

/** One pino JSON line from a process's stderr. */
export interface LogLine {
  level?: number;
  msg?: string;
  [field: string]: unknown;
}

/** A log `msg` (exact), a RegExp tested against `msg`, or a predicate on the parsed line. */
export type LogMatch = string | RegExp | ((line: LogLine) => boolean);

export interface Exited {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface SpawnOptions {
  /** Added to the environment (which is the test's, minus every SHOAL_* variable). */
  env?: Record<string, string | undefined>;
  /** Working directory; default the OS temp dir, so nothing lands in the repository. */
  cwd?: string;
  /** A test context: the process is SIGKILLed when that test ends. */
  t?: { after(fn: () => unknown): void };
  /** A command that runs shoal (`nsenter ... --`); it must exec it, so signals reach shoal. */
  wrapper?: readonly string[];
}

export interface ShoalProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly args: readonly string[];
  /** Everything written to stdout so far. */
  readonly stdout: string;
  /** Everything written to stderr so far. */
  readonly stderr: string;
  /** The stderr lines that parsed as JSON (pino), in order. */
  readonly logs: readonly LogLine[];
  /** True until the process has exited. */
  readonly alive: boolean;
  /** Resolves (never rejects) when the process has exited. */
  readonly exited: Promise<Exited>;
  /** Sends a signal (default SIGTERM); a no-op once the process has exited. */
  kill(signal?: NodeJS.Signals): void;
  /** Resolves with the first log line (already seen or still to come) that matches. */
  waitForLog(match: LogMatch, timeoutMs?: number): Promise<LogLine>;
  /** The command and the tail of its output, for failure messages. */
  describe(): string;
}

const live = new Set<ShoalProcess>();
let exitHook = false;
function killOnExit(): void {
  if (exitHook) return;
  exitHook = true;
  process.once('exit', () => {
    for (const p of live) p.kill('SIGKILL');
  });
}

function baseEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('SHOAL_')) env[k] = v;
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

function matcher(m: LogMatch): (l: LogLine) => boolean {
  if (typeof m === 'string') return (l) => l.msg === m;
  if (m instanceof RegExp) return (l) => typeof l.msg === 'string' && m.test(l.msg);
  return m;
}

function label(m: LogMatch): string {
  return typeof m === 'function' ? 'a log line matching the predicate' : `log msg ${typeof m === 'string' ? `'${m}'` : String(m)}`;
}

const tail = (s: string, n = 2000): string => (s.length > n ? `…${s.slice(-n)}` : s);

/** Starts `node dist/bundle/main.js ...args` (the CLI as it ships). */
export function spawnShoal(args: readonly string[], opts: SpawnOptions = {}): ShoalProcess {
  killOnExit();
  const argv = [...(opts.wrapper ?? []), process.execPath, cliPath, ...args];
  const child = spawn(argv[0]!, argv.slice(1), { cwd: opts.cwd ?? tmpdir(), env: baseEnv(opts.env), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let partial = '';
  const logs: LogLine[] = [];
  const waiters = new Set<{ test: (l: LogLine) => boolean; resolve: (l: LogLine) => void }>();
  let status: Exited | null = null;
  const onExit = new Set<() => void>();

  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
    partial += d;
    let nl: number;
    while ((nl = partial.indexOf('\n')) !== -1) {
      const text = partial.slice(0, nl);
      partial = partial.slice(nl + 1);
      if (!text.startsWith('{')) continue;
      let line: LogLine;
      try {
        line = JSON.parse(text) as LogLine;
      } catch {
        continue;
      }
      logs.push(line);
      for (const w of [...waiters]) {
        if (w.test(line)) {
          waiters.delete(w);
          w.resolve(line);
        }
      }
    }
  });

  const exited = new Promise<Exited>((resolve) => {
    // 'close' (not 'exit'): stdout and stderr are complete by then.
    child.once('close', (code, signal) => {
      status = { code, signal };
      live.delete(proc);
      for (const f of onExit) f();
      resolve(status);
    });
    child.once('error', (err) => {
      stderr += `\n[spawn error] ${err.message}\n`;
    });
  });

  const proc: ShoalProcess = {
    child,
    pid: child.pid ?? -1,
    args,
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
    logs,
    get alive() {
      return status === null;
    },
    exited,
    kill(signal: NodeJS.Signals = 'SIGTERM') {
      if (status === null && child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
    waitForLog(match: LogMatch, timeoutMs = 20_000) {
      const test = matcher(match);
      const seen = logs.find(test);
      if (seen) return Promise.resolve(seen);
      return new Promise<LogLine>((resolve, reject) => {
        const done = (): void => {
          clearTimeout(timer);
          waiters.delete(w);
          onExit.delete(gone);
        };
        const w = {
          test,
          resolve: (l: LogLine) => {
            done();
            resolve(l);
          },
        };
        const gone = (): void => {
          done();
          reject(new Error(`shoal ${args[0]} exited (${JSON.stringify(status)}) before ${label(match)}\n${proc.describe()}`));
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`no ${label(match)} within ${timeoutMs} ms\n${proc.describe()}`));
        }, timeoutMs);
        waiters.add(w);
        if (status !== null) gone();
        else onExit.add(gone);
      });
    },
    describe() {
      return `$ shoal ${args.join(' ')}  (pid ${child.pid})\n--- stdout\n${tail(stdout)}\n--- stderr\n${tail(stderr)}`;
    },
  };
  live.add(proc);
  opts.t?.after(() => killAndWait(proc));
  return proc;
}

export interface RunResult extends Exited {
  stdout: string;
  stderr: string;
  /** The command and its output, for failure messages. */
  describe(): string;
}

/** Runs a short command to its end (SIGKILLed after `timeoutMs`, which fails the caller). */
export async function runShoal(args: readonly string[], opts: SpawnOptions & { timeoutMs?: number } = {}): Promise<RunResult> {
  const p = spawnShoal(args, opts);
  const timeoutMs = opts.timeoutMs ?? 60_000;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    p.kill('SIGKILL');
  }, timeoutMs);
  const e = await p.exited;
  clearTimeout(timer);
  if (timedOut) throw new Error(`shoal ${args.join(' ')} did not end within ${timeoutMs} ms\n${p.describe()}`);
  return { ...e, stdout: p.stdout, stderr: p.stderr, describe: () => p.describe() };
}

/** Runs a command that prints one JSON document (`--json`) and parses it; a non-zero exit throws. */
export async function shoalJson<T = any>(args: readonly string[], opts: SpawnOptions & { timeoutMs?: number } = {}): Promise<T> {
  const r = await runShoal(args, opts);
  if (r.code !== 0) throw new Error(`exit ${r.code ?? r.signal}\n${r.describe()}`);
  try {
    return JSON.parse(r.stdout) as T;
  } catch (err) {
    throw new Error(`stdout is not one JSON document (${(err as Error).message})\n${r.describe()}`);
  }
}

/** The fields of `status --json` a test looks at. */
export interface JobStatusJson {
  job: string;
  kind: string;
  state: string;
  total: number;
  done: number;
  failed: number;
  running: number;
  queued: number;
  out: string;
  [field: string]: unknown;
}

/** `shoal status JOB --json`: the job's entry. */
export async function jobStatus(url: string, ns: string, job: string): Promise<JobStatusJson> {
  const st = await shoalJson<{ kind: string; jobs: JobStatusJson[] }>(['status', job, '--json', '--nats', url, '--ns', ns]);
  const j = st.jobs.find((x) => x.job === job);
  if (!j) throw new Error(`status --json has no job '${job}': ${JSON.stringify(st)}`);
  return j;
}

/** Polls `status JOB --json` until the job has ended; returns its final status. A failing `status` fails at once. */
export async function waitForJobEnd(url: string, ns: string, job: string, o: { timeoutMs?: number; intervalMs?: number } = {}): Promise<JobStatusJson> {
  let last: JobStatusJson | null = null;
  return until(
    () => `job ${job} to end (still ${last?.state} at ${last?.done}/${last?.total})`,
    async () => {
      try {
        last = await jobStatus(url, ns, job);
      } catch (err) {
        throw new GiveUp((err as Error).message);
      }
      return last.state !== 'running' && last.state !== 'expanding' ? last : null;
    },
    o.timeoutMs ?? 45_000,
    o.intervalMs ?? 500,
  );
}

/** `--nats URL --ns NS`. */
export const connArgs = (url: string, ns: string): string[] => ['--nats', url, '--ns', ns];

/** Starts `shoal coordinator` and waits until it is ready. */
export async function startCoordinator(url: string, ns: string, outDir: string, extra: string[] = [], o: SpawnOptions = {}): Promise<ShoalProcess> {
  const p = spawnShoal(['coordinator', ...connArgs(url, ns), '--out-dir', outDir, ...extra], o);
  await p.waitForLog('coordinator ready');
  return p;
}

/** The agent id a process announced when it (first) joined. */
export async function agentId(p: ShoalProcess, timeoutMs = 20_000): Promise<string> {
  const line = await p.waitForLog('joined the coordinator', timeoutMs);
  assert.equal(typeof line.agent, 'string', p.describe());
  return line.agent as string;
}

/** An agent process and the id it joined with. */
export interface Agent {
  proc: ShoalProcess;
  id: string;
}

/** Starts `shoal agent` and waits until it has joined. */
export async function startAgent(url: string, ns: string, extra: string[] = [], o: SpawnOptions = {}): Promise<Agent> {
  const proc = spawnShoal(['agent', ...connArgs(url, ns), ...extra], o);
  return { proc, id: await agentId(proc) };
}

async function killAndWait(p: ShoalProcess): Promise<void> {
  if (!p.alive) return;
  p.kill('SIGKILL');
  await p.exited;
}

/** SIGKILLs every process still running and waits for them (use in `after`). */
export async function killLeftovers(): Promise<void> {
  await Promise.all([...live].map(killAndWait));
}

/** Whether a pid is a live process: a zombie is dead (it only waits to be reaped, and `kill -0` succeeds on it). */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}
