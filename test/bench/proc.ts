/**
 * What /proc says of another process (Linux): CPU time, of the whole process and of its main
 * thread, and peak RSS. Zeros elsewhere or once the process has gone.
 */
import { readFileSync } from 'node:fs';

/** Clock ticks per second of utime/stime (USER_HZ, 100 on every Linux we run on). */
const TICK_MS = 10;

/** utime + stime (ms) from a /proc/.../stat file. */
function statCpuMs(path: string): number {
  try {
    const s = readFileSync(path, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    // Fields 14 and 15 of stat (utime, stime) are 11 and 12 after the command name.
    return (Number(f[11]) + Number(f[12])) * TICK_MS;
  } catch {
    return 0;
  }
}

export interface ProcCpu {
  /** Every thread of the process. */
  totalMs: number;
  /** Its main thread (the event loop). */
  mainMs: number;
}

export function procCpu(pid: number): ProcCpu {
  return { totalMs: statCpuMs(`/proc/${pid}/stat`), mainMs: statCpuMs(`/proc/${pid}/task/${pid}/stat`) };
}

/** The CPU of several processes together (e.g. every fleet host). */
export function procsCpuMs(pids: number[]): number {
  return pids.reduce((a, p) => a + statCpuMs(`/proc/${p}/stat`), 0);
}

/** Peak resident set (VmHWM), bytes. */
export function peakRss(pid: number): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}
