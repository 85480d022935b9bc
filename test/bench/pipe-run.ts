/**
 * How the `pipe` bench (pipe.ts) runs one variant: a fresh nats-server, a coordinator and one
 * agent with pipe-kinds.js as its handlers, joined before anything is submitted; then one CLI
 * command (`pipeline FILE --wait --json` or `submit --wait --json`) whose final statuses give
 * the jobs' start and end by the coordinator's clock. The CPU the coordinator and the agent
 * spent from the submit to the end, and the machine's, are read from /proc.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startNatsServer } from '../../src/nats-server.js';
import { cliPath } from '../helpers/paths.js';
import { until } from '../helpers/wait.js';
import { machineCpu, procCpu } from './proc.js';
import { spawned, type Spawned } from './spawned.js';
import type { ThreadCpu } from './thread-cpu.js';

/** The handler module the agent loads (compiled next to this file). */
export const PIPE_HANDLERS = fileURLToPath(new URL('./pipe-kinds.js', import.meta.url));

/** A job's final status as `--wait --json` prints it (the fields used here). */
export interface JobFinal {
  job: string;
  state: string;
  total: number;
  done: number;
  failed: number;
  startedAt: number;
  endedAt: number;
  out: string;
}

/** What one variant's run gave. */
export interface VariantRun {
  finals: JobFinal[];
  /** CPU seconds from the submit to the end: the coordinator's (every thread), the agent's, the nats-server's, the machine's (every process). */
  cpu: { coordinatorS: number; agentS: number; natsS: number; machineS: number };
  /** The agent's CPU by thread over the window its workers ran tasks (thread-cpu.ts); null where it could not be measured. */
  agentThreads: ThreadCpu | null;
}

/**
 * `node [--cpu-prof ...] dist/bundle/main.js ...args`; `profile`: the folder for its V8 CPU
 * profiles (main thread and workers); `threadCpu`: the file where it writes its CPU by thread at exit.
 */
function shoal(args: string[], o: { profile?: string | undefined; threadCpu?: string } = {}): Spawned {
  const node = o.profile ? ['--cpu-prof', `--cpu-prof-dir=${o.profile}`] : [];
  const env = o.threadCpu ? { ...process.env, THREAD_CPU_OUT: o.threadCpu, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import ${new URL('./thread-cpu.js', import.meta.url).href}`.trim() } : process.env;
  return spawned(spawn(process.execPath, [...node, cliPath, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] }));
}

/**
 * Runs `command` (CLI arguments; `conn` is appended: --nats URL --ns NS) against a fresh
 * coordinator (out dir `outDir`) and one agent of `workers` worker threads. `profile`: a folder
 * for the coordinator's and the agent's CPU profiles.
 */
export async function runVariant(command: string[], outDir: string, workers: number, profile?: string): Promise<VariantRun> {
  const server = await startNatsServer();
  const conn = ['--nats', server.url, '--ns', `pipe${Date.now().toString(36)}`];
  mkdirSync(outDir, { recursive: true });
  if (profile) mkdirSync(profile, { recursive: true });
  const threadCpu = join(outDir, 'agent-threads.json');
  const coordinator = shoal(['coordinator', ...conn, '--out-dir', outDir, '--log-level', 'warn'], { profile: profile && join(profile, 'coordinator') });
  const agent = shoal(['agent', ...conn, '--workers', String(workers), '--handlers', PIPE_HANDLERS, '--log-level', 'warn'], { profile: profile && join(profile, 'agent'), threadCpu });
  let stopped: Promise<unknown> | null = null;
  const stop = (): Promise<unknown> => {
    if (!stopped) {
      agent.kill();
      coordinator.kill();
      stopped = Promise.all([coordinator.done, agent.done]);
    }
    return stopped;
  };
  try {
    await until('the coordinator to answer with the agent joined', async () => {
      const st = await shoal(['status', ...conn, '--json']).done;
      return st.code === 0 && (JSON.parse(st.stdout) as { agents: unknown[] }).agents.length === 1;
    });
    const c0 = procCpu(coordinator.pid);
    const a0 = procCpu(agent.pid);
    const n0 = procCpu(server.child.pid ?? 0);
    const m0 = machineCpu();
    const r = await shoal([...command, ...conn, '--wait', '--json']).done;
    const c1 = procCpu(coordinator.pid);
    const a1 = procCpu(agent.pid);
    const n1 = procCpu(server.child.pid ?? 0);
    const m1 = machineCpu();
    if (r.code !== 0) throw new Error(`pipe: shoal ${command.join(' ')} exited ${r.code}: ${r.stderr.slice(-4000)}`);
    const finals = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as JobFinal);
    for (const f of finals) if (f.state !== 'done' || f.failed !== 0) throw new Error(`pipe: job ${f.job} ended ${f.state} with ${f.failed} failed tasks: ${JSON.stringify(f)}`);
    const s = (a: number, b: number): number => (b - a) / 1000;
    await stop(); // the agent writes its CPU by thread as it exits
    let agentThreads: ThreadCpu | null = null;
    try {
      agentThreads = JSON.parse(readFileSync(threadCpu, 'utf8')) as ThreadCpu;
    } catch {
      // not Linux, or the workers never ran
    }
    return { finals, cpu: { coordinatorS: s(c0.totalMs, c1.totalMs), agentS: s(a0.totalMs, a1.totalMs), natsS: s(n0.totalMs, n1.totalMs), machineS: s(m0.busyMs, m1.busyMs) }, agentThreads };
  } finally {
    await stop();
    await server.stop();
  }
}
