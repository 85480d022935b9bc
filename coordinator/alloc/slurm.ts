/**
 * The Slurm commands an allocation queue uses, each a child process awaited (never a sync
 * call: a slow or hanging sbatch does not hold up the coordinator's event loop), each with a
 * time limit. Errors carry Slurm's own words (the last lines of stderr).
 */
import { execFile } from 'node:child_process';
import { SLURM_ENDED, type SlurmJobView } from './world.js';

/** Longest one Slurm command may take before it counts as failed. */
const COMMAND_TIMEOUT_MS = 60_000;

export interface SlurmCli {
  /** Submits; resolves to the job id, rejects with sbatch's message. */
  sbatch(args: readonly string[], env: NodeJS.ProcessEnv): Promise<string>;
  /** What Slurm says of these jobs; null for a job it does not know (any more). */
  query(ids: readonly string[]): Promise<Map<string, SlurmJobView | null>>;
  scancel(id: string): Promise<void>;
}

function run(cmd: string, args: readonly string[], env?: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args as string[], { env: env ?? process.env, timeout: COMMAND_TIMEOUT_MS, maxBuffer: 8 << 20 }, (err, stdout, stderr) => {
      if (!err) return resolve(String(stdout));
      const said = String(stderr).trim().split('\n').slice(-3).join(' ').trim();
      const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? `${cmd} not found on PATH` : err.killed ? `${cmd} did not answer within ${COMMAND_TIMEOUT_MS / 1000} s` : said || err.message;
      reject(new Error(why));
    });
  });
}

/** key=value pairs of one `scontrol -o show job` line. */
function fields(line: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of line.matchAll(/(\w+)=(\S*)/g)) out[m[1]!] = m[2]!;
  return out;
}

/** The Slurm commands on PATH. */
export const slurmCli: SlurmCli = {
  async sbatch(args, env) {
    const out = (await run('sbatch', ['--parsable', ...args], env)).trim();
    const id = out.split('\n').pop()!.split(';')[0]!.trim();
    if (!/^\d+(_\d+)?$/.test(id)) throw new Error(`sbatch answered '${out.slice(0, 200)}' instead of a job id`);
    return id;
  },
  async query(ids) {
    const views = new Map<string, SlurmJobView | null>();
    if (ids.length === 0) return views;
    // squeue for the jobs it lists (any state); the others, and ended ones (exit code), by scontrol, then sacct.
    try {
      for (const line of (await run('squeue', ['-h', '-t', 'all', '-j', ids.join(','), '-o', '%i|%T|%r'])).split('\n')) {
        const [id, state, reason] = line.trim().split('|');
        if (id && state && ids.includes(id)) views.set(id, { state, reason: reason ?? '' });
      }
    } catch {
      // squeue refuses a list where no id is known any more: each is asked below.
    }
    for (const id of ids) {
      const v = views.get(id);
      if (v && !SLURM_ENDED.has(v.state)) continue;
      views.set(id, await ended(id, v ?? null));
    }
    return views;
  },
  async scancel(id) {
    await run('scancel', [id]);
  },
};

/** An ended (or unlisted) job: scontrol's state, reason and exit code, else sacct's, else null. */
async function ended(id: string, listed: SlurmJobView | null): Promise<SlurmJobView | null> {
  try {
    const f = fields(await run('scontrol', ['-o', 'show', 'job', id]));
    if (f.JobState) return { state: f.JobState, reason: f.Reason ?? '', ...(f.ExitCode ? { exitCode: f.ExitCode } : {}) };
  } catch {
    // forgotten by slurmctld: accounting may know it
  }
  try {
    const line = (await run('sacct', ['-n', '-P', '-X', '-j', id, '-o', 'State,ExitCode,Reason'])).trim().split('\n')[0] ?? '';
    const [state, exitCode, reason] = line.split('|');
    if (state) return { state: state.split(' ')[0]!, reason: reason ?? '', ...(exitCode ? { exitCode } : {}) };
  } catch {
    // no accounting
  }
  return listed;
}

/** sbatch's --time from seconds: D-HH:MM:SS. */
export function slurmTime(s: number): string {
  const d = Math.floor(s / 86400);
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d}-${p(Math.floor((s % 86400) / 3600))}:${p(Math.floor((s % 3600) / 60))}:${p(s % 60)}`;
}
