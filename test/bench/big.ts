/**
 * `npm run bench -- big`: jobs of millions of tasks against a real nats-server and a real
 * `shoal coordinator` process.
 *
 * 1. Queue: one job of BIG_TASKS (10,000,000) `spin --ms 0` tasks and no agents, then the same
 *    with `--ms 1 --skew` (unequal costs: the dispatch order is sorted). Submit time (the CLI from
 *    spawn to answer, beside what a bare `status` CLI call costs), the coordinator's RSS before
 *    and after and per million queued tasks, the slowest status while the job is admitted,
 *    status p50/max with the job queued, and RSS BIG_SETTLE_S (5) seconds after a cancel.
 * 2. Run and resume (big-run.ts): BIG_RUN_TASKS (1,000,000) tasks on BIG_AGENTS (10) simulated
 *    agents × BIG_SLOTS (64), rows/s, the coordinator's CPU and peak RSS; then the same again,
 *    the coordinator SIGKILLed at half the rows and a new one started on the same --out-dir.
 *
 *   npm run bench -- big
 *   BIG_TASKS=1000000 BIG_RUN_TASKS=100000 npm run bench -- big     a quick run
 *   BIG_PARTS=queue (or run) npm run bench -- big                    one part
 *   BIG_RESUME_MAX_SECONDS (240): the resumed job not ended by then is reported as such and cancelled
 *   BIG_CPU_PROF=DIR npm run bench -- big       a V8 CPU profile of each coordinator (but a SIGKILLed one) in DIR
 */
import { join } from 'node:path';
import { startNatsServer, type NatsServerHandle } from '../../src/nats-server.js';
import { peakRss } from './proc.js';
import { sleep, until } from '../helpers/wait.js';
import { Ctl, logOf, logTime, mb, num, round, rss, spread, startCoord, statusCliSeconds, statusProbe, stopCoord, submitCli } from './big-coordinator.js';
import { runAndResume, type RunFigures } from './big-run.js';
import type { BenchRow } from './main.js';

/** What one queued job measured (written to the JSON beside the row). */
export interface QueueFigures {
  tasks: number;
  skew: boolean;
  /** `shoal submit` from spawn to answer, and a bare `shoal status` CLI call for scale. */
  submitS: number;
  statusCliS: number;
  /** The coordinator's "output opened" (expanded and ordered) and "job submitted" lines, seconds after the submit CLI was spawned. */
  outputOpenedAtS: number;
  submittedLoggedAtS: number;
  /** The slowest status round trip while the job was admitted, and how many were answered. */
  admission: { slowestStatusMs: number; answers: number; failures: number };
  rssMb: { before: number; queued: number; peak: number; afterCancel: number };
  mbPerMillion: number;
  statusQueuedMs: { p50: number; max: number; n: number };
  settleS: number;
}

/** `--skew` needs a time to spread: with --ms 0 every cost is the same and nothing is sorted. Nothing runs here, so the time is moot. */
const spinArgs = (skew: boolean): string[] => (skew ? ['--ms', '1', '--skew'] : ['--ms', '0']);

async function queued(server: NatsServerHandle, dir: string, tasks: number, skew: boolean): Promise<BenchRow & { big: QueueFigures }> {
  const ns = `bigq${skew ? 's' : ''}${Date.now().toString(36)}`;
  const coord = await startCoord(server.url, ns, join(dir, ns));
  const ctl = await Ctl.connect(server.url, ns);
  const pid = coord.proc.pid;
  const job = skew ? 'QS' : 'Q';
  try {
    await until('the coordinator to answer status', async () => (await ctl.client.status()) !== undefined, 30_000);
    const statusCliS = await statusCliSeconds(server.url, ns);
    await sleep(1000); // the start's own garbage settles before RSS is read, on purpose
    const before = rss(pid);

    const probe = statusProbe(ctl);
    const sub = await submitCli(server.url, ns, job, ['--tasks', String(tasks), ...spinArgs(skew)]);
    const admission = await probe.stop();
    if (sub.tasks !== tasks) throw new Error(`submit answered ${sub.tasks} tasks, not ${tasks}`);
    const after = rss(pid);
    const peak = peakRss(pid);
    const at = (msg: string): number => {
      const l = logOf(coord, msg, job);
      return l ? round((logTime(l) - sub.startedAt) / 1000, 2) : NaN;
    };

    const st = await ctl.job(job);
    if (st?.state !== 'running' || st.queued !== tasks) throw new Error(`job ${job} is not queued whole: ${JSON.stringify(st)}`);
    const statusQueuedMs = spread(await ctl.statusTimes(num('BIG_STATUS_N', 20)));

    await ctl.client.cancel(job);
    await until(`job ${job} to end cancelled`, async () => (await ctl.job(job))?.state === 'cancelled', 120_000, 250);
    const settleS = num('BIG_SETTLE_S', 5);
    await sleep(settleS * 1000); // the time given to the coordinator to hand memory back, on purpose
    const afterCancel = rss(pid);

    const figures: QueueFigures = {
      tasks,
      skew,
      submitS: round(sub.seconds, 2),
      statusCliS: round(statusCliS, 2),
      outputOpenedAtS: at('output opened'),
      submittedLoggedAtS: at('job submitted'),
      admission: { slowestStatusMs: admission.slowestMs, answers: admission.answers, failures: admission.failures },
      rssMb: { before: mb(before), queued: mb(after), peak: mb(peak), afterCancel: mb(afterCancel) },
      mbPerMillion: round((after - before) / 2 ** 20 / (tasks / 1e6)),
      statusQueuedMs,
      settleS,
    };
    return {
      workload: 'big',
      mode: `queue: 1 job of spin ${spinArgs(skew).join(' ')}, no agents`,
      tasks,
      seconds: figures.submitS,
      tasksPerSecond: Math.round(tasks / sub.seconds),
      note: `${figures.mbPerMillion} MB per million queued; RSS ${figures.rssMb.before} → ${figures.rssMb.queued} MB (peak ${figures.rssMb.peak}), ${figures.rssMb.afterCancel} MB ${settleS} s after cancel; status queued p50/max ${statusQueuedMs.p50}/${statusQueuedMs.max} ms, slowest while admitted ${admission.slowestMs} ms (${admission.failures} unanswered)`,
      big: figures,
    };
  } catch (err) {
    throw new Error(`big queue ${tasks}${skew ? ' skew' : ''}: ${(err as Error).message}\n${coord.proc.describe()}`);
  } finally {
    await ctl.close();
    await stopCoord(coord);
  }
}

export async function benchBig(dir: string): Promise<BenchRow[]> {
  const parts = (process.env.BIG_PARTS ?? 'queue,run').split(',').map((s) => s.trim());
  const server = await startNatsServer();
  const rows: Array<BenchRow & { big: QueueFigures | RunFigures }> = [];
  try {
    if (parts.includes('queue')) {
      const tasks = num('BIG_TASKS', 10_000_000);
      for (const skew of [false, true]) {
        process.stderr.write(`  big: ${tasks} queued tasks${skew ? ', skewed' : ''}...\n`);
        rows.push(await queued(server, dir, tasks, skew));
      }
      printTables(rows.map((r) => r.big)); // now: a later part that fails does not take these figures with it
    }
    if (parts.includes('run')) {
      process.stderr.write(`  big: ${num('BIG_RUN_TASKS', 1_000_000)} tasks on ${num('BIG_AGENTS', 10)} simulated agents, then resumed...\n`);
      const run = await runAndResume(server, dir);
      rows.push(...run);
      printTables(run.map((r) => r.big));
    }
  } finally {
    await server.stop();
  }
  return rows;
}

function table(title: string, head: string[], body: string[][]): void {
  const cells = [head, ...body];
  const w = head.map((_, i) => Math.max(...cells.map((c) => c[i]!.length)));
  process.stdout.write(`\n${title}\n`);
  for (const c of cells) process.stdout.write(c.map((x, i) => x.padEnd(w[i]!)).join('  ') + '\n');
}

function printTables(all: Array<QueueFigures | RunFigures>): void {
  const q = all.filter((f): f is QueueFigures => 'submitS' in f);
  const r = all.filter((f): f is RunFigures => 'rowsPerSecond' in f);
  if (q.length > 0) {
    table(
      'big: queued jobs (no agents); times in s after the submit CLI was spawned',
      ['tasks', 'submit CLI s', 'status CLI s', 'opened/submitted log s', 'slowest status while admitted ms', 'RSS before/queued/peak MB', 'MB per million', 'status queued p50/max ms', 'RSS after cancel MB'],
      q.map((f) => [
        `${f.tasks}${f.skew ? ' skew' : ''}`,
        String(f.submitS),
        String(f.statusCliS),
        `${f.outputOpenedAtS}/${f.submittedLoggedAtS}`,
        `${f.admission.slowestStatusMs} (${f.admission.answers} answered, ${f.admission.failures} unanswered)`,
        `${f.rssMb.before}/${f.rssMb.queued}/${f.rssMb.peak}`,
        String(f.mbPerMillion),
        `${f.statusQueuedMs.p50}/${f.statusQueuedMs.max}`,
        `${f.rssMb.afterCancel} (+${f.settleS} s)`,
      ]),
    );
  }
  if (r.length > 0) {
    table(
      `big: runs on ${r[0]!.agents} simulated agents × ${r[0]!.slots} slots; resume times in s after the new coordinator was spawned`,
      ['run', 'tasks', 'rows/s (status)', 'rows/s (file)', 'coord CPU', 'main thr', 'peak RSS MB', 'hosts/nats/machine', 'killed at rows', 'ready s', 'running again s (done/file)', 'first new row s', 'agents back (s)', 'end s', 'speculated', 'rows check'],
      r.map((f) => [
        f.resume ? 'resumed' : 'straight',
        String(f.tasks),
        String(f.rowsPerSecond),
        String(f.fileRowsPerSecond),
        `${f.coordinator.cpuPercent}%`,
        `${f.coordinator.mainThreadPercent}%`,
        String(f.coordinator.peakRssMb),
        `${f.others.fleetHostsPercent}%/${f.others.natsPercent}%/${f.others.machineBusyPercent}%`,
        f.resume ? String(f.resume.killedAtRows) : '-',
        f.resume ? String(f.resume.readyS) : '-',
        f.resume ? `${f.resume.runningAgainS} (${f.resume.doneAtRunning}/${f.resume.fileRowsAtRunning})` : '-',
        f.resume ? String(f.resume.progressAgainS) : '-',
        f.resume ? `${f.resume.agentsActive}/${f.agents} (${f.resume.agentsActiveAfterS})` : '-',
        f.resume ? (f.resume.notEnded ? `not after ${f.resume.notEnded.afterS} (${f.resume.notEnded.running} leased, ${f.resume.notEnded.agentsBusySlots} slots busy)` : String(f.resume.endS)) : '-',
        f.resume ? String(f.resume.speculated) : '-',
        f.check,
      ]),
    );
  }
  process.stdout.write('\n');
}
