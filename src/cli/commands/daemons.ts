/** `shoal coordinator` and `shoal agent`: the long-running roles of a distributed run. */
import type { Command } from '@commander-js/extra-typings';
import { execFile } from 'node:child_process';
import { constants } from 'node:os';
import { resolve } from 'node:path';
import type { Agent } from '../../../agents/index.js';
import { probeNode } from '../../../agents/index.js';
import { createLogger, type Logger } from '../../log.js';
import { startNatsServer, type NatsServerHandle } from '../../nats-server.js';
import { UsageError } from '../../errors.js';
import { connectBus } from '../connect.js';
import { loadHandlerModules } from '../../kinds/handlers/index.js';
import { createAgent, startCoordinator, resolveWorkers } from '../actors.js';
import { atLeast, integerFrom, logLevelOption, valueOption } from '../options.js';
import { agentOptions, coordinatorOptions } from '../role-options.js';
import { readOption } from '../../kinds/index.js';
import { Exit } from '../exit.js';
import { COMMANDS, declaration } from './catalog.js';

function parseListen(v: string): { host: string; port: number } {
  const m = /^(.*):(\d+)$/.exec(v);
  if (!m) throw new UsageError(`--listen must be HOST:PORT, got '${v}'`);
  return { host: m[1] || '0.0.0.0', port: readOption('--listen port', integerFrom(1), m[2]) };
}

/**
 * A Slurm time as `squeue -o %e` prints it (`2025-11-22T14:03:00`, local time) in epoch ms,
 * or null for `Unknown`, `N/A`, `NONE` and anything else that is not a time.
 */
export function parseSlurmTime(text: string): number | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})$/.exec(text.trim());
  if (!m) return null;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  const t = new Date(y, mo - 1, d, h, mi, s).getTime();
  return Number.isFinite(t) ? t : null;
}

/** Asks Slurm once when job `jobId` ends (`squeue -h -j ID -o %e`); null when unknown or squeue is missing. */
function squeueEndTime(jobId: string, log: Logger): Promise<number | null> {
  return new Promise((done) => {
    execFile('squeue', ['-h', '-j', jobId, '-o', '%e'], { timeout: 10_000 }, (err, stdout) => {
      if (err) {
        log.debug({ err: err.message }, 'squeue did not tell the job end time');
        return done(null);
      }
      done(parseSlurmTime(stdout.split('\n')[0] ?? ''));
    });
  });
}

/**
 * The Slurm job's end (epoch ms): SLURM_JOB_END_TIME when Slurm sets it, else squeue's
 * answer, which is then written to SLURM_JOB_END_TIME so the probe (and the agent's hello,
 * which tells the coordinator the remaining time) sees the same value. Null outside Slurm
 * or when the job has no time limit.
 */
export async function slurmJobEnd(env: NodeJS.ProcessEnv, log: Logger): Promise<number | null> {
  if (!env.SLURM_JOB_ID) return null;
  const given = Number.parseInt(env.SLURM_JOB_END_TIME ?? '', 10);
  if (Number.isFinite(given) && given > 0) return given * 1000;
  const end = await squeueEndTime(env.SLURM_JOB_ID, log);
  if (end !== null) env.SLURM_JOB_END_TIME = String(Math.floor(end / 1000));
  return end;
}

/** Longest delay setTimeout takes (about 24.8 days); longer waits are re-armed. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Drains the agent `beforeS` seconds before the Slurm walltime ends, so running tasks finish
 * and the rest is handed back before Slurm kills the job. Returns a function that disarms it.
 */
export function armWalltimeDrain(agent: Pick<Agent, 'drain'>, endMs: number, beforeS: number, log: Logger, now: () => number = Date.now): () => void {
  const at = endMs - beforeS * 1000;
  let timer: NodeJS.Timeout | null = null;
  const fire = (): void => {
    const left = at - now();
    if (left > 0) {
      timer = setTimeout(fire, Math.min(left, MAX_TIMER_MS));
      timer.unref();
      return;
    }
    timer = null;
    log.info({ endsInS: Math.round((endMs - now()) / 1000), drainBeforeS: beforeS }, 'the Slurm job ends soon: draining');
    void agent.drain();
  };
  if (at <= now()) {
    log.warn({ endsInS: Math.round((endMs - now()) / 1000), drainBeforeS: beforeS }, 'the Slurm job ends within --drain-before: draining at once (lower --drain-before for short jobs)');
  } else {
    log.info({ end: new Date(endMs).toISOString(), drainAt: new Date(at).toISOString(), drainBeforeS: beforeS }, 'will drain before the Slurm walltime ends');
  }
  fire();
  return () => {
    if (timer) clearTimeout(timer);
    timer = null;
  };
}

/**
 * After an orderly stop the process should exit by itself; if a stray timer or socket keeps
 * it alive, exit anyway after `ms` (a batch script waiting on us must not hang).
 */
function exitSoon(code: number, log: Logger, ms = 5000): void {
  process.exitCode = code;
  setTimeout(() => {
    log.warn({ code }, 'still running after an orderly stop: exiting');
    process.exit(code);
  }, ms).unref();
}

/**
 * Resolves on the first SIGINT or SIGTERM (an orderly stop follows); a second one exits at
 * once, with 128 + its number as a shell reports it.
 */
function stopSignal(): Promise<NodeJS.Signals> {
  return new Promise((done) => {
    let seen = false;
    const on = (signal: NodeJS.Signals): void => {
      if (seen) process.exit(128 + constants.signals[signal]);
      seen = true;
      done(signal);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}

export function registerCoordinator(program: Command): void {
  program
    .command(declaration('coordinator'))
    .description(COMMANDS.coordinator.description)
    .option('--nats <url>', 'NATS server URL (or SHOAL_NATS)')
    .option('--spawn-nats', 'start a nats-server child process and stop it on exit')
    .option('--listen <host:port>', 'where the spawned nats-server listens', '127.0.0.1:4222')
    .option('--nats-config <file>', 'config file for the spawned nats-server (users, permissions, TLS)')
    .option('--ns <ns>', 'namespace (default: SHOAL_NS or "default")')
    .addOption(coordinatorOptions.outDir('where job outputs, summaries and the job registry go'))
    .addOption(coordinatorOptions.agentTimeout())
    .addOption(coordinatorOptions.lostRetention())
    .addOption(coordinatorOptions.leftRetention())
    .addOption(coordinatorOptions.dispatchMs())
    .addOption(coordinatorOptions.maxAttempts())
    .addOption(coordinatorOptions.splitMinS())
    .addOption(coordinatorOptions.jobMemory())
    .addOption(coordinatorOptions.cache())
    .option('--alloc <file>', "allocation queues to start with (YAML: a list of queues, each with the settings of 'shoal alloc add slurm')")
    .addOption(valueOption('--alloc-poll <s>', 'how often allocation queues decide and ask Slurm about their jobs', atLeast(0.1)).default(5))
    .option('--agent-nats <url>', "the NATS URL allocated agents use (default: --nats; it must be reachable from the nodes)")
    .addOption(logLevelOption('info'))
    .action(async (opts) => {
      const log = createLogger(opts.logLevel, { role: 'coordinator' });
      const signalled = stopSignal();
      let server: NatsServerHandle | null = null;
      if (opts.spawnNats) {
        if (opts.nats) throw new UsageError('--spawn-nats and --nats exclude each other');
        const l = parseListen(opts.listen);
        server = await startNatsServer({ host: l.host, port: l.port, ...(opts.natsConfig ? { config: resolve(opts.natsConfig) } : {}), ownProcessGroup: true });
        opts.nats = server.url;
        log.info({ url: server.url, natsPid: server.child.pid }, 'nats-server started');
      }
      try {
        const conn = await connectBus(opts, 'shoal-coordinator', { retryMs: 10_000 });
        let conflict: (message: string) => void = () => undefined;
        let actors: Awaited<ReturnType<typeof startCoordinator>>;
        try {
          const allocs = opts.alloc ? (await import('../alloc-spec.js')).readAllocFile(opts.alloc) : [];
          actors = await startCoordinator(conn.bus, conn.subj, log, { allocs, agentNats: opts.agentNats ?? opts.nats ?? null, allocPoll: opts.allocPoll, outDir: opts.outDir, ns: conn.ns, agentTimeout: opts.agentTimeout, lostRetention: opts.lostRetention, leftRetention: opts.leftRetention, maxAttempts: opts.maxAttempts, dispatchMs: opts.dispatchMs, splitMinS: opts.splitMinS, jobMemory: opts.jobMemory, ...(opts.cache ? { cache: opts.cache } : {}), persist: true, onConflict: (m) => conflict(m) });
        } catch (err) {
          await conn.bus.close();
          throw err;
        }
        log.info({ ns: conn.ns, outDir: resolve(opts.outDir), nats: opts.nats }, 'coordinator ready');
        // Without its broker nothing can reach the coordinator: stop (exit 4) rather than
        // hang, so a batch script sees it and a restart resumes from the journal. Another
        // coordinator owning the namespace after all: stop (exit 2).
        const why = await new Promise<'signal' | 'broker' | 'conflict'>((done) => {
          void signalled.then(() => done('signal'));
          conflict = () => done('conflict');
          server?.onUnexpectedExit((code, signal) => {
            log.error({ natsPid: server?.child.pid, code, signal }, 'the spawned nats-server exited: stopping');
            done('broker');
          });
        });
        if (why === 'broker') process.exitCode = Exit.Bus;
        if (why === 'conflict') process.exitCode = Exit.Usage;
        log.info('coordinator stopping');
        await actors.stop();
        await conn.bus.close();
      } finally {
        // Stopping it is the normal end (info); its exiting on its own was logged above.
        const running = server !== null && server.child.exitCode === null && server.child.signalCode === null;
        await server?.stop();
        if (running) log.info({ natsPid: server?.child.pid }, 'nats-server stopped');
      }
      exitSoon(typeof process.exitCode === 'number' ? process.exitCode : Exit.Done, log);
    });

}

export function registerAgent(program: Command): void {
  program
    .command(declaration('agent'))
    .description(COMMANDS.agent.description)
    .option('--nats <url>', 'NATS server URL (or SHOAL_NATS)')
    .option('--ns <ns>', 'namespace (default: SHOAL_NS or "default")')
    .addOption(valueOption('--workers <n>', 'worker threads (default: usable CPUs of this process, and at least one per GPU)', integerFrom(1)))
    .addOption(agentOptions.memory())
    .option('--spot', 'this agent may vanish (preemptible); it joins running jobs')
    .option('--strict-affinity', 'refuse to start when fewer CPUs are usable than --workers asks for')
    .option('--oversubscribe', 'run --workers threads even when fewer CPUs are usable (I/O-bound work, benchmarks)')
    .option('--allow-command', 'run command tasks (external programs)')
    .addOption(agentOptions.grace())
    .addOption(agentOptions.minFreeMemory())
    .option('--handlers <module...>', 'modules exporting extra kinds to run in the workers')
    .addOption(agentOptions.recycleAfter())
    .addOption(agentOptions.workerHeap())
    .addOption(agentOptions.inputCache())
    .addOption(agentOptions.gpus())
    .addOption(valueOption('--drain-before <s>', "under Slurm, drain this many seconds before the job's walltime ends (0 = never)", atLeast(0)).default(120))
    .addOption(valueOption('--connect-timeout <s>', 'keep trying to reach the NATS server this long at start', atLeast(0)).default(60))
    .addOption(logLevelOption('info'))
    .action(async (opts) => {
      const log = createLogger(opts.logLevel, { role: 'agent' });
      const drainBefore = opts.drainBefore;
      const retryMs = opts.connectTimeout * 1000;
      // Refuse a wrong core count before waiting on the network (createAgent checks it again).
      if (opts.strictAffinity && opts.workers !== undefined) resolveWorkers(opts.workers, await probeNode(), true, log);
      // A handler module that cannot load is refused before waiting on the network.
      await loadHandlerModules(opts.handlers ?? []);
      const endMs = drainBefore > 0 ? await slurmJobEnd(process.env, log) : null;
      const conn = await connectBus(opts, `shoal-agent ${process.pid}`, { retryMs });
      let agent: Awaited<ReturnType<typeof createAgent>>;
      try {
        agent = await createAgent(conn.bus, conn.subj, log, opts);
      } catch (err) {
        await conn.bus.close();
        throw err;
      }
      if (endMs !== null && drainBefore < opts.grace) {
        log.warn({ drainBeforeS: drainBefore, graceS: opts.grace }, '--drain-before is shorter than --grace: Slurm may kill running tasks before their grace period ends');
      }
      let signals = 0;
      const onSignal = (sig: string): void => {
        signals++;
        log.info({ signal: sig, n: signals }, signals === 1 ? 'draining on signal' : 'second signal: aborting running tasks');
        void agent.drain();
      };
      process.on('SIGTERM', () => onSignal('SIGTERM'));
      process.on('SIGINT', () => onSignal('SIGINT'));
      agent.start();
      const disarm = endMs !== null ? armWalltimeDrain(agent, endMs, drainBefore, log) : () => undefined;
      const code = await agent.finished;
      disarm();
      await conn.bus.close();
      exitSoon(code, log);
    });
}
