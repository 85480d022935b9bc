/**
 * What the fault tests (test/integration/fault-*.test.ts, test/e2e/chaos) look at in the
 * processes they disturb: log lines and their times, the tasks an agent ran, rows of an output
 * still being written, what was lost or doubled; and how they stop them.
 *
 *   assert.equal(await stopAgent(a.proc), ...);   // SIGTERM; tasks the agent ran
 *   await until('rows of J1', () => rowsSoFar(file).length >= 100);
 *   const pids = await killNode(agent.proc);        // the agent and its interpreters, at once
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { alive, spawnShoal, type Exited, type LogLine, type ShoalProcess } from './shoal.js';
import type { Row } from './rows.js';
import { until } from './wait.js';

/**
 * A process's memory from /proc: `VmRSS` (resident now) or `VmHWM` (its peak), bytes; 0 once
 * the process has gone.
 */
export function memoryOf(pid: number, field: 'VmRSS' | 'VmHWM' = 'VmRSS'): number {
  try {
    const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Log lines of a process with this exact `msg` (optionally also matching `where`). */
export function logsOf(p: ShoalProcess, msg: string, where: (l: LogLine) => boolean = () => true): LogLine[] {
  return p.logs.filter((l) => l.msg === msg && where(l));
}

/** A log line's time (pino's ISO `time`) in epoch ms. */
export function logTime(l: LogLine): number {
  const t = Date.parse(String(l.time));
  assert.ok(Number.isFinite(t), `log line without a time: ${JSON.stringify(l)}`);
  return t;
}

/**
 * Tasks an agent ran to a result (ok or error row rendered), from its 'agent stopped' line.
 * Aborted tasks and tasks handed back unstarted are not counted; copies later dropped as
 * duplicates are.
 */
export function executions(p: ShoalProcess): number {
  const l = p.logs.find((x) => x.msg === 'agent stopped');
  assert.ok(l && typeof l.tasks === 'number', `no 'agent stopped' line with a task count:\n${p.describe()}`);
  return l.tasks as number;
}

/** SIGTERM (drain), asserts exit 0, returns the tasks the agent ran. */
export async function stopAgent(p: ShoalProcess): Promise<number> {
  p.kill('SIGTERM');
  const e = await p.exited;
  assert.deepEqual(e, { code: 0, signal: null }, p.describe());
  return executions(p);
}

/** SIGKILL and wait for the process to be gone. */
export async function killHard(p: ShoalProcess): Promise<Exited> {
  p.kill('SIGKILL');
  return p.exited;
}

/** The parent of each live process, from /proc (a process gone meanwhile is left out). */
function parents(): Map<number, number> {
  const out = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // Fields after the command (which may hold spaces and parentheses): state, then ppid.
      out.set(Number(name), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // Gone between the listing and the read.
    }
  }
  return out;
}

/** Every live descendant of `pid` (children, their children...), whatever their process group. */
export function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const [child, parent] of parents()) children.set(parent, [...(children.get(parent) ?? []), child]);
  const out: number[] = [];
  const todo = [pid];
  while (todo.length > 0) {
    for (const c of children.get(todo.pop()!) ?? []) {
      out.push(c);
      todo.push(c);
    }
  }
  return out;
}

const signal = (pid: number, sig: NodeJS.Signals): void => {
  try {
    process.kill(pid, sig);
  } catch {
    // Already gone.
  }
};

/**
 * A node dying: the process and everything it started (interpreters and programs in process
 * groups of their own, the watchers guarding them) stopped at one instant and SIGKILLed, so
 * none of them sees the others go and reacts (a lifeline that kills its group, a pipe that
 * closes). Resolves with the pids killed, the process first, once all of them are gone.
 */
export async function killNode(p: ShoalProcess): Promise<number[]> {
  const pids = [p.pid];
  signal(p.pid, 'SIGSTOP');
  // Stopped, a process starts nothing more; its children may still fork until they are stopped too.
  for (let more = descendants(p.pid); more.length > 0; more = descendants(p.pid).filter((d) => !pids.includes(d))) {
    for (const d of more) signal(d, 'SIGSTOP');
    pids.push(...more);
  }
  for (const pid of pids) signal(pid, 'SIGKILL');
  await p.exited;
  await until(() => `the processes of ${p.args[0]} (pid ${p.pid}) to be gone: ${pids.filter(alive).join(', ')}`, () => !pids.some(alive), 10_000, 20);
  return pids;
}

/**
 * The objects of a JSON-lines file that is still being written: complete lines only (a batch
 * being appended may be half on disk). A missing file has none.
 */
export function jsonLinesSoFar<T>(path: string): T[] {
  if (!existsSync(path)) return [];
  const text = readFileSync(path, 'utf8');
  const end = text.lastIndexOf('\n');
  if (end < 0) return [];
  return text
    .slice(0, end)
    .split('\n')
    .map((l) => JSON.parse(l) as T);
}

/** The rows of an output that is still being written (see jsonLinesSoFar). */
export function rowsSoFar(path: string): Row[] {
  return jsonLinesSoFar<Row>(path);
}

/** Tasks with more than one row, and expected tasks with none. */
export function lostAndDuplicated(rows: readonly Row[], expected: Iterable<string>): { lost: string[]; duplicated: string[] } {
  const count = new Map<string, number>();
  for (const r of rows) count.set(r.task, (count.get(r.task) ?? 0) + 1);
  const lost = [...expected].filter((id) => !count.has(id));
  const duplicated = [...count].filter(([, n]) => n > 1).map(([id]) => id);
  return { lost, duplicated };
}

/** spawnShoal through a wrapper (`nsenter ... --`) that execs shoal, so signals reach it. */
export function spawnWrapped(wrapper: readonly string[], args: readonly string[], o: { env?: Record<string, string> } = {}): ShoalProcess {
  return spawnShoal(args, { ...o, wrapper });
}
