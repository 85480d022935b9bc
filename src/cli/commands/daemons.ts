/** `shoal coordinator` and `shoal agent`: the long-running roles of a distributed run. */
import { Command } from 'commander';
import { resolve } from 'node:path';
import { createLogger } from '../../log.js';
import { startNatsServer, type NatsServerHandle } from '../../nats-server.js';
import { UsageError } from '../../errors.js';
import { connectBus } from '../connect.js';
import { createAgent, startCoordinator, positive } from '../actors.js';
import { Exit } from '../exit.js';

function parseListen(v: string): { host: string; port: number } {
  const m = /^(.*):(\d+)$/.exec(v);
  if (!m) throw new UsageError(`--listen must be HOST:PORT, got '${v}'`);
  return { host: m[1] || '0.0.0.0', port: positive('--listen port', m[2], 4222, { integer: true, min: 1 }) };
}

export function registerDaemons(program: Command): void {
  program
    .command('coordinator')
    .description('run the coordinator and the sink (the only writer of outputs) until stopped')
    .option('--nats <url>', 'NATS server URL (or SHOAL_NATS)')
    .option('--spawn-nats', 'start a nats-server child process and stop it on exit')
    .option('--listen <host:port>', 'where the spawned nats-server listens', '127.0.0.1:4222')
    .option('--nats-config <file>', 'config file for the spawned nats-server (users, permissions, TLS)')
    .option('--ns <ns>', 'namespace (default: SHOAL_NS or "default")')
    .option('--out-dir <dir>', 'where job outputs, summaries and the job registry go', 'shoal-out')
    .option('--agent-timeout <s>', 'seconds of silence before an agent is lost and its tasks requeued', '10')
    .option('--max-attempts <n>', 'attempts per task before it becomes an error row', '3')
    .option('--log-level <level>', 'log level on stderr', 'info')
    .action(async (opts) => {
      const log = createLogger(opts.logLevel, { role: 'coordinator' });
      let server: NatsServerHandle | null = null;
      if (opts.spawnNats) {
        if (opts.nats) throw new UsageError('--spawn-nats and --nats exclude each other');
        const l = parseListen(opts.listen);
        server = await startNatsServer({ host: l.host, port: l.port, ...(opts.natsConfig ? { config: resolve(opts.natsConfig) } : {}) });
        opts.nats = server.url;
        log.info({ url: server.url, pid: server.child.pid }, 'nats-server started');
        server.child.once('exit', (code) => log.warn({ code }, 'nats-server exited'));
      }
      try {
        const conn = await connectBus(opts, 'shoal-coordinator', { retryMs: 10_000 });
        const actors = await startCoordinator(conn.bus, conn.subj, log, { outDir: opts.outDir, agentTimeout: opts.agentTimeout, maxAttempts: opts.maxAttempts, persist: true });
        log.info({ ns: conn.ns, outDir: resolve(opts.outDir), nats: opts.nats }, 'coordinator ready');
        await new Promise<void>((done) => {
          const stop = (): void => done();
          process.once('SIGINT', stop);
          process.once('SIGTERM', stop);
        });
        log.info('coordinator stopping');
        await actors.stop();
        await conn.bus.close();
      } finally {
        await server?.stop();
      }
      process.exitCode = Exit.Done;
    });

  program
    .command('agent')
    .description('run tasks on this node: pull work from the coordinator with every usable core')
    .option('--nats <url>', 'NATS server URL (or SHOAL_NATS)')
    .option('--ns <ns>', 'namespace (default: SHOAL_NS or "default")')
    .option('--workers <n>', 'worker threads (default: usable CPUs of this process)')
    .option('--memory <gb>', 'memory tasks may use, GB (default: the least of node, cgroup and Slurm)')
    .option('--spot', 'this agent may vanish (preemptible); it joins running jobs')
    .option('--strict-affinity', 'refuse to start when fewer CPUs are usable than --workers asks for')
    .option('--allow-command', 'run command tasks (external programs)')
    .option('--grace <s>', 'on drain or SIGTERM, seconds running tasks get to finish', '30')
    .option('--min-free-memory <gb>', 'stop pulling while available memory is below this', '0')
    .option('--handlers <module...>', 'modules exporting extra kinds to run in the workers')
    .option('--recycle-after <n>', 'replace a worker thread after it ran N tasks (0 = never)', '0')
    .option('--worker-heap <mb>', 'heap limit per worker thread; a task over it is retried elsewhere (0 = default)', '0')
    .option('--connect-timeout <s>', 'keep trying to reach the NATS server this long at start', '60')
    .option('--log-level <level>', 'log level on stderr', 'info')
    .action(async (opts) => {
      const log = createLogger(opts.logLevel, { role: 'agent' });
      const conn = await connectBus(opts, `shoal-agent ${process.pid}`, { retryMs: positive('--connect-timeout', opts.connectTimeout, 60) * 1000 });
      const agent = await createAgent(conn.bus, conn.subj, log, opts);
      let signals = 0;
      const onSignal = (sig: string): void => {
        signals++;
        log.info({ signal: sig, n: signals }, signals === 1 ? 'draining on signal' : 'second signal: aborting running tasks');
        void agent.drain();
      };
      process.on('SIGTERM', () => onSignal('SIGTERM'));
      process.on('SIGINT', () => onSignal('SIGINT'));
      agent.start();
      const code = await agent.finished;
      await conn.bus.close();
      process.exitCode = code;
    });
}
