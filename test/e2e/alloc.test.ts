/**
 * `shoal alloc` on a real Slurm cluster on this machine (root; see test/helpers/slurm.ts): a
 * coordinator outside Slurm with an allocation queue, its agents only from the allocations the
 * queue submits (slurm/spot-agent.sbatch), joining over the network namespaces' bridge.
 *
 * - a backlog: one allocation first, a second once the first started, the job run to the end on
 *   their agents only; a small job the idle agents serve brings none; idle agents drain after
 *   --idle-timeout and their Slurm jobs end COMPLETED; the report of the out dir marks when each
 *   allocation's agents joined and left;
 * - an allocation that cannot start yet (held) is cancelled when the queue empties;
 * - a partition that does not exist: Slurm's words in status, the queue paused after
 *   --max-failures, sbatch called exactly that often (a wrapper first on PATH counts the calls);
 * - a task whose --timeout exceeds what an allocation offers: reported, nothing submitted.
 */
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { before, describe, it } from 'node:test';
import type { AllocQueueStatus } from '../../protocol/index.js';
import { findNatsServer, startNatsServer, type NatsServerHandle } from '../../src/nats-server.js';
import { uniqueNs } from '../helpers/nats.js';
import { readRows, spinIds, assertOneRowPerTask } from '../helpers/rows.js';
import { connArgs, runShoal, startCoordinator, type ShoalProcess } from '../helpers/shoal.js';
import { ensureSlurm, startSlurmCluster, type JobInfo, type SlurmCluster } from '../helpers/slurm.js';
import { Control, tempSuite } from '../helpers/suite.js';
import { until } from '../helpers/wait.js';

const read = (f: string): string => (existsSync(f) ? readFileSync(f, 'utf8') : '');
const ended = (j: JobInfo): boolean => !['PENDING', 'CONFIGURING', 'RUNNING', 'COMPLETING', 'SUSPENDED'].includes(j.JobState);

let cluster: SlurmCluster | undefined;
let nats: NatsServerHandle | undefined;
const controls: Control[] = [];
const scratch = tempSuite('shoal-alloc-', {
  cleanup: async () => {
    for (const c of controls) await c.close();
    await cluster?.stop();
    await nats?.stop();
  },
});

/** Where the coordinator and the allocated nodes reach the NATS server. */
let url = '';
let agentUrl = '';
/** The wrapper's log: one line per sbatch call. */
let sbatchLog = '';
let pathWithWrapper = '';

before(async () => {
  if (process.getuid?.() !== 0) assert.fail('the allocation end-to-end test must run as root: it starts munged, slurmctld, slurmd and network namespaces');
  ensureSlurm();
  const c = (cluster = await startSlurmCluster({ nodes: 2, dir: join(scratch.dir, 'slurm'), cpus: 2, memMb: 2048 }));
  const bin = findNatsServer();
  assert.ok(bin, 'nats-server not found');
  // On the bridge's address (loopback without namespaces): the test and the nodes both reach it there.
  nats = await startNatsServer({ bin, host: c.net ? c.net.gateway : '127.0.0.1' });
  url = nats.url;
  agentUrl = nats.url;
  // sbatch first on PATH: logs each call, then runs the real one.
  const wrapDir = join(scratch.dir, 'bin');
  mkdirSync(wrapDir, { recursive: true });
  sbatchLog = join(scratch.dir, 'sbatch-calls.log');
  const real = ['/usr/bin/sbatch', '/usr/local/bin/sbatch'].find(existsSync) ?? 'sbatch';
  writeFileSync(join(wrapDir, 'sbatch'), `#!/bin/sh\necho "$*" >> '${sbatchLog}'\nexec ${real} "$@"\n`);
  chmodSync(join(wrapDir, 'sbatch'), 0o755);
  pathWithWrapper = `${wrapDir}:${dirname(process.execPath)}:${process.env.PATH ?? '/usr/bin:/bin'}`;
});

const sbatchCalls = (): number => read(sbatchLog).split('\n').filter(Boolean).length;

interface Coord {
  ns: string;
  out: string;
  proc: ShoalProcess;
  ctl: Control;
  conn: string[];
  queues(): Promise<AllocQueueStatus[]>;
  describe(): Promise<string>;
}

/** A coordinator (no agents) whose allocations' agents join through the bridge. */
async function coordinator(label: string): Promise<Coord> {
  const ns = uniqueNs(label);
  const out = join(scratch.dir, `out-${label}`);
  const proc = await startCoordinator(url, ns, out, ['--alloc-poll', '1', '--agent-nats', agentUrl], { env: { PATH: pathWithWrapper, SLURM_CONF: cluster!.conf }, cwd: scratch.dir });
  const ctl = await Control.connect(url, ns);
  controls.push(ctl);
  const queues = async (): Promise<AllocQueueStatus[]> => (await ctl.client.alloc('list')).queues;
  const describe = async (): Promise<string> => {
    const qs = await queues().catch((e: Error) => `no answer: ${e.message}`);
    const outs = typeof qs === 'string' ? '' : qs.flatMap((q) => q.allocations.filter((a) => a.slurmJob).map((a) => `--- ${a.id} (slurm ${a.slurmJob}):\n${read(join(out, 'alloc', `${q.spec.name ?? q.id}-${a.slurmJob}.out`)).slice(-1500)}`)).join('\n');
    return `queues: ${JSON.stringify(qs, null, 1)}\n${outs}\n--- coordinator:\n${proc.describe()}`;
  };
  return { ns, out, proc, ctl, conn: connArgs(url, ns), queues, describe };
}

async function addQueue(co: Coord, args: string[]): Promise<AllocQueueStatus> {
  const r = await runShoal(['alloc', 'add', 'slurm', ...co.conn, '--json', ...args]);
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as { queues: AllocQueueStatus[] }).queues[0]!;
}

/** Polls the coordinator's queue until `pred` holds. */
async function waitQueue(co: Coord, what: string, pred: (q: AllocQueueStatus) => boolean, timeoutMs = 120_000): Promise<AllocQueueStatus> {
  let last: AllocQueueStatus | undefined;
  try {
    return await until(
      () => `${what} (last: ${JSON.stringify(last)})`,
      async () => {
        last = (await co.queues())[0];
        return last && pred(last) ? last : null;
      },
      timeoutMs,
      500,
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${await co.describe()}`);
  }
}

describe('shoal alloc on a real Slurm cluster', { timeout: 600_000 }, () => {
  it('runs a backlog on allocated nodes only, adds an allocation once the first started, none for what idle agents serve; idle agents leave', { timeout: 420_000 }, async () => {
    const c = cluster!;
    const co = await coordinator('backlog');
    const before = sbatchCalls();
    // 1 slot per agent, 50 s of usable time each: 15 tasks of 4 s are more than one allocation can do.
    await addQueue(co, ['--max-jobs', '2', '--walltime', '1', '--drain-before', '10', '--cpus-per-node', '1', '--idle-timeout', '20', '--name', 'q']);
    const TASKS = 15;
    const sub = await runShoal(['submit', 'spin', ...co.conn, '--job', 'A1', '--tasks', String(TASKS), '--sleep', '--ms', '4000', '--no-speculate']);
    assert.equal(sub.code, 0, sub.stderr);

    // One at a time until one has started: the second is submitted only once the first's agent joined.
    const second = await waitQueue(co, 'a second allocation', (q) => q.allocations.length >= 2);
    const [a1, a2] = second.allocations;
    assert.ok(a1!.joinedAt !== undefined && a1!.joinedAt <= a2!.submittedAt, `the second allocation was submitted before the first's agents joined\n${await co.describe()}`);
    const end = await co.ctl.waitEnd('A1', 300_000);
    assert.equal(end.state, 'done', await co.describe());

    const q = (await co.queues())[0]!;
    // Two at least; more only where an agent drained at its walltime before the job ended.
    assert.ok(q.submitted >= 2 && q.failed === 0, await co.describe());
    const allocated = new Set(q.allocations.flatMap((a) => a.agents));
    const rows = readRows(join(co.out, 'A1.jsonl'));
    assertOneRowPerTask(rows, spinIds(TASKS), { status: 'ok', job: 'A1' });
    for (const r of rows) assert.ok(allocated.has(r.agent), `row ${r.id} from ${r.agent}, not an allocated agent (${[...allocated].join(', ')})`);

    // A small job the idle agents serve at once (a task per idle agent): no allocation for it.
    const idle = (await co.ctl.status()).agents.filter((a) => a.state === 'active').length;
    assert.ok(idle > 0, `no agent left idle before --idle-timeout\n${await co.describe()}`);
    const small = await runShoal(['submit', 'spin', ...co.conn, '--job', 'A2', '--tasks', String(idle), '--sleep', '--ms', '200', '--wait']);
    assert.equal(small.code, 0, small.stderr);
    assert.equal((await co.queues())[0]!.submitted, q.submitted, `an allocation was submitted for a job idle agents could serve\n${await co.describe()}`);
    for (const r of readRows(join(co.out, 'A2.jsonl'))) assert.ok(allocated.has(r.agent), `A2's row ${r.id} from ${r.agent}`);

    // Idle past --idle-timeout: the agents drain, their Slurm jobs end COMPLETED, the allocations end.
    const done = await waitQueue(co, 'the allocations to end', (x) => x.allocations.every((a) => a.state === 'ended'), 180_000);
    for (const a of done.allocations) {
      assert.ok(a.leftAt !== undefined && a.agents.length === 1, JSON.stringify(a));
      const j = await c.waitForJob(a.slurmJob!, ended, `allocation ${a.id}'s Slurm job to end`, 120_000);
      assert.equal(j.JobState, 'COMPLETED', `${a.id}: ${j.JobState} ${j.ExitCode}\n${await co.describe()}`);
      assert.equal(j.ExitCode, '0:0', await co.describe());
    }
    assert.match(read(join(co.out, 'alloc', `q-${done.allocations[0]!.slurmJob}.out`)), /agents drained; exit 0/);
    assert.equal(sbatchCalls() - before, q.submitted);
    co.proc.kill('SIGTERM');
    await co.proc.exited;

    // The report of the out dir marks when each allocation's agents joined and left.
    const rep = await runShoal(['report', co.out]);
    assert.equal(rep.code, 0, rep.stderr);
    for (const a of done.allocations) assert.match(rep.stdout, new RegExp(`^q/${a.id.replace('.', '\\.')}\\s+${a.slurmJob}\\s+${a.agents[0]}\\s+[-+][\\d.]+m?s\\s+\\+[\\d.]+m?s\\s+ended$`, 'm'), rep.stdout);
  });

  it('cancels an allocation that has not started when the queue empties', { timeout: 180_000 }, async () => {
    const c = cluster!;
    const co = await coordinator('held');
    await addQueue(co, ['--max-jobs', '1', '--walltime', '5', '--sbatch-args', '--hold']);
    const sub = await runShoal(['submit', 'spin', ...co.conn, '--job', 'H1', '--tasks', '4', '--sleep', '--ms', '100']);
    assert.equal(sub.code, 0, sub.stderr);
    const held = await waitQueue(co, "the held allocation pending with Slurm's reason", (q) => q.allocations[0]?.state === 'pending' && !!q.allocations[0].reason);
    const slurmJob = held.allocations[0]!.slurmJob!;
    assert.match(held.allocations[0]!.reason!, /Held/i);
    const st = await runShoal(['status', ...co.conn]);
    assert.match(st.stdout, new RegExp(`slurm job ${slurmJob} pending`), st.stdout);

    const cancel = await runShoal(['cancel', 'H1', ...co.conn]);
    assert.equal(cancel.code, 0, cancel.stderr);
    const q = await waitQueue(co, 'the pending allocation to be cancelled', (x) => x.allocations[0]?.state === 'cancelled');
    assert.match(q.allocations[0]!.reason!, /no queued work/);
    const j = await c.waitForJob(slurmJob, ended, `the held Slurm job ${slurmJob} to be cancelled`, 60_000);
    assert.equal(j.JobState, 'CANCELLED');
    assert.equal(q.submitted, 1);
    co.proc.kill('SIGTERM');
    await co.proc.exited;
  });

  it("a partition that does not exist: Slurm's reason in status, paused after --max-failures, sbatch called no more", { timeout: 180_000 }, async () => {
    const co = await coordinator('nopart');
    const before = sbatchCalls();
    await addQueue(co, ['--max-jobs', '3', '--walltime', '5', '--partition', 'nosuchpartition', '--max-failures', '2']);
    const sub = await runShoal(['submit', 'spin', ...co.conn, '--job', 'P1', '--tasks', '20', '--sleep', '--ms', '100']);
    assert.equal(sub.code, 0, sub.stderr);
    const paused = await waitQueue(co, 'the queue to pause', (q) => q.state === 'paused');
    assert.match(paused.paused!, /--max-failures 2/);
    assert.match(paused.paused!, /[Ii]nvalid partition/);
    assert.equal(paused.failed, 2);
    for (const a of paused.allocations) assert.match(a.reason ?? '', /sbatch failed: .*[Ii]nvalid partition/, JSON.stringify(a));
    // Ticks after the pause decide nothing: the decision says so, and no sbatch ran since.
    await waitQueue(co, "a decision after the pause saying 'paused'", (q) => q.decision === 'paused');
    assert.equal(sbatchCalls() - before, 2, read(sbatchLog));
    const st = await runShoal(['status', ...co.conn]);
    assert.match(st.stdout, /paused: .*[Ii]nvalid partition/, st.stdout);
    assert.ok(co.proc.logs.some((l) => l.msg === 'allocation queue paused' && /Invalid partition/i.test(String(l.why))), co.proc.describe());
    co.proc.kill('SIGTERM');
    await co.proc.exited;
  });

  it('a task whose --timeout exceeds what an allocation offers: reported, nothing submitted', { timeout: 120_000 }, async () => {
    const co = await coordinator('toolong');
    const before = sbatchCalls();
    await addQueue(co, ['--walltime', '2', '--drain-before', '10', '--agent-args', '--allow-command']);
    const list = join(scratch.dir, 'args.txt');
    writeFileSync(list, 'a\nb\n');
    const sub = await runShoal(['submit', 'command', ...co.conn, '--job', 'T1', '--args', list, '--timeout', '600', '--', 'echo', '{}'], { cwd: scratch.dir });
    assert.equal(sub.code, 0, sub.stderr);
    const q = await waitQueue(co, 'the job reported as one no allocation can serve', (x) => x.unservable.length > 0, 60_000);
    assert.match(q.unservable[0]!, /^T1: its tasks may run 600 s \(--timeout\), and an allocation runs tasks for 110 s/);
    await waitQueue(co, 'another decision', (x) => /no queued task an allocation could run/.test(x.decision));
    assert.equal((await co.queues())[0]!.submitted, 0);
    assert.equal(sbatchCalls() - before, 0);
    const st = await runShoal(['status', ...co.conn]);
    assert.match(st.stdout, /cannot serve T1: its tasks may run 600 s/, st.stdout);
    co.proc.kill('SIGTERM');
    await co.proc.exited;
  });
});
