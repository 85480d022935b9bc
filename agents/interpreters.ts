/**
 * The agent's interpreters (kinds that keep a process per worker thread, as python does): the
 * worker threads say when they start one (src/kinds/interpreters.ts), and the agent measures
 * each one's resident memory from /proc/<pid>/status (VmRSS). A process that is gone counts
 * nothing and is forgotten; so is a pid that now names another process (its start time in
 * /proc/<pid>/stat changed).
 */
import { readFile } from 'node:fs/promises';
import { watchInterpreters } from '../src/kinds/index.js';
import type { InterpreterRss } from './core/index.js';

/** VmRSS of a /proc/<pid>/status text, in bytes; null when it has none (a zombie, a kernel thread). */
export function parseVmRss(status: string): number | null {
  const m = /^VmRSS:\s*(\d+)\s*kB\s*$/m.exec(status);
  return m ? Number(m[1]) * 1024 : null;
}

/** The start time (field 22, clock ticks since boot) of a /proc/<pid>/stat text; null when unreadable. */
export function parseStartTime(stat: string): string | null {
  // The command name (field 2) is in parentheses and may itself hold spaces or parentheses.
  const close = stat.lastIndexOf(')');
  if (close < 0) return null;
  const fields = stat.slice(close + 2).split(' ');
  // fields[0] is field 3 (the state): field 22 is fields[19].
  const start = fields[19];
  return start !== undefined && /^\d+$/.test(start) ? start : null;
}

/** One process's resident bytes and start time; null when it is gone. */
async function readProcess(pid: number, proc: string): Promise<{ rss: number; start: string } | null> {
  try {
    const [status, stat] = await Promise.all([readFile(`${proc}/${pid}/status`, 'utf8'), readFile(`${proc}/${pid}/stat`, 'utf8')]);
    const start = parseStartTime(stat);
    if (start === null) return null;
    return { rss: parseVmRss(status) ?? 0, start };
  } catch {
    return null;
  }
}

export class InterpreterWatch {
  /** pid → its job, and its start time once read. */
  private readonly known = new Map<number, { job: string; start: string | null }>();
  private readonly stop: () => void;

  /**
   * @param owns whether a worker thread (by id) is one of this agent's (several agents may share a process)
   * @param started called when one of ours has started (to measure it at once)
   * @param proc where /proc is (tests give a directory of their own)
   */
  constructor(
    owns: (thread: number) => boolean,
    started: () => void,
    private readonly proc = '/proc',
  ) {
    this.stop = watchInterpreters((e) => {
      if (!owns(e.thread)) return;
      this.add(e.pid, e.job);
      started();
    });
  }

  /** Counts process `pid` as an interpreter of `job` from now on. */
  add(pid: number, job: string): void {
    this.known.set(pid, { job, start: null });
  }

  /** Each live interpreter's resident memory; the gone ones are forgotten. */
  async measure(): Promise<InterpreterRss[]> {
    const out: InterpreterRss[] = [];
    await Promise.all(
      [...this.known].map(async ([pid, k]) => {
        const p = await readProcess(pid, this.proc);
        if (p === null || (k.start !== null && k.start !== p.start)) {
          this.known.delete(pid);
          return;
        }
        k.start = p.start;
        out.push({ pid, job: k.job, rss: p.rss });
      }),
    );
    return out.sort((a, b) => a.pid - b.pid);
  }

  close(): void {
    this.stop();
  }
}
