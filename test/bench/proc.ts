/**
 * What /proc says of another process (Linux): CPU time, of the whole process and of its main
 * thread, and peak RSS. Zeros elsewhere or once the process has gone.
 */
import { readFileSync } from 'node:fs';
import { memoryOf } from '../helpers/faults.js';

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
export const peakRss = (pid: number): number => memoryOf(pid, 'VmHWM');

/** Busy and total CPU time of the whole machine so far (ms, every core), from /proc/stat. */
export function machineCpu(): { busyMs: number; totalMs: number } {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal: idle and iowait are not busy.
    const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
    return { busyMs: (total - f[3]! - f[4]!) * TICK_MS, totalMs: total * TICK_MS };
  } catch {
    return { busyMs: 0, totalMs: 0 };
  }
}
