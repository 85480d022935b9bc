/**
 * One allocation queue's core (coordinator/alloc/queue.ts) driven with a simulated clock and a
 * simulated Slurm: allocations submitted, started, joined by agents, drained when idle, cancelled
 * when the queue empties; failures (sbatch refusing, a job that never starts, agents that never
 * join) counted and the queue paused after --max-failures until resumed. Then many random runs:
 * never more than --max-jobs live, never a submission loop.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ALLOCATION_TRANSITIONS, AllocQueue, type AllocCommand, type SlurmJobView } from '../../coordinator/alloc/index.js';
import { moveAllocation, newAllocation } from '../../coordinator/alloc/allocation.js';
import { agent, job, spec } from '../helpers/alloc.js';
import { IllegalMoveError } from '../../src/errors.js';

const sbatches = (cmds: AllocCommand[]): Array<Extract<AllocCommand, { kind: 'sbatch' }>> => cmds.filter((c): c is Extract<AllocCommand, { kind: 'sbatch' }> => c.kind === 'sbatch');
const of = <K extends AllocCommand['kind']>(cmds: AllocCommand[], kind: K): Array<Extract<AllocCommand, { kind: K }>> => cmds.filter((c): c is Extract<AllocCommand, { kind: K }> => c.kind === kind);
const saw = (entries: Array<[string, SlurmJobView | null]>): Map<string, SlurmJobView | null> => new Map(entries);

test('the allocation table: every state named, a move not in it throws', () => {
  const a = newAllocation('1.1', 1, 0);
  moveAllocation(a, 'pending', 1);
  moveAllocation(a, 'running', 2);
  assert.equal(a.startedAt, 2);
  moveAllocation(a, 'ended', 3);
  assert.throws(() => moveAllocation(a, 'running', 4), IllegalMoveError);
  for (const to of Object.values(ALLOCATION_TRANSITIONS).flat()) assert.ok(to in ALLOCATION_TRANSITIONS);
});

test('a backlog and no agents: submitted, pending, running, agents join, the work ends, idle agents drain, the job ends', () => {
  const q = new AllocQueue('1', spec({ idleTimeoutS: 30 }));
  let cmds = q.tick({ jobs: [job({ queued: 100 })], agents: [] }, 0);
  const [sb] = sbatches(cmds);
  assert.ok(sb);
  assert.equal(sbatches(q.tick({ jobs: [job({ queued: 100 })], agents: [] }, 1000)).length, 0, 'an allocation in flight counts');
  q.submitted(sb.alloc, { slurmJob: '42' }, 1500);
  assert.deepEqual(q.slurmJobs(), ['42']);
  q.slurmSaw(saw([['42', { state: 'PENDING', reason: 'Resources' }]]), 2000);
  assert.equal(q.status().allocations[0]!.reason, 'Resources');
  q.slurmSaw(saw([['42', { state: 'RUNNING', reason: 'None' }]]), 3000);
  assert.equal(q.status().allocations[0]!.state, 'running');
  const mine = agent({ agent: 'n1', slurmJob: '42', busy: 4 });
  cmds = q.tick({ jobs: [job({ queued: 80, running: 4 })], agents: [mine] }, 4000);
  assert.deepEqual(q.status().allocations[0]!.agents, ['n1']);
  assert.equal(q.status().allocations[0]!.joinedAt, 4000);
  assert.equal(sbatches(cmds).length, 0);
  // The work is done: idle from 10 s, drained at 40 s, once.
  const idle = { ...mine, busy: 0 };
  q.tick({ jobs: [job({ queued: 0 })], agents: [idle] }, 10_000);
  assert.equal(of(q.tick({ jobs: [job({ queued: 0 })], agents: [idle] }, 39_000), 'drain-agent').length, 0);
  assert.deepEqual(of(q.tick({ jobs: [], agents: [idle] }, 40_000), 'drain-agent'), [{ kind: 'drain-agent', agent: 'n1' }]);
  assert.equal(of(q.tick({ jobs: [], agents: [{ ...idle, active: false }] }, 41_000), 'drain-agent').length, 0);
  q.tick({ jobs: [], agents: [{ ...idle, active: false, present: false }] }, 45_000);
  assert.equal(q.status().allocations[0]!.leftAt, 45_000);
  q.slurmSaw(saw([['42', { state: 'COMPLETED', reason: 'None', exitCode: '0:0' }]]), 46_000);
  assert.equal(q.status().allocations[0]!.state, 'ended');
  assert.equal(q.status().failed, 0);
});

test('the queue empties: pending allocations are cancelled, one in sbatch is cancelled when its id comes', () => {
  const q = new AllocQueue('1', spec());
  // One in sbatch when the queue empties: cancelled once sbatch answers with its id.
  const [a] = sbatches(q.tick({ jobs: [job({ queued: 400 })], agents: [] }, 0));
  assert.ok(a);
  assert.equal(of(q.tick({ jobs: [job({ queued: 0, running: 0 })], agents: [] }, 100), 'scancel').length, 0);
  assert.deepEqual(of(q.submitted(a.alloc, { slurmJob: '1' }, 200), 'scancel').map((c) => c.slurmJob), ['1']);
  // One pending when the queue empties: cancelled at once.
  const [b] = sbatches(q.tick({ jobs: [job({ queued: 400 })], agents: [] }, 300));
  assert.ok(b);
  q.submitted(b.alloc, { slurmJob: '2' }, 400);
  assert.deepEqual(of(q.tick({ jobs: [job({ queued: 0, running: 0 })], agents: [] }, 500), 'scancel').map((c) => c.slurmJob), ['2']);
  assert.deepEqual(q.status().allocations.map((x) => x.state), ['cancelled', 'cancelled']);
  assert.equal(sbatches(q.tick({ jobs: [], agents: [] }, 600)).length, 0);
});

test('one allocation at a time until one has started, then up to the count; again one at a time after a failure', () => {
  const q = new AllocQueue('1', spec());
  const w = (agents = [] as ReturnType<typeof agent>[]): { jobs: ReturnType<typeof job>[]; agents: ReturnType<typeof agent>[] } => ({ jobs: [job({ queued: 10_000 })], agents });
  const [a] = sbatches(q.tick(w(), 0));
  assert.ok(a);
  q.submitted(a.alloc, { slurmJob: '1' }, 10);
  q.slurmSaw(saw([['1', { state: 'PENDING', reason: 'Priority' }]]), 1000);
  assert.equal(sbatches(q.tick(w(), 2000)).length, 0, 'pending: nothing more');
  q.slurmSaw(saw([['1', { state: 'RUNNING', reason: 'None' }]]), 3000);
  assert.equal(sbatches(q.tick(w(), 4000)).length, 0, 'running, no agent yet: nothing more');
  assert.match(q.status().decision, /at a time until one has started/);
  // Its agent joined: the rest of --max-jobs (4) at once.
  const more = sbatches(q.tick(w([agent({ agent: 'n1', slurmJob: '1' })]), 5000));
  assert.equal(more.length, 3);
  // One of them fails: the next only after the back-off, and one at a time again.
  q.submitted(more[0]!.alloc, { error: 'refused' }, 5100);
  q.submitted(more[1]!.alloc, { slurmJob: '2' }, 5100);
  q.submitted(more[2]!.alloc, { slurmJob: '3' }, 5100);
  q.slurmSaw(saw([['1', { state: 'COMPLETED', reason: 'None' }], ['2', { state: 'PENDING', reason: 'Priority' }], ['3', { state: 'PENDING', reason: 'Priority' }]]), 6000);
  assert.equal(sbatches(q.tick(w(), 60_000)).length, 0, 'after a failure, while two have not started: none');
});

test('sbatch refusing: counted, backed off, the queue pauses after --max-failures with the reason, resumes only by command', () => {
  const q = new AllocQueue('1', spec({ maxFailures: 2 }));
  const w = { jobs: [job({ queued: 10_000 })], agents: [] };
  let now = 0;
  let submitted = 0;
  for (; now < 3_600_000; now += 1000) {
    for (const c of sbatches(q.tick(w, now))) {
      submitted++;
      q.submitted(c.alloc, { error: 'sbatch: error: Batch job submission failed: Invalid partition name specified' }, now + 10);
    }
  }
  // One at a time (none has started), each fails: paused after the second, so sbatch ran exactly --max-failures times.
  assert.equal(submitted, 2);
  const st = q.status();
  assert.equal(st.state, 'paused');
  assert.match(st.paused!, /paused after \d failed allocations in a row \(--max-failures 2\).*Invalid partition name specified.*shoal alloc resume 1/);
  assert.match(st.decision, /paused/);
  assert.ok(q.resume());
  assert.equal(sbatches(q.tick(w, now)).length, 1, 'resumed: it submits again, one until one starts');
});

test('an allocation that never starts (a limit of the partition) or whose agents never join has failed, with Slurm\'s reason', () => {
  const q = new AllocQueue('1', spec({ maxFailures: 5, connectTimeoutS: 60 }));
  const [a] = sbatches(q.tick({ jobs: [job()], agents: [] }, 0));
  q.submitted(a!.alloc, { slurmJob: '5' }, 10);
  const cmds = q.slurmSaw(saw([['5', { state: 'PENDING', reason: 'PartitionTimeLimit' }]]), 20);
  assert.deepEqual(of(cmds, 'scancel').map((c) => c.slurmJob), ['5']);
  assert.match(q.status().allocations[0]!.reason!, /cannot start: PartitionTimeLimit/);
  // The next one starts, but no agent joins within --connect-timeout.
  const [b] = sbatches(q.tick({ jobs: [job()], agents: [] }, 10_020));
  assert.ok(b, 'one more after the back-off');
  q.submitted(b.alloc, { slurmJob: '6' }, 10_030);
  q.slurmSaw(saw([['6', { state: 'RUNNING', reason: 'None' }]]), 11_000);
  assert.equal(of(q.tick({ jobs: [job()], agents: [] }, 70_999), 'scancel').length, 0);
  assert.deepEqual(of(q.tick({ jobs: [job()], agents: [] }, 71_000), 'scancel').map((c) => c.slurmJob), ['6']);
  q.annotate(b.alloc, 'output: spot-agent.sbatch: cannot find shoal');
  assert.match(q.status().allocations[1]!.reason!, /did not join within 60 s.*cannot find shoal/);
  // A job that failed before any agent joined.
  const [c] = sbatches(q.tick({ jobs: [job()], agents: [] }, 200_000));
  q.submitted(c!.alloc, { slurmJob: '7' }, 200_010);
  q.slurmSaw(saw([['7', { state: 'FAILED', reason: 'NonZeroExitCode', exitCode: '2:0' }]]), 200_020);
  assert.match(q.status().allocations[2]!.reason!, /Slurm job 7 FAILED \(exit code 2:0\), reason NonZeroExitCode before any agent joined/);
  assert.equal(q.status().failuresInRow, 3);
  // An agent joining resets the count.
  const [d] = sbatches(q.tick({ jobs: [job()], agents: [] }, 500_000));
  q.submitted(d!.alloc, { slurmJob: '8' }, 500_010);
  q.slurmSaw(saw([['8', { state: 'RUNNING', reason: 'None' }]]), 500_020);
  q.tick({ jobs: [job()], agents: [agent({ slurmJob: '8' })] }, 500_030);
  assert.equal(q.status().failuresInRow, 0);
  assert.equal(q.status().failed, 3);
});

test('a job too long for the walltime: reported once, no allocation', () => {
  const q = new AllocQueue('1', spec());
  let warned = 0;
  for (let now = 0; now < 600_000; now += 1000) {
    const cmds = q.tick({ jobs: [job({ timeoutS: 3600 })], agents: [] }, now);
    assert.equal(sbatches(cmds).length, 0);
    warned += of(cmds, 'log').filter((l) => l.msg === 'no allocation of the queue can run this job').length;
  }
  assert.equal(warned, 1);
  assert.match(q.status().unservable[0]!, /^J: its tasks may run 3600 s \(--timeout\)/);
});

test('simulation: random backlogs, Slurm delays, failures and lost agents never exceed --max-jobs nor submit in a loop', () => {
  let seed = 12345;
  const rand = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  for (let run = 0; run < 120; run++) {
    const maxJobs = 1 + Math.floor(rand() * 4);
    const s = spec({ maxJobs, nodes: 1 + Math.floor(rand() * 2), maxFailures: 1 + Math.floor(rand() * 3), idleTimeoutS: 20, connectTimeoutS: 30 });
    const q = new AllocQueue('q', s);
    const failP = rand() * 0.5;
    const neverStartP = rand() * 0.3;
    let queued = Math.floor(rand() * 3000);
    const slurm = new Map<string, { state: string; startAt: number; nodes: number }>();
    let nextJob = 1;
    let submissions = 0;
    let failures = 0;
    for (let now = 0; now < 1_800_000; now += 1000) {
      // Agents are the nodes of running Slurm jobs; some are lost at random (they stop showing).
      const agents = [...slurm].filter(([, j]) => j.state === 'RUNNING').flatMap(([id, j]) => Array.from({ length: j.nodes }, (_, i) => agent({ agent: `${id}-${i}`, slurmJob: id, busy: queued > 0 ? 4 : 0 })));
      const present = agents.filter(() => rand() > 0.05);
      queued = Math.max(0, queued - present.length * 4 + (rand() < 0.01 ? Math.floor(rand() * 2000) : 0));
      const cmds = q.tick({ jobs: [job({ queued, taskSeconds: 1 + rand() * 20 })], agents: present }, now);
      for (const c of cmds) {
        if (c.kind === 'sbatch') {
          submissions++;
          if (rand() < failP) {
            failures++;
            q.submitted(c.alloc, { error: 'refused' }, now);
          } else {
            const id = String(nextJob++);
            slurm.set(id, { state: 'PENDING', startAt: rand() < neverStartP ? Infinity : now + rand() * 60_000, nodes: c.nodes });
            q.submitted(c.alloc, { slurmJob: id }, now);
          }
        } else if (c.kind === 'scancel') slurm.get(c.slurmJob)!.state = 'CANCELLED';
        else if (c.kind === 'drain-agent') {
          const j = slurm.get(c.agent.split('-')[0]!)!;
          if (j.state === 'RUNNING') j.state = 'COMPLETED';
        }
      }
      for (const j of slurm.values()) if (j.state === 'PENDING' && now >= j.startAt) j.state = 'RUNNING';
      q.slurmSaw(new Map([...slurm].map(([id, j]) => [id, { state: j.state, reason: 'None' }])), now);
      const st = q.status();
      const live = st.allocations.filter((a) => a.state === 'submitting' || a.state === 'pending' || a.state === 'running');
      assert.ok(live.length <= maxJobs, `run ${run} at ${now}: ${live.length} live allocations, --max-jobs ${maxJobs}`);
      assert.ok(live.length * s.nodes <= s.maxJobs * s.nodes);
      if (st.state === 'paused') assert.match(st.paused ?? '', /--max-failures/, 'paused only by failures here, with why');
    }
    // No loop: at most one submission per 10 s of back-off after a failure, and a bounded number in all.
    assert.ok(submissions <= maxJobs * 60 + failures, `run ${run}: ${submissions} submissions (${failures} refused)`);
    if (q.status().state === 'paused') assert.ok(q.status().paused);
  }
});
