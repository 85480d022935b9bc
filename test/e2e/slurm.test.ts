/**
 * shoal on a real Slurm cluster on this machine (root; Debian's slurm-wlm and munge are
 * installed when missing): four nodes as network namespaces (or slurmd on loopback where
 * namespaces are not allowed).
 *
 * `slurm/shoal.sbatch spin ...` runs on two nodes (nats-server + coordinator on the first,
 * one agent per node); while it runs, two spot jobs join with `slurm/spot-agent.sbatch
 * coordinator.json`: one is scancel'ed once it has run tasks, the other has a 3-minute walltime
 * and drains by itself `--drain-before` seconds before it. Both must drain and exit 0, and the
 * run's output must hold exactly one row per task, some of them from the cancelled spot agent.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { repoRoot } from '../helpers/paths.js';
import { assertOneRowPerTask, readRows, spinIds } from '../helpers/rows.js';
import { ensureSlurm, startSlurmCluster, type JobInfo, type SlurmCluster } from '../helpers/slurm.js';
import { tempSuite } from '../helpers/suite.js';
import { GiveUp, until } from '../helpers/wait.js';

/** Large enough that the main job is still running while the spot jobs join and leave. */
const TASKS = 3000;
const TASK_MS = 20;
/** Rows the cancelled spot agent must have written before it is cancelled. */
const SPOT_ROWS = 20;

const read = (f: string): string => (existsSync(f) ? readFileSync(f, 'utf8') : '');

/** The pino lines of a file (agents log JSON on stderr, which sbatch/srun collect). */
function logLines(file: string): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  for (const l of read(file).split('\n')) {
    if (!l.startsWith('{')) continue;
    try {
      out.push(JSON.parse(l) as Record<string, unknown>);
    } catch {
      // a line cut by a concurrent write: ignore
    }
  }
  return out;
}

const ended = (j: JobInfo): boolean => !['PENDING', 'CONFIGURING', 'RUNNING', 'COMPLETING', 'SUSPENDED'].includes(j.JobState);

/** Polls `probe` until it returns a value; fails early when the main job has ended, naming `what`. */
function whileMainRuns<T>(c: SlurmCluster, mainJob: string, what: string, probe: () => T | null | undefined, describe: () => string, timeoutMs = 90_000): Promise<NonNullable<T>> {
  return until(
    () => `${what}\n${describe()}`,
    () => {
      const v = probe();
      if (v !== null && v !== undefined) return v;
      const main = c.job(mainJob);
      if (!main || ended(main)) throw new GiveUp(`the main job ended (${main?.JobState ?? 'gone'}) before ${what}\n${describe()}`);
      return null;
    },
    timeoutMs,
    250,
  );
}

let cluster: SlurmCluster | undefined;
const scratch = tempSuite('shoal-slurm-', { cleanup: () => cluster?.stop() });

test('Slurm: shoal.sbatch on two nodes; spot agents join, drain on scancel and before their walltime; nothing lost', { timeout: 290_000 }, async () => {
  if (process.getuid?.() !== 0) assert.fail('the Slurm end-to-end test must run as root: it starts munged, slurmctld, slurmd and network namespaces');
  ensureSlurm();
  const dir = scratch.dir;
  const logs = join(dir, 'sbatch');
  const out = join(dir, 'out');
  const c = (cluster = await startSlurmCluster({ nodes: 4, dir, cpus: 2, memMb: 2048 }));
  // The jobs' environment: this one without any SHOAL_* setting, node on PATH.
  const base: Record<string, string | undefined> = { PATH: `${dirname(process.execPath)}:${process.env.PATH ?? '/usr/bin:/bin'}` };
  for (const k of Object.keys(process.env)) if (k.startsWith('SHOAL_')) base[k] = undefined;
  const mainOut = join(logs, 'main.out');
  const mainErr = join(logs, 'main.err');
  mkdirSync(logs, { recursive: true });

  // Submitted from the checkout without SHOAL_HOME: the script must find shoal through the
  // submit directory (its own path is a spooled copy under slurmd's spool).
  const main = c.sbatch(['-N2', '-c1', '-J', 'shoal-e2e', join(repoRoot, 'slurm', 'shoal.sbatch'), 'spin', '--tasks', String(TASKS), '--sleep', '--ms', String(TASK_MS)], {
    cwd: repoRoot,
    out: mainOut,
    err: mainErr,
    env: { ...base, SHOAL_OUT_DIR: out, SHOAL_WORKERS: '1' },
  });
  const describeMain = (): string => `--- main job ${main} (${c.job(main)?.JobState ?? '?'}) stderr:\n${read(mainErr).slice(-3000)}\n--- coordinator.log:\n${read(join(out, 'logs', 'coordinator.log')).slice(-2000)}`;

  // coordinator.json: the NATS address, the namespace and the job, written once the coordinator answers.
  const infoFile = join(out, 'coordinator.json');
  const info = await whileMainRuns(c, main, 'coordinator.json', () => (existsSync(infoFile) ? (JSON.parse(read(infoFile)) as Record<string, any>) : null), describeMain);
  const head = c.nodes.find((n) => n.name === c.job(main)?.BatchHost);
  assert.ok(head, `the batch host ${c.job(main)?.BatchHost} is not a node of the cluster`);
  assert.match(info.nats, new RegExp(`^nats://${head.addr.replace(/\./g, '\\.')}:\\d+$`), 'the NATS address is the first node\'s');
  assert.equal(info.ns, `slurm-${main}`);
  assert.equal(info.job, `spin-${main}`);
  assert.equal(info.slurmJob, main);
  for (const role of ['agent', 'operator'] as const) {
    assert.ok(existsSync(info.credentials?.[role]), `coordinator.json names the ${role} credentials: ${JSON.stringify(info.credentials)}`);
    assert.equal(statSync(info.credentials[role]).mode & 0o077, 0, `${info.credentials[role]} is readable by others`);
  }
  assert.match(read(mainErr), /spot-agent\.sbatch .*coordinator\.json/, 'the script prints how to join');

  // Two spot jobs, submitted from elsewhere with SHOAL_HOME.
  const spotScript = join(repoRoot, 'slurm', 'spot-agent.sbatch');
  const spotOut = join(logs, 'spot.out');
  const wallOut = join(logs, 'spot-walltime.out');
  const spot = c.sbatch(['-N1', '-c2', '-J', 'spot-cancel', spotScript, infoFile], { cwd: dir, out: spotOut, env: { ...base, SHOAL_HOME: repoRoot } });
  const wall = c.sbatch(['-N1', '-c2', '-J', 'spot-walltime', '-t', '3', spotScript, infoFile], {
    cwd: dir,
    out: wallOut,
    // 3 minutes of walltime, drain 170 s before: about 10 s of work, then a drain of its own.
    env: { ...base, SHOAL_HOME: repoRoot, SHOAL_DRAIN_BEFORE: '170' },
  });
  const describeSpot = (): string => `${describeMain()}\n--- spot job ${spot} (${c.job(spot)?.JobState ?? '?'}) output:\n${read(spotOut).slice(-3000)}`;

  const spotAgent = await whileMainRuns(c, main, 'the spot agent to join', () => logLines(spotOut).find((l) => l.msg === 'joined the coordinator')?.agent as string | undefined, describeSpot);
  const jsonl = join(out, `spin-${main}.jsonl`);
  const spotRows = (): number => read(jsonl).split('\n').filter((l) => l.includes(`"agent":"${spotAgent}"`)).length;
  await whileMainRuns(c, main, `${SPOT_ROWS} rows from the spot agent ${spotAgent}`, () => (spotRows() >= SPOT_ROWS ? true : null), describeSpot);

  // scancel: Slurm sends SIGTERM; the agent drains (finishes or hands back), exits 0.
  c.scancel(spot);
  const spotEnd = await c.waitForJob(spot, ended, `the cancelled spot job ${spot} to end`, 60_000);
  assert.equal(spotEnd.JobState, 'CANCELLED', describeSpot());
  assert.equal(spotEnd.ExitCode, '0:0', `the spot job's script did not exit 0\n${describeSpot()}`);
  const stopped = logLines(spotOut).find((l) => l.msg === 'agent stopped');
  assert.equal(stopped?.why, 'drained', `the spot agent did not drain\n${describeSpot()}`);
  assert.match(read(spotOut), /agents drained; exit 0/);

  // The walltime spot job drains by itself before its time limit: COMPLETED, not TIMEOUT.
  const wallEnd = await c.waitForJob(wall, ended, `the walltime spot job ${wall} to end`, 150_000);
  const wallText = read(wallOut);
  assert.equal(wallEnd.JobState, 'COMPLETED', `walltime spot job: ${wallEnd.JobState}\n${wallText.slice(-3000)}`);
  assert.equal(wallEnd.ExitCode, '0:0', wallText.slice(-3000));
  const wallLogs = logLines(wallOut);
  // It learnt the end time from squeue (Slurm 22.05 sets no SLURM_JOB_END_TIME); a slow start may leave it under 170 s already.
  assert.ok(wallLogs.some((l) => l.msg === 'will drain before the Slurm walltime ends' || (typeof l.msg === 'string' && l.msg.startsWith('the Slurm job ends within --drain-before'))), `the agent did not learn the job's end time\n${wallText.slice(-3000)}`);
  assert.ok(wallLogs.some((l) => l.msg === 'the Slurm job ends soon: draining'), `the agent did not drain before the walltime\n${wallText.slice(-3000)}`);
  assert.equal(wallLogs.find((l) => l.msg === 'agent stopped')?.why, 'drained', wallText.slice(-3000));

  // The run ends on its own: exit 0, one row per task, the spot agent's among them.
  const mainEnd = await c.waitForJob(main, ended, `the main job ${main} to end`, 200_000);
  assert.equal(mainEnd.JobState, 'COMPLETED', describeMain());
  assert.equal(mainEnd.ExitCode, '0:0', describeMain());
  const rows = readRows(jsonl);
  assertOneRowPerTask(rows, spinIds(TASKS), { status: 'ok', job: `spin-${main}` });
  const byAgent = new Map<string, number>();
  for (const r of rows) byAgent.set(r.agent, (byAgent.get(r.agent) ?? 0) + 1);
  assert.ok((byAgent.get(spotAgent) ?? 0) >= SPOT_ROWS, `rows per agent: ${JSON.stringify([...byAgent])}`);
  // One agent per node of the main job, each with its own log and its share of the rows.
  const agentLogs = readdirSync(join(out, 'logs')).filter((f) => /^agent-.+\.log$/.test(f));
  assert.equal(agentLogs.length, 2, `expected one agent log per node: ${agentLogs.join(', ')}`);
  for (const f of agentLogs) {
    const id = logLines(join(out, 'logs', f)).find((l) => l.msg === 'joined the coordinator')?.agent as string | undefined;
    assert.ok(id && (byAgent.get(id) ?? 0) > 0, `the agent of ${f} (${id}) wrote no rows: ${JSON.stringify([...byAgent])}`);
  }
  assert.ok(existsSync(join(out, `spin-${main}.summary.json`)), 'no summary');
  assert.match(read(mainErr), new RegExp(`job spin-${main} finished with exit code 0`));
  assert.match(read(join(out, 'logs', 'coordinator.log')), /coordinator stopping/, 'the coordinator was not stopped in order');
});
