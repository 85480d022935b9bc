/**
 * A test file's shared surroundings, set up before its tests and torn down after them, so no
 * file repeats its own: a temp dir, every shoal process left running killed at the end, and
 * (natsSuite) a nats-server with control clients on it.
 *
 *   const suite = natsSuite('shoal-x-', { setup: async (s) => { ... } });
 *   const { ns, out, coord, ctl, agents } = await suite.coordinator('x', ['--agent-timeout', '2']);
 *   const [a, b] = await agents(2, ['--workers', '1']);   // ctl is closed after the suite
 *   runShoal(['status', ...suite.conn(ns)]);
 *
 *   const scratch = tempSuite('shoal-y-');       // no NATS (embedded runs, own servers)
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { connectNats, type NatsBus } from '../../src/bus/index.js';
import { CtlClient } from '../../src/cli/client.js';
import { subjects, type JobStatus, type AgentStatus } from '../../protocol/index.js';
import { ErrorCode } from '../../src/errors.js';
import { connArgs, killLeftovers, startAgent, startCoordinator, type Agent, type ShoalProcess, type SpawnOptions } from './shoal.js';
import { startTestNats, uniqueNs, type TestNats } from './nats.js';
import { until } from './wait.js';

/** A suite's temp dir; `dir` is set once its `before` hook has run. */
export interface TempSuite {
  dir: string;
}

/** What a suite does beyond the shared part: after its own set-up, before its own tear-down. */
export interface SuiteHooks<S> {
  /** Runs once the suite's dir (and server) are there; use its argument (a file's `before` may run before the suite's variable is assigned). */
  setup?: (s: S) => unknown;
  /** Runs once the shoal processes are gone, before the dir (and server) go. */
  cleanup?: () => unknown;
}

/**
 * Registers the hooks of a suite in the calling scope (a file, or a describe): a temp dir named
 * `prefix`... before it, then `o.setup`; after it, every shoal process still running is killed,
 * then `o.cleanup` runs and the dir is removed.
 */
export function tempSuite(prefix: string, o: SuiteHooks<TempSuite> = {}): TempSuite {
  return withHooks({ dir: '' }, prefix, o);
}

/** Registers a suite's hooks; the suite object is whole first, since a file's `before` may run at once. */
function withHooks<S extends TempSuite>(suite: S, prefix: string, o: SuiteHooks<S>): S {
  before(async () => {
    suite.dir = mkdtempSync(join(tmpdir(), prefix));
    await o.setup?.(suite);
  });
  after(async () => {
    await killLeftovers();
    await o.cleanup?.();
    if (suite.dir) rmSync(suite.dir, { recursive: true, force: true });
  });
  return suite;
}

/** A suite with a nats-server of its own; `nats` is set once its `before` hook has run. */
export interface NatsSuite extends TempSuite {
  nats: TestNats;
  /** A control client on the suite's server, closed after the suite. */
  control(ns: string): Promise<Control>;
  /** `--nats URL --ns NS` for the suite's server. */
  conn(ns: string): string[];
  /**
   * Starts a coordinator (with `args`) on a namespace of its own, named after `label`, writing
   * to `<dir>/out` (or `o.out`: a test whose coordinator may be left running by a failure keeps
   * the next test's out dir free), and a control client on it.
   */
  coordinator(label: string, args?: string[], o?: { out?: string }): Promise<Run>;
}

/** A coordinator a suite started, and how to start agents beside it. */
export interface Run {
  ns: string;
  out: string;
  coord: ShoalProcess;
  ctl: Control;
  /** Starts `n` agents with `args`, one after the other, each once the one before has joined. */
  agents(n: number, args?: string[], o?: SpawnOptions): Promise<Agent[]>;
}

/** A tempSuite with a nats-server started before `o.setup` and stopped after `o.cleanup`. */
export function natsSuite(prefix: string, o: SuiteHooks<NatsSuite> = {}): NatsSuite {
  const controls: Control[] = [];
  const suite: NatsSuite = {
    dir: '',
    nats: undefined as unknown as TestNats,
    async control(ns) {
      const c = await Control.connect(suite.nats.url, ns);
      controls.push(c);
      return c;
    },
    conn: (ns) => connArgs(suite.nats.url, ns),
    async coordinator(label, args = [], o = {}) {
      const ns = uniqueNs(label);
      const out = o.out ?? join(suite.dir, 'out');
      const coord = await startCoordinator(suite.nats.url, ns, out, args);
      const agents = async (n: number, extra: string[] = [], o: SpawnOptions = {}): Promise<Agent[]> => {
        const started: Agent[] = [];
        for (let i = 0; i < n; i++) started.push(await startAgent(suite.nats.url, ns, extra, o));
        return started;
      };
      return { ns, out, coord, ctl: await suite.control(ns), agents };
    },
  };
  return withHooks(suite, prefix, {
    setup: async () => {
      suite.nats = await startTestNats();
      await o.setup?.(suite);
    },
    cleanup: async () => {
      await o.cleanup?.();
      for (const c of controls) await c.close();
      await suite.nats?.stop();
    },
  });
}

/** A control client inside the test process (status, cancel, drain) on its own NATS connection. */
export class Control {
  private constructor(
    readonly bus: NatsBus,
    readonly client: CtlClient,
  ) {}

  /** `env`: NATS credentials (SHOAL_NATS_USER/PASS...) where the server wants them. */
  static async connect(url: string, ns: string, env: NodeJS.ProcessEnv = {}): Promise<Control> {
    const bus = await connectNats({ url, name: 'shoal-test control', connectRetryMs: 10_000, env });
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

  /**
   * Waits until the job has ended (through coordinator restarts and broker outages) and returns
   * its last status. Polls, and stops polling at the timeout: a wait that fails leaves nothing
   * running that would keep the test process alive once the bus is closed.
   */
  async waitEnd(job: string, timeoutMs = 60_000): Promise<JobStatus> {
    let last: JobStatus | null = null;
    return until(
      () => `job ${job} to end (last status: ${JSON.stringify(last)})`,
      async () => {
        const j = (await this.client.status(job)).jobs.find((x) => x.job === job);
        if (j) last = j;
        return j && j.state !== 'running' && j.state !== 'expanding' && j.state !== 'stalled' ? j : null;
      },
      timeoutMs,
      200,
    );
  }

  close(): Promise<void> {
    return this.bus.close();
  }
}

