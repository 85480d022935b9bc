/**
 * Finding and running a nats-server child process (for `coordinator --spawn-nats` and the
 * tests). The binary is NATS_SERVER_BIN when set, else the first `nats-server` on PATH, else
 * Debian's /usr/sbin (and /usr/local/sbin, /usr/bin).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { delimiter, join } from 'node:path';

/** The nats-server binary, or null when it is not installed. */
export function findNatsServer(env: NodeJS.ProcessEnv = process.env): string | null {
  if (env.NATS_SERVER_BIN) return existsSync(env.NATS_SERVER_BIN) ? env.NATS_SERVER_BIN : null;
  const dirs = [...(env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin', '/usr/bin'];
  for (const d of dirs) {
    if (!d) continue;
    const p = join(d, 'nats-server');
    if (existsSync(p)) return p;
  }
  return null;
}

export const INSTALL_HINT =
  "install nats-server ('apt-get install nats-server' on Debian and Ubuntu; without root, the single binary from github.com/nats-io/nats-server/releases) and put it on PATH, or set NATS_SERVER_BIN to its path";

/** Why findNatsServer found nothing, and what to do: one line for the user. */
export function natsServerMissing(env: NodeJS.ProcessEnv = process.env): string {
  if (env.NATS_SERVER_BIN) return `NATS_SERVER_BIN is '${env.NATS_SERVER_BIN}', which does not exist: set it to the nats-server binary's path, or unset it to look on PATH`;
  return `nats-server is not on PATH nor in /usr/sbin: ${INSTALL_HINT}`;
}

/** A free TCP port on `host`. */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, host, () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/** Resolves once something accepts TCP connections on host:port, or rejects after timeoutMs. */
export async function waitForPort(host: string, port: number, timeoutMs: number, child?: ChildProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child && child.exitCode !== null) throw new Error(`nats-server exited with code ${child.exitCode} before listening on ${host}:${port}`);
    const ok = await new Promise<boolean>((r) => {
      const c = createConnection({ host, port });
      c.once('connect', () => {
        c.destroy();
        r(true);
      });
      c.once('error', () => r(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on ${host}:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface NatsServerHandle {
  url: string;
  host: string;
  port: number;
  child: ChildProcess;
  /** Stops the server (SIGTERM, then SIGKILL). Idempotent. */
  stop(): Promise<void>;
  /**
   * Calls `fn` if the server exits before stop() is called (it crashed or was killed): an
   * exit that stop() caused is the normal end, not news.
   */
  onUnexpectedExit(fn: (code: number | null, signal: NodeJS.Signals | null) => void): void;
}

/**
 * Starts nats-server on host:port (port 0 = a free one) and waits until it listens.
 * `ownProcessGroup`: signals sent to our process group (a terminal's Ctrl-C) do not reach it.
 */
export async function startNatsServer(o: { host?: string; port?: number; config?: string; args?: string[]; bin?: string; logFile?: string; ownProcessGroup?: boolean } = {}): Promise<NatsServerHandle> {
  const bin = o.bin ?? findNatsServer();
  if (!bin) throw new Error(natsServerMissing());
  const host = o.host ?? '127.0.0.1';
  const port = o.port || (await freePort(host === '0.0.0.0' ? '127.0.0.1' : host));
  const args = [...(o.config ? ['-c', o.config] : []), '-a', host, '-p', String(port), ...(o.logFile ? ['-l', o.logFile] : []), ...(o.args ?? [])];
  const child = spawn(bin, args, { stdio: ['ignore', 'ignore', o.logFile ? 'ignore' : 'pipe'], detached: o.ownProcessGroup === true });
  if (o.ownProcessGroup) {
    // Out of our process group a terminal's Ctrl-C no longer reaches it (we stop it, in order),
    // and neither would our end: a process that exits takes it along.
    const reap = (): void => void child.kill('SIGKILL');
    process.once('exit', reap);
    child.once('exit', () => process.off('exit', reap));
  }
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const probeHost = host === '0.0.0.0' ? '127.0.0.1' : host;
  try {
    await waitForPort(probeHost, port, 10_000, child);
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error(`${(err as Error).message}${stderr ? `\n${stderr.trim()}` : ''}`);
  }
  let stopping: Promise<void> | null = null;
  return {
    url: `nats://${probeHost}:${port}`,
    host,
    port,
    child,
    stop() {
      stopping ??= new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const t = setTimeout(() => child.kill('SIGKILL'), 3000);
        child.once('exit', () => {
          clearTimeout(t);
          resolve();
        });
        child.kill('SIGTERM');
      });
      return stopping;
    },
    onUnexpectedExit(fn) {
      const report = (code: number | null, signal: NodeJS.Signals | null): void => {
        if (!stopping) fn(code, signal);
      };
      if (child.exitCode !== null || child.signalCode !== null) report(child.exitCode, child.signalCode);
      else child.once('exit', report);
    },
  };
}
