/**
 * The run-and-resume part of `npm run bench -- big` (big.ts): BIG_RUN_TASKS (1,000,000)
 * `spin --ms 0` tasks on BIG_AGENTS (10) simulated agents × BIG_SLOTS (64) (test/helpers/fleet:
 * real agents on the inline pool; a task of 0 ms is a no-op there, with or without --sleep),
 * into the JSONL of a real coordinator. Then a second job the same, its coordinator SIGKILLed
 * once half of the rows are committed and a new one started on the same --out-dir: the time to
 * "coordinator ready", to the job running again, and to its end. The same fleet stays up
 * throughout: its agents find the new coordinator by themselves. Each output is checked
 * streaming (one ok row per task), not read whole. BIG_KEEP_LOGS=DIR keeps both coordinators'
 * logs and the tails of the fleet hosts' (warn level) there.
 */
import { createReadStream, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NatsServerHandle } from '../../src/nats-server.js';
import type { JobStatus } from '../../protocol/index.js';
import { readRows } from '../../src/sink/index.js';
import { Fleet } from '../helpers/fleet/fleet.js';
import { sleep, until } from '../helpers/wait.js';
import { machineCpu, peakRss, procCpu, procsCpuMs, type ProcCpu } from './proc.js';
import { Ctl, mb, num, round, startCoord, stopCoord, submitCli, type Coord } from './big-coordinator.js';
import type { BenchRow } from './main.js';

/** What one run measured (written to the JSON beside the row). */
export interface RunFigures {
  tasks: number;
  agents: number;
  slots: number;
  /** Straight: done / (endedAt - startedAt) of the final status. Resumed: rows committed after the restart / seconds from running again to the end. */
  rowsPerSecond: number;
  /** Rows / seconds from the first row's start to the last row's end in the file (resumed: across the restart). */
  fileRowsPerSecond: number;
  wallS: number;
  /** Straight: over the run. Resumed: the second coordinator, from its start to the job's end. */
  coordinator: { cpuPercent: number; mainThreadPercent: number; peakRssMb: number };
  /** Over the same window, % of one core: the fleet-host processes, nats-server; and how busy the whole machine was (% of all its cores). */
  others: { fleetHostsPercent: number; natsPercent: number; machineBusyPercent: number };
  /** "one ok row per task", or what is wrong. */
  check: string;
  resume?: {
    /** Rows in the file when the first coordinator was killed. */
    killedAtRows: number;
    /** Seconds from the new coordinator's spawn. */
    readyS: number;
    runningAgainS: number;
    /** Seconds from the spawn to the first row committed by the new coordinator (NaN: none within BIG_REJOIN_WAIT_S). */
    progressAgainS: number;
    endS: number;
    doneAtRunning: number;
    fileRowsAtRunning: number;
    /** Agents the new coordinator counts active (waited for up to BIG_REJOIN_WAIT_S, 120), and when all were (NaN: never). */
    agentsActive: number;
    agentsActiveAfterS: number;
    /** Null when the job ended within BIG_RESUME_MAX_SECONDS (240); else its status then (tasks leased, slots the agents said were busy), and it was cancelled. */
    notEnded: { afterS: number; done: number; running: number; queued: number; agentsBusySlots: number } | null;
    /** The final status's speculated and retried counts, and the new coordinator's warnings that results were refused for want of a lease. */
    speculated: number;
    retried: number;
    refusedWarnings: number;
  };
}

type Row = BenchRow & { big: RunFigures };

function keepLog(name: string, text: string): void {
  const dir = process.env.BIG_KEEP_LOGS;
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, name), text);
}

/** Newlines in a file, streaming. */
async function countLines(path: string): Promise<number> {
  let n = 0;
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
    for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) n++;
  }
  return n;
}

/** One ok row of this job per spin task, streaming (a byte per task); and the first start and last end. */
async function checkRows(path: string, tasks: number, job: string): Promise<{ check: string; firstStart: number; lastEnd: number; rows: number }> {
  const seen = new Uint8Array(tasks);
  let rows = 0;
  let unexpected = 0;
  let notOk = 0;
  let otherJob = 0;
  let firstStart = Infinity;
  let lastEnd = 0;
  const bad = { bad: 0 };
  for await (const r of readRows(path, bad)) {
    rows++;
    const id = String(r.task);
    const i = id.startsWith('spin_') ? Number(id.slice(5)) : NaN;
    if (Number.isInteger(i) && i >= 0 && i < tasks) seen[i] = Math.min(255, seen[i]! + 1);
    else unexpected++;
    if (r.status !== 'ok') notOk++;
    if (r.job !== job) otherJob++;
    firstStart = Math.min(firstStart, Number(r.start));
    lastEnd = Math.max(lastEnd, Number(r.end));
  }
  let missing = 0;
  let twice = 0;
  for (const c of seen) {
    if (c === 0) missing++;
    else if (c > 1) twice++;
  }
  const problems = Object.entries({ missing, 'more than once': twice, unexpected, 'not ok': notOk, 'of another job': otherJob, 'not JSON': bad.bad }).filter(([, n]) => n > 0);
  const check = problems.length === 0 ? 'one ok row per task' : `${rows} rows: ${problems.map(([what, n]) => `${n} ${what}`).join(', ')}`;
  return { check, firstStart, lastEnd, rows };
}

/** Polls status once a second until the job has ended or `maxS` have passed; its last status. */
async function waitEnd(ctl: Ctl, job: string, maxS: number): Promise<JobStatus> {
  const deadline = Date.now() + maxS * 1000;
  let last: JobStatus | undefined;
  for (;;) {
    last = (await ctl.job(job)) ?? last;
    if (last && ((last.state !== 'running' && last.state !== 'expanding') || Date.now() > deadline)) return last;
    if (!last && Date.now() > deadline) throw new Error(`no status of job ${job} within ${maxS} s`);
    await sleep(1000); // the status polling period, on purpose
  }
}

const cpuShare = (a: ProcCpu, b: ProcCpu, seconds: number): { cpuPercent: number; mainThreadPercent: number } => ({
  cpuPercent: round(((b.totalMs - a.totalMs) / 1000 / seconds) * 100),
  mainThreadPercent: round(((b.mainMs - a.mainMs) / 1000 / seconds) * 100),
});

/** The CPU of everything else in a window: start with `othersAt()`, end with `othersSince(start)`. */
function othersAt(fleet: Fleet, server: NatsServerHandle): { at: number; hosts: number; nats: number; machine: ReturnType<typeof machineCpu>; fleet: Fleet; natsPid: number } {
  const natsPid = server.child.pid ?? 0;
  return { at: Date.now(), hosts: procsCpuMs(fleet.pids), nats: procsCpuMs([natsPid]), machine: machineCpu(), fleet, natsPid };
}

function othersSince(s: ReturnType<typeof othersAt>): RunFigures['others'] {
  const seconds = (Date.now() - s.at) / 1000;
  const m = machineCpu();
  return {
    fleetHostsPercent: round(((procsCpuMs(s.fleet.pids) - s.hosts) / 1000 / seconds) * 100),
    natsPercent: round(((procsCpuMs([s.natsPid]) - s.nats) / 1000 / seconds) * 100),
    machineBusyPercent: round(((m.busyMs - s.machine.busyMs) / (m.totalMs - s.machine.totalMs)) * 100),
  };
}

function row(f: RunFigures, mode: string, seconds: number): Row {
  const r = f.resume;
  const resumeNote = r ? `; killed at ${r.killedAtRows} rows; ready ${r.readyS} s, running again ${r.runningAgainS} s (done ${r.doneAtRunning}, file ${r.fileRowsAtRunning}), first new row ${r.progressAgainS} s, ${r.agentsActive}/${f.agents} agents back at ${r.agentsActiveAfterS} s, ${r.notEnded ? `NOT ENDED after ${r.notEnded.afterS} s (done ${r.notEnded.done}, ${r.notEnded.running} leased while the agents had ${r.notEnded.agentsBusySlots} slots busy; cancelled)` : `end ${r.endS} s`}; ${r.speculated} speculated, ${r.retried} retried, ${r.refusedWarnings} agents' results refused for want of a lease` : '';
  return {
    workload: 'big',
    mode,
    tasks: f.tasks,
    seconds,
    tasksPerSecond: f.rowsPerSecond,
    note: `coordinator ${f.coordinator.cpuPercent}% CPU (main ${f.coordinator.mainThreadPercent}%), peak RSS ${f.coordinator.peakRssMb} MB; fleet hosts ${f.others.fleetHostsPercent}%, nats ${f.others.natsPercent}%, machine ${f.others.machineBusyPercent}% busy; ${f.check}${resumeNote}`,
    big: f,
  };
}

export async function runAndResume(server: NatsServerHandle, dir: string): Promise<Row[]> {
  const tasks = num('BIG_RUN_TASKS', 1_000_000);
  const agents = num('BIG_AGENTS', 10);
  const slots = num('BIG_SLOTS', 64);
  const ns = `bigrun${Date.now().toString(36)}`;
  const outDir = join(dir, ns);
  const spin = ['--tasks', String(tasks), '--ms', '0'];
  let coord: Coord = await startCoord(server.url, ns, outDir);
  const ctl = await Ctl.connect(server.url, ns);
  const fleet = new Fleet({ url: server.url, ns, slots, perHost: num('BIG_PER_HOST', 250) });
  const rows: Row[] = [];
  try {
    await fleet.add(agents);

    // Straight through.
    const c0 = procCpu(coord.proc.pid);
    const o0 = othersAt(fleet, server);
    const t0 = Date.now();
    await submitCli(server.url, ns, 'R1', spin);
    const final = await waitEnd(ctl, 'R1', num('BIG_MAX_SECONDS', 600));
    if (final.state === 'running') throw new Error(`R1 has not ended after BIG_MAX_SECONDS: ${JSON.stringify(final)}`);
    const wallS = (Date.now() - t0) / 1000;
    const cpu = cpuShare(c0, procCpu(coord.proc.pid), wallS);
    const others = othersSince(o0);
    const peak = peakRss(coord.proc.pid);
    const r1 = await checkRows(join(outDir, 'R1.jsonl'), tasks, 'R1');
    const runS = ((final.endedAt ?? Date.now()) - final.startedAt) / 1000;
    rows.push(
      row(
        { tasks, agents, slots, rowsPerSecond: Math.round(final.done / runS), fileRowsPerSecond: Math.round(r1.rows / ((r1.lastEnd - r1.firstStart) / 1000)), wallS: round(wallS, 2), coordinator: { ...cpu, peakRssMb: mb(peak) }, others, check: r1.check },
        `run: ${agents} simulated agents × ${slots} slots, spin --ms 0`,
        round(runS, 2),
      ),
    );

    // Again, the coordinator killed halfway and a new one started on the same out dir.
    const file = join(outDir, 'R2.jsonl');
    await submitCli(server.url, ns, 'R2', spin);
    await until('R2 to have half of its rows committed', async () => ((await ctl.job('R2'))?.done ?? 0) >= tasks / 2, num('BIG_MAX_SECONDS', 600) * 1000, 200);
    coord.proc.kill('SIGKILL');
    await coord.proc.exited;
    keepLog('coordinator-killed.log', coord.proc.stderr);
    const killedAtRows = await countLines(file);

    coord = await startCoord(server.url, ns, outDir);
    const b0 = procCpu(coord.proc.pid);
    const ob = othersAt(fleet, server);
    const since = (): number => round((Date.now() - coord.spawnedAt) / 1000, 2);
    const running = await until('R2 running again', async () => {
      const j = await ctl.job('R2');
      return j?.state === 'running' || j?.state === 'done' ? j : null;
    }, 300_000, 100);
    const runningAgainS = since();
    const runningAt = Date.now();
    const fileRowsAtRunning = await countLines(file);
    // Then, status every 250 ms: when the first row is committed after the restart, and when every agent is active again.
    let active = 0;
    let progressAgainS = NaN;
    let agentsBackS = NaN;
    await until(
      () => `the first new row and ${agents} active agents on the new coordinator (${active} are)`,
      async () => {
        const st = await ctl.client.status();
        const j = st.jobs.find((x) => x.job === 'R2');
        active = st.agents.filter((a) => a.state === 'active').length;
        if (Number.isNaN(progressAgainS) && j && j.done > running.done) progressAgainS = since();
        if (Number.isNaN(agentsBackS) && active === agents) agentsBackS = since();
        return (!Number.isNaN(progressAgainS) || j?.state !== 'running') && !Number.isNaN(agentsBackS);
      },
      num('BIG_REJOIN_WAIT_S', 120) * 1000,
      250,
    ).catch(() => undefined); // not all back: reported as a count
    const resumeMaxS = num('BIG_RESUME_MAX_SECONDS', 240);
    let final2 = await waitEnd(ctl, 'R2', resumeMaxS);
    const ended = final2.state !== 'running';
    const endS = ended ? since() : NaN;
    let notEnded: NonNullable<RunFigures['resume']>['notEnded'] = null;
    if (!ended) {
      // Not ended: what the coordinator holds against what the agents run, then cancelled so the bench goes on.
      const st = await ctl.client.status();
      notEnded = { afterS: resumeMaxS, done: final2.done, running: final2.running, queued: final2.queued, agentsBusySlots: st.agents.reduce((a, x) => a + x.busy, 0) };
      await ctl.client.cancel('R2');
      final2 = await waitEnd(ctl, 'R2', 120);
    }
    const cpu2 = cpuShare(b0, procCpu(coord.proc.pid), ended ? endS : since());
    const others2 = othersSince(ob);
    const peak2 = peakRss(coord.proc.pid);
    const r2 = await checkRows(file, tasks, 'R2');
    keepLog('coordinator-resumed.log', coord.proc.stderr);
    keepLog('fleet-hosts.log', fleet.describe());
    const afterS = ((final2.endedAt ?? Date.now()) - runningAt) / 1000;
    rows.push(
      row(
        {
          tasks,
          agents,
          slots,
          rowsPerSecond: Math.round((final2.done - running.done) / afterS),
          fileRowsPerSecond: Math.round(r2.rows / ((r2.lastEnd - r2.firstStart) / 1000)),
          wallS: endS,
          coordinator: { ...cpu2, peakRssMb: mb(peak2) },
          others: others2,
          check: (ended ? '' : 'rows so far: ') + r2.check + (final2.state === 'done' ? '' : `; job ended ${final2.state}`),
          resume: { notEnded, killedAtRows, readyS: round(coord.readyS, 2), runningAgainS, endS, doneAtRunning: running.done, fileRowsAtRunning, progressAgainS, agentsActive: active, agentsActiveAfterS: agentsBackS, speculated: final2.speculated, retried: final2.retried, refusedWarnings: coord.proc.logs.filter((l) => l.msg === 'results for tasks the agent holds no lease on refused').length },
        },
        `resume: SIGKILL at half, new coordinator, same ${agents} agents`,
        endS,
      ),
    );
    return rows;
  } catch (err) {
    throw new Error(`big run: ${(err as Error).message}\n${coord.proc.describe()}\n${fleet.describe()}`);
  } finally {
    await fleet.stop();
    await ctl.close();
    await stopCoord(coord);
  }
}
