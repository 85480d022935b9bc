/**
 * A real Slurm cluster on this machine for end-to-end tests: munged, slurmctld and one
 * slurmd per node, with a minimal slurm.conf in a temp dir. Nodes are network namespaces
 * ("hosts" with their own address and hostname, see netns.ts) when this process may create
 * them, else several slurmd on loopback with distinct ports.
 *
 *   ensureSlurm();                                   // installs Debian's packages when missing (root)
 *   const c = await startSlurmCluster({ nodes: 3, dir });
 *   const id = c.sbatch(['-N2', script, 'spin'], { out, cwd, env });
 *   await c.waitForJob(id, (j) => j.JobState === 'COMPLETED', 'the job to complete');
 *   await c.stop();                                  // jobs, daemons, namespaces
 *
 * Needs root (slurmd runs jobs as any user; namespaces and the bridge need it too).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../src/nats-server.js';
import { createHostNet, netnsUnavailable, type HostNet } from './netns.js';
import { alive } from './shoal.js';
import { until } from './wait.js';

/** Debian packages the cluster needs (plugins come with slurm-wlm-basic-plugins, a dependency). */
export const SLURM_PACKAGES = ['slurmctld', 'slurmd', 'slurm-client', 'munge'] as const;
const BINARIES = ['slurmctld', 'slurmd', 'sbatch', 'squeue', 'scontrol', 'scancel', 'sinfo', 'munged', 'munge', 'unmunge'];

function which(bin: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${bin} || test -x /usr/sbin/${bin}`], { stdio: 'ignore' }).status === 0;
}

/** Installs Slurm and munge with apt-get when missing; throws a clear error when it cannot. */
export function ensureSlurm(): void {
  const missing = BINARIES.filter((b) => !which(b));
  if (missing.length === 0) return;
  const hint = `apt-get install -y --no-install-recommends ${SLURM_PACKAGES.join(' ')}`;
  if (process.getuid?.() !== 0) throw new Error(`the Slurm end-to-end test needs root (it starts slurmd and munged) and ${missing.join(', ')}: run it as root, or install them with '${hint}'`);
  if (!which('apt-get')) throw new Error(`${missing.join(', ')} missing and no apt-get here: install ${SLURM_PACKAGES.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const apt = (args: string[]): ReturnType<typeof spawnSync> => spawnSync('apt-get', ['-o', 'DPkg::Lock::Timeout=600', ...args], { env, encoding: 'utf8', timeout: 15 * 60_000 });
  for (let i = 0; i < 3 && apt(['update', '-qq']).status !== 0; i++) spawnSync('sleep', ['5']);
  const r = apt(['install', '-y', '-qq', '--no-install-recommends', ...SLURM_PACKAGES]);
  if (r.status !== 0) throw new Error(`'${hint}' failed:\n${String(r.stderr ?? '').slice(-2000)}`);
  const still = BINARIES.filter((b) => !which(b));
  if (still.length) throw new Error(`still missing after installing ${SLURM_PACKAGES.join(' ')}: ${still.join(', ')}`);
}

/** One line of `scontrol -o show job`, as key=value. */
export type JobInfo = Record<string, string> & { JobId: string; JobState: string; ExitCode: string };

export interface SlurmNode {
  name: string;
  /** Where slurmctld (and shoal) reach it. */
  addr: string;
}

export interface SlurmCluster {
  readonly dir: string;
  readonly conf: string;
  readonly mode: 'netns' | 'local';
  readonly nodes: readonly SlurmNode[];
  /** The namespaces (netns mode). */
  readonly net: HostNet | null;
  /** The environment for Slurm commands and jobs: `base` plus SLURM_CONF, minus SLURM_* of any enclosing job. */
  env(extra?: Record<string, string | undefined>): NodeJS.ProcessEnv;
  /** `sbatch --parsable -o OUT -e ERR ...args`; returns the job id. */
  sbatch(args: readonly string[], o: { out: string; err?: string; cwd: string; env?: Record<string, string | undefined> }): string;
  /** The job as scontrol sees it, or null once Slurm has forgotten it. */
  job(id: string): JobInfo | null;
  /** Polls `scontrol show job` until `pred` holds; throws after `timeoutMs` naming `what`. */
  waitForJob(id: string, pred: (j: JobInfo) => boolean, what: string, timeoutMs?: number): Promise<JobInfo>;
  scancel(id: string, ...args: string[]): void;
  /** Cancels every job, stops the daemons and munged (when started here), removes the namespaces. Idempotent. */
  stop(): Promise<void>;
}

function readPid(file: string): number | null {
  try {
    const n = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(n) && n > 0 ? n : null;
  } catch {
    return null;
  }
}

function mungeWorks(): boolean {
  return spawnSync('sh', ['-c', 'munge -n | unmunge'], { stdio: 'ignore', timeout: 10_000 }).status === 0;
}

/** Starts munged unless one already answers; returns its pid when this call started it. */
async function ensureMunged(): Promise<number | null> {
  if (mungeWorks()) return null;
  if (!existsSync('/etc/munge/munge.key')) {
    execFileSync('mungekey', ['--create', '--keyfile=/etc/munge/munge.key'], { stdio: 'pipe' });
    execFileSync('chown', ['munge:munge', '/etc/munge/munge.key']);
  }
  execFileSync('install', ['-d', '-o', 'munge', '-g', 'munge', '-m', '0755', '/run/munge']);
  execFileSync('runuser', ['-u', 'munge', '--', 'munged'], { stdio: 'pipe' });
  await until("munged to answer 'munge -n | unmunge'", mungeWorks, 10_000);
  return readPid('/run/munge/munged.pid');
}

function slurmConf(o: { dir: string; ctlHost: string; ctlAddr: string; ctlPort: number; nodes: Array<SlurmNode & { port?: number }>; cpus: number; memMb: number }): string {
  const d = o.dir;
  const lines = [
    'ClusterName=shoale2e',
    `SlurmctldHost=${o.ctlHost}(${o.ctlAddr})`,
    `SlurmctldPort=${o.ctlPort}`,
    'SlurmdPort=6818',
    'SlurmUser=root',
    'SlurmdUser=root',
    'AuthType=auth/munge',
    'CredType=cred/munge',
    'MpiDefault=none',
    'MailProg=/bin/true',
    'ProctrackType=proctrack/linuxproc',
    'TaskPlugin=task/none',
    'JobAcctGatherType=jobacct_gather/none',
    'AccountingStorageType=accounting_storage/none',
    'JobCompType=jobcomp/none',
    'SelectType=select/cons_tres',
    'SelectTypeParameters=CR_Core_Memory',
    'DefMemPerCPU=256',
    // Several nodes on one small machine claim more CPUs than it has.
    'SlurmdParameters=config_overrides',
    // A failure must show, not be requeued behind our back.
    'JobRequeue=0',
    'ReturnToService=2',
    'SlurmdTimeout=20',
    // Time the agents get between SIGTERM and SIGKILL (scancel, walltime).
    'KillWait=30',
    // Finished jobs stay visible to `scontrol show job` for the whole test.
    'MinJobAge=900',
    'SchedulerParameters=sched_interval=2',
    `StateSaveLocation=${d}/state`,
    `SlurmdSpoolDir=${d}/spool/%n`,
    `SlurmctldPidFile=${d}/run/slurmctld.pid`,
    `SlurmdPidFile=${d}/run/slurmd-%n.pid`,
    `SlurmctldLogFile=${d}/log/slurmctld.log`,
    `SlurmdLogFile=${d}/log/slurmd-%n.log`,
    ...o.nodes.map((n) => `NodeName=${n.name} NodeAddr=${n.addr} NodeHostname=${n.port ? hostname() : n.name}${n.port ? ` Port=${n.port}` : ''} CPUs=${o.cpus} RealMemory=${o.memMb} State=UNKNOWN`),
    'PartitionName=e2e Nodes=ALL Default=YES MaxTime=INFINITE State=UP',
  ];
  return lines.join('\n') + '\n';
}

export interface ClusterOptions {
  /** Number of compute nodes (named n1, n2, ...). */
  nodes: number;
  /** Working directory (config, state, logs). */
  dir: string;
  /** CPUs each node declares (default 2). */
  cpus?: number;
  /** Memory each node declares, MB (default 2048). */
  memMb?: number;
  /** 'auto' (default): namespaces when possible, else loopback. Also SHOAL_E2E_SLURM_MODE. */
  mode?: 'auto' | 'netns' | 'local';
}

/** Starts munged (if needed), slurmctld and the slurmd of every node; resolves when all nodes are idle. */
export async function startSlurmCluster(o: ClusterOptions): Promise<SlurmCluster> {
  const dir = o.dir;
  for (const sub of ['state', 'spool', 'run', 'log']) mkdirSync(join(dir, sub), { recursive: true });
  const wanted = o.mode ?? ((process.env.SHOAL_E2E_SLURM_MODE as ClusterOptions['mode']) || 'auto');
  const why = wanted === 'local' ? 'loopback mode asked for' : netnsUnavailable();
  if (wanted === 'netns' && why) throw new Error(`network namespaces asked for but unavailable: ${why}`);
  const mode: 'netns' | 'local' = why ? 'local' : 'netns';
  const names = Array.from({ length: o.nodes }, (_, i) => `n${i + 1}`);

  const net = mode === 'netns' ? createHostNet({ names, dir }) : null;
  const ctlAddr = net ? net.gateway : '127.0.0.1';
  const ctlPort = await freePort();
  const nodes: Array<SlurmNode & { port?: number }> = [];
  for (const name of names) {
    if (net) nodes.push({ name, addr: net.host(name).ip });
    else nodes.push({ name, addr: '127.0.0.1', port: await freePort() });
  }
  for (const n of names) mkdirSync(join(dir, 'spool', n), { recursive: true });
  const conf = join(dir, 'slurm.conf');
  writeFileSync(conf, slurmConf({ dir, ctlHost: hostname().split('.')[0]!, ctlAddr, ctlPort, nodes, cpus: o.cpus ?? 2, memMb: o.memMb ?? 2048 }));

  const env = (extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv => {
    const e: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('SLURM_') && !k.startsWith('SBATCH_') && !k.startsWith('SRUN_')) e[k] = v;
    e.SLURM_CONF = conf;
    for (const [k, v] of Object.entries(extra)) {
      if (v === undefined) delete e[k];
      else e[k] = v;
    }
    return e;
  };
  const slurm = (cmd: string, args: readonly string[], extra?: Record<string, string | undefined>): { code: number | null; out: string; err: string } => {
    const r = spawnSync(cmd, args, { env: env(extra), encoding: 'utf8', timeout: 60_000 });
    return { code: r.status, out: r.stdout ?? '', err: r.stderr ?? '' };
  };

  let mungePid: number | null = null;
  let stopped = false;
  const logTail = (): string => {
    const parts: string[] = [];
    for (const f of readdirSync(join(dir, 'log'))) {
      const text = readFileSync(join(dir, 'log', f), 'utf8').split('\n').filter((l) => !/pmix|PMIx/.test(l));
      parts.push(`--- ${f}\n${text.slice(-15).join('\n')}`);
    }
    return parts.join('\n');
  };

  const cluster: SlurmCluster = {
    dir,
    conf,
    mode,
    nodes,
    net,
    env,
    sbatch(args, so) {
      const r = spawnSync('sbatch', ['--parsable', '-o', so.out, '-e', so.err ?? so.out, ...args], { cwd: so.cwd, env: env(so.env), encoding: 'utf8', timeout: 60_000 });
      const id = (r.stdout ?? '').trim().split(';')[0];
      if (r.status !== 0 || !id || !/^\d+$/.test(id)) throw new Error(`sbatch ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
      return id;
    },
    job(id) {
      const r = slurm('scontrol', ['-o', 'show', 'job', id]);
      if (r.code !== 0) return null;
      const info: Record<string, string> = {};
      for (const m of r.out.trim().matchAll(/(\w+)=(\S*)/g)) if (!(m[1]! in info)) info[m[1]!] = m[2]!;
      return info.JobId ? (info as JobInfo) : null;
    },
    async waitForJob(id, pred, what, timeoutMs = 120_000) {
      let last: JobInfo | null = null;
      const state = (): string => (last ? `${last.JobState} ${last.Reason ?? ''}` : 'unknown to Slurm');
      return until(() => `${what} (job ${id}: ${state()})`, () => ((last = cluster.job(id)) && pred(last) ? last : null), timeoutMs, 250);
    },
    scancel(id, ...args) {
      const r = slurm('scancel', [...args, id]);
      if (r.code !== 0) throw new Error(`scancel ${id} failed: ${r.err}`);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      const jobs = slurm('squeue', ['-h', '-o', '%i']).out.split('\n').map((s) => s.trim()).filter(Boolean);
      if (jobs.length) slurm('scancel', jobs);
      // Best effort, here and below: what has not ended by then is killed.
      await until('the jobs to leave the queue', () => slurm('squeue', ['-h', '-o', '%i']).out.trim() === '', 40_000, 250).catch(() => undefined);
      slurm('scontrol', ['shutdown']);
      const pidFiles = [join(dir, 'run', 'slurmctld.pid'), ...names.map((n) => join(dir, 'run', `slurmd-${n}.pid`))];
      const pids = pidFiles.map(readPid).filter((p): p is number => p !== null);
      await until('the daemons to stop', () => !pids.some(alive), 10_000, 250).catch(() => undefined);
      for (const p of pids.filter(alive)) process.kill(p, 'SIGKILL');
      killJobLeftovers(conf);
      net?.teardown();
      if (mungePid !== null && alive(mungePid)) process.kill(mungePid, 'SIGTERM');
    },
  };
  process.once('exit', () => {
    if (stopped) return;
    // Last resort when a test dies without calling stop(): no job polling, just kill.
    for (const f of [join(dir, 'run', 'slurmctld.pid'), ...names.map((n) => join(dir, 'run', `slurmd-${n}.pid`))]) {
      const p = readPid(f);
      if (p !== null && alive(p)) process.kill(p, 'SIGKILL');
    }
    killJobLeftovers(conf);
    net?.teardown();
    if (mungePid !== null && alive(mungePid)) process.kill(mungePid, 'SIGTERM');
  });

  try {
    mungePid = await ensureMunged();
    execFileSync('slurmctld', ['-f', conf], { env: env(), stdio: 'pipe' });
    for (const n of names) {
      const argv = ['slurmd', '-f', conf, '-N', n];
      const [cmd, ...args] = net ? net.wrap(n, argv) : argv;
      execFileSync(cmd!, args, { env: env(), stdio: 'pipe' });
    }
    let states: string[] = [];
    await until(
      () => `the Slurm nodes to be idle (${states.join(', ') || 'sinfo answered nothing'})\n${logTail()}`,
      () => {
        states = slurm('sinfo', ['-h', '-N', '-o', '%N %T']).out.trim().split('\n').filter(Boolean);
        return states.length === names.length && states.every((l) => l.endsWith(' idle'));
      },
      60_000,
      200,
    );
  } catch (err) {
    await cluster.stop();
    const e = err as Error & { stderr?: Buffer };
    throw new Error(`cannot start the Slurm cluster (${mode} mode): ${e.stderr?.toString().trim() || e.message}`);
  }
  return cluster;
}

/** SIGKILLs every process whose environment names this cluster's slurm.conf (job leftovers). */
function killJobLeftovers(conf: string): void {
  const mark = `SLURM_CONF=${conf}\0`;
  for (const d of readdirSync('/proc')) {
    const pid = Number(d);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      if (readFileSync(`/proc/${pid}/environ`, 'latin1').includes(mark)) process.kill(pid, 'SIGKILL');
    } catch {
      // gone, or not ours to read
    }
  }
}
