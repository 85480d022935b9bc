/**
 * A real nats-server for one integration test file, on a free loopback port, and unique
 * namespaces so the tests of a file never see each other's messages.
 *
 *   const nats = await startTestNats();   // in before()
 *   after(() => nats.stop());
 *   const ns = uniqueNs('skel');
 */
import { randomBytes } from 'node:crypto';
import { findNatsServer, INSTALL_HINT, startNatsServer, type NatsServerHandle } from '../../src/nats-server.js';
import { sleep } from './wait.js';

export interface TestNats {
  /** `nats://127.0.0.1:<port>`; the same after `restart()`. */
  readonly url: string;
  readonly port: number;
  /** The running server's pid (changes on restart; null while stopped). */
  readonly pid: number | null;
  /** Stops the server (SIGTERM, then SIGKILL). Idempotent. */
  stop(): Promise<void>;
  /** Stops the server and starts a new one on the same port (for fault tests). */
  restart(): Promise<void>;
}

/** Every server started in this process, killed on exit whatever happens to the test. */
const live = new Set<NatsServerHandle>();
let exitHook = false;
function killOnExit(): void {
  if (exitHook) return;
  exitHook = true;
  process.once('exit', () => {
    for (const s of live) if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill('SIGKILL');
  });
}

/** The binary, or an error that fails the test: in CI plainly, elsewhere with how to install it. */
function natsBinary(): string {
  const bin = findNatsServer();
  if (bin) return bin;
  if (process.env.CI) throw new Error(`nats-server is required in CI and was not found (${INSTALL_HINT})`);
  throw new Error(`integration tests need a real nats-server. ${INSTALL_HINT}`);
}

async function launch(bin: string, port: number | undefined): Promise<NatsServerHandle> {
  // A restart may race the old socket's release (or, rarely, another process taking the
  // port): try a few times before giving up.
  let last: unknown;
  for (let attempt = 0; attempt < (port ? 20 : 3); attempt++) {
    try {
      const h = await startNatsServer({ bin, host: '127.0.0.1', ...(port ? { port } : {}) });
      live.add(h);
      h.child.once('exit', () => live.delete(h));
      return h;
    } catch (err) {
      last = err;
      await sleep(100); // a pause before trying again, not a wait for something
    }
  }
  throw new Error(`cannot start nats-server${port ? ` again on port ${port}` : ''}: ${(last as Error)?.message}`);
}

/** Starts a nats-server for the calling test file. */
export async function startTestNats(): Promise<TestNats> {
  const bin = natsBinary();
  killOnExit();
  let server: NatsServerHandle | null = await launch(bin, undefined);
  const port = server.port;
  const url = server.url;
  const stop = async (): Promise<void> => {
    const s = server;
    server = null;
    await s?.stop();
  };
  return {
    url,
    port,
    get pid() {
      return server?.child.pid ?? null;
    },
    stop,
    async restart() {
      await stop();
      server = await launch(bin, port);
    },
  };
}

let nsSeq = 0;
/** A namespace no other test (or concurrent test run) uses: valid for `subjects(ns)`. */
export function uniqueNs(label = 't'): string {
  const clean = label.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 24) || 't';
  return `${clean}-${process.pid}-${++nsSeq}-${randomBytes(3).toString('hex')}`;
}
