/** A child process of a bench, its stdout kept whole and the tail of its stderr. */
import type { ChildProcess } from 'node:child_process';

export interface Exited {
  /** null: it could not be started (the error is at the end of stderr). */
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface Spawned {
  pid: number;
  done: Promise<Exited>;
  kill(): void;
}

/** Watches `child` (spawned with piped stdout and stderr) until it exits. */
export function spawned(child: ChildProcess): Spawned {
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-20000)));
  return {
    pid: child.pid ?? 0,
    done: new Promise((r) => {
      child.on('error', (e) => r({ code: null, stdout, stderr: `${stderr}${e.message}` }));
      child.on('exit', (code) => r({ code, stdout, stderr }));
    }),
    kill: () => child.kill('SIGTERM'),
  };
}
