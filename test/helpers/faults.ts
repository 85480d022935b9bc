/**
 * Building blocks of the fault tests (test/integration/fault-*.test.ts, test/e2e/chaos):
 * a coordinator and agents as real processes, a control client in the test process (fast
 * enough to poll without starting a CLI process each time), what each agent ran, polling.
 *
 *   const suite = faultSuite('shoal-fault-x-');      // nats-server, temp dir, clean-up
 *   const coord = await startCoordinator(suite.nats.url, ns, outDir, ['--agent-timeout', '2']);
 *   const a = await startAgent(suite.nats.url, ns, ['--workers', '1']);
 *   const ctl = await suite.control(ns);
 *   await ctl.waitEnd('J1');
 *   assert.equal(await stopAgent(a.proc), ...);   // SIGTERM; tasks the agent ran
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { NatsBus } from '../../src/bus/index.js';
import { CtlClient } from '../../src/cli/client.js';
import { subjects, type JobStatus, type AgentStatus } from '../../protocol/index.js';
import { ErrorCode } from '../../src/errors.js';
import { killLeftovers, spawnShoal, type Exited, type LogLine, type ShoalProcess, type SpawnOptions } from './shoal.js';
import { startTestNats, type TestNats } from './nats.js';
import type { Row } from './rows.js';

/** What a fault suite's tests share; `nats` and `tmp` are set once its `before` hook has run. */
export interface FaultSuite {
  nats: TestNats;
  tmp: string;
  /** A control client on the suite's server, closed after the suite. */
  control(ns: string): Promise<Control>;
}

/**
 * Registers a suite's hooks: a nats-server and a temp dir (named `prefix`...) before it, then
 * `o.setup`; after it, `o.cleanup` first, then its control clients closed, leftover shoal
 * processes killed, the server stopped and the dir removed.
 */
export function faultSuite(prefix: string, o: { setup?: (s: FaultSuite) => Promise<void>; cleanup?: () => unknown } = {}): FaultSuite {
  const controls: Control[] = [];
  const suite: FaultSuite = {
    nats: undefined as unknown as TestNats,
    tmp: '',
    async control(ns) {
      const c = await Control.connect(suite.nats.url, ns);
      controls.push(c);
      return c;
    },
  };
  before(async () => {
    suite.nats = await startTestNats();
    suite.tmp = mkdtempSync(join(tmpdir(), prefix));
    await o.setup?.(suite);
  });
  after(async () => {
    await o.cleanup?.();
    for (const c of controls) await c.close();
    await killLeftovers();
    await suite.nats?.stop();
    if (suite.tmp) rmSync(suite.tmp, { recursive: true, force: true });
  });
  return suite;
}

/**
 * A suite that needs only a temp dir (embedded runs, no NATS): the dir is made before it and,
 * with every shoal process the suite left running, removed after it. `dir` is set once the
 * `before` hook has run.
 */
export function tempSuite(prefix: string): { dir: string } {
  const suite = { dir: '' };
  before(() => {
    suite.dir = mkdtempSync(join(tmpdir(), prefix));
  });
  after(async () => {
    await killLeftovers();
    if (suite.dir) rmSync(suite.dir, { recursive: true, force: true });
  });
  return suite;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Resolves with `p`'s value, or with null after `ms` (the timer does not keep the process alive). */
export function within<T>(p: Promise<T>, ms: number): Promise<T | null> {
  return Promise.race([p, new Promise<null>((r) => setTimeout(() => r(null), ms).unref())]);
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

/** Starts `shoal agent` and waits until it has joined. */
export async function startAgent(url: string, ns: string, extra: string[] = [], o: SpawnOptions = {}): Promise<{ proc: ShoalProcess; id: string }> {
  const proc = spawnShoal(['agent', ...connArgs(url, ns), ...extra], o);
  return { proc, id: await agentId(proc) };
}

/** Log lines of a process with this exact `msg` (optionally also matching `where`). */
export function logsOf(p: ShoalProcess, msg: string, where: (l: LogLine) => boolean = () => true): LogLine[] {
  return p.logs.filter((l) => l.msg === msg && where(l));
}

/** A log line's time (pino's ISO `time`) in epoch ms. */
export function logTime(l: LogLine): number {
  const t = Date.parse(String(l.time));
  assert.ok(Number.isFinite(t), `log line without a time: ${JSON.stringify(l)}`);
  return t;
}

/**
 * Tasks an agent ran to a result (ok or error row rendered), from its 'agent stopped' line.
 * Aborted tasks and tasks handed back unstarted are not counted; copies later dropped as
 * duplicates are.
 */
export function executions(p: ShoalProcess): number {
  const l = p.logs.find((x) => x.msg === 'agent stopped');
  assert.ok(l && typeof l.tasks === 'number', `no 'agent stopped' line with a task count:\n${p.describe()}`);
  return l.tasks as number;
}

/** SIGTERM (drain), asserts exit 0, returns the tasks the agent ran. */
export async function stopAgent(p: ShoalProcess): Promise<number> {
  p.kill('SIGTERM');
  const e = await p.exited;
  assert.deepEqual(e, { code: 0, signal: null }, p.describe());
  return executions(p);
}

/** SIGKILL and wait for the process to be gone. */
export async function killHard(p: ShoalProcess): Promise<Exited> {
  p.kill('SIGKILL');
  return p.exited;
}

/** Polls `fn` until it returns a truthy value; fails naming `what` after `timeoutMs`. */
export async function until<T>(what: string, fn: () => T | Promise<T>, timeoutMs = 30_000, intervalMs = 100): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
      last = v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
    await sleep(intervalMs);
  }
}

/**
 * The rows of an output that is still being written: complete lines only (a batch being
 * appended may be half on disk). A missing file has no rows.
 */
export function rowsSoFar(path: string): Row[] {
  if (!existsSync(path)) return [];
  const text = readFileSync(path, 'utf8');
  const end = text.lastIndexOf('\n');
  if (end < 0) return [];
  return text
    .slice(0, end)
    .split('\n')
    .map((l) => JSON.parse(l) as Row);
}

/** Tasks with more than one row, and expected tasks with none. */
export function lostAndDuplicated(rows: readonly Row[], expected: Iterable<string>): { lost: string[]; duplicated: string[] } {
  const count = new Map<string, number>();
  for (const r of rows) count.set(r.task, (count.get(r.task) ?? 0) + 1);
  const lost = [...expected].filter((id) => !count.has(id));
  const duplicated = [...count].filter(([, n]) => n > 1).map(([id]) => id);
  return { lost, duplicated };
}

/** A control client inside the test process (status, cancel, drain) on its own NATS connection. */
export class Control {
  private constructor(
    readonly bus: NatsBus,
    readonly client: CtlClient,
  ) {}

  /** `env`: NATS credentials (SHOAL_NATS_USER/PASS...) where the server wants them. */
  static async connect(url: string, ns: string, env: NodeJS.ProcessEnv = {}): Promise<Control> {
    const bus = await NatsBus.connect({ url, name: 'shoal-test control', connectRetryMs: 10_000, env });
    return new Control(bus, new CtlClient(bus, subjects(ns), ns));
  }

  /**
   * `status`, asked again while nobody answers: right after a broker restart a request can
   * reach the server before the coordinator is back on it, and is then lost.
   */
  async status(job?: string): Promise<{ jobs: JobStatus[]; agents: AgentStatus[] }> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        return await this.client.status(job);
      } catch (err) {
        const code = (err as { code?: string }).code;
        if ((code !== ErrorCode.Bus && code !== ErrorCode.Timeout) || Date.now() > deadline) throw err;
      }
    }
  }

  async job(job: string): Promise<JobStatus> {
    const j = (await this.status(job)).jobs.find((x) => x.job === job);
    assert.ok(j, `status has no job '${job}'`);
    return j;
  }

  async agent(id: string): Promise<AgentStatus | undefined> {
    return (await this.status()).agents.find((a) => a.agent === id);
  }

  /** Waits until the job has ended (through coordinator restarts and broker outages) and returns its last status. */
  async waitEnd(job: string, timeoutMs = 60_000): Promise<JobStatus> {
    let last: JobStatus | null = null;
    const timer = new Promise<never>((_, reject) => {
      const t = setTimeout(() => reject(new Error(`job ${job} has not ended after ${timeoutMs} ms (last status: ${JSON.stringify(last)})`)), timeoutMs);
      t.unref();
    });
    return Promise.race([this.client.waitFor(job, (j) => (last = j), 200), timer]);
  }

  close(): Promise<void> {
    return this.bus.close();
  }
}

/** spawnShoal through a wrapper (`nsenter ... --`) that execs shoal, so signals reach it. */
export function spawnWrapped(wrapper: readonly string[], args: readonly string[], o: { env?: Record<string, string> } = {}): ShoalProcess {
  return spawnShoal(args, { ...o, wrapper });
}
