/**
 * The invariants the scheduler keeps, checked all at once (O(tasks): for tests, after every
 * step). A broken one throws an error naming it: `invariant <name>: ...`.
 */
import { gpuCount, present } from './agents.js';
import { endOf } from './barriers.js';
import type { Job } from './job.js';
import type { State } from './state.js';
import { holders, TRANSITIONS, wasLeasedTo, type TaskStateName } from './task-state.js';

/** The invariants `check` asserts, by the name its error gives. */
export const INVARIANTS = {
  'queued-reachable': 'every queued task is in its job queue (retries or the order past its head)',
  'holder-alive': 'every holder of a lease is a known agent that is not lost and has not left',
  'holder-lists-lease': 'the holder of a lease lists it among its leases',
  'lessee-recorded': 'the holder of a lease is among the task\'s lessees (the sink believes its results)',
  'attempts-bounded': 'a queued or leased task is within its job\'s attempts',
  'counts': 'a job\'s count of tasks in each state is the number of its tasks in that state',
  'queued-cost': 'a job\'s queued cost is the sum of its queued tasks\' costs',
  'job-end': 'a running job has some task queued, leased or failing (or more tasks may come: it is fed by another job), and a job that has one is running or waiting',
  'job-lists': 'the running jobs are those in the running list and the waiting ones those in the waiting list, each once',
  'waiting-upstream': 'a waiting job waits for at least one job of its --after that has not ended; any other job waits for none',
  'waiting-idle': 'a waiting job has no task leased',
  'lost-no-leases': 'a lost agent holds no lease',
  'left-idle': 'an agent that left holds no lease, runs nothing (busy 0) and has no pull parked',
  'lease-held': 'every task an agent lists among its leases is leased to it (or its copy is)',
  'active-slots': 'the active slots are the slots of the active agents',
  'gpu-fit': 'a task is leased only to an agent with at least the GPUs it needs',
  'free-gpus': "an agent's free GPUs are between 0 and its GPUs",
  'largest-gpus': 'the most GPUs of any agent that joined is at least each known agent\'s GPUs',
} as const;

export type InvariantName = keyof typeof INVARIANTS;

export class InvariantError extends Error {
  readonly code = 'E_INTERNAL';
  constructor(
    readonly invariant: InvariantName,
    detail: string,
  ) {
    super(`invariant ${invariant}: ${detail}`);
    this.name = 'InvariantError';
  }
}

/**
 * Asserts every invariant; throws an InvariantError naming the first broken one. Agents are
 * looked at first, then each job's tasks, then the slot total.
 */
export function check(st: State): void {
  let slots = 0;
  for (const a of st.agents.values()) {
    if (a.state.s === 'active') slots += a.info.slots;
    if (a.state.s === 'lost' && a.leases.size > 0) throw new InvariantError('lost-no-leases', `lost agent ${a.id} still holds ${a.leases.size} leases`);
    if (a.state.s === 'left' && (a.leases.size > 0 || a.busy > 0 || a.pull !== null)) {
      throw new InvariantError('left-idle', `agent ${a.id} left but holds ${a.leases.size} leases, runs ${a.busy} slots${a.pull ? ' and has a pull parked' : ''}`);
    }
    const gpus = gpuCount(a.info);
    if (gpus > st.agents.largestGpus()) throw new InvariantError('largest-gpus', `agent ${a.id} has ${gpus} GPUs, the most recorded is ${st.agents.largestGpus()}`);
    if (a.freeGpus < 0 || a.freeGpus > gpus) throw new InvariantError('free-gpus', `agent ${a.id} has ${a.freeGpus} free of ${gpus} GPUs`);
    for (const t of a.leases) {
      if (!holders(t.state).includes(a.id)) throw new InvariantError('lease-held', `agent ${a.id} lists ${t.job}/${t.id} but the task is ${t.state.s}`);
      if (t.gpus > gpus) throw new InvariantError('gpu-fit', `task ${t.job}/${t.id} needs ${t.gpus} GPUs, its agent ${a.id} has ${gpus}`);
    }
  }
  checkLists(st);
  for (const job of st.jobs.values()) checkJob(st, job);
  const active = st.agents.activeSlots;
  if (slots !== active) throw new InvariantError('active-slots', `active slots ${active}, agents add up to ${slots}`);
}

function checkJob(st: State, job: Job): void {
  const q = job.queue;
  const counts = Object.fromEntries(Object.keys(TRANSITIONS).map((k) => [k, 0])) as Record<TaskStateName, number>;
  const audit = q.audit();
  for (const k of Object.keys(counts) as TaskStateName[]) counts[k] += audit.counts[k];
  let queuedCost = audit.freshCost;
  if (audit.unreachableFresh !== null) throw new InvariantError('queued-reachable', `queued task ${job.name}/${audit.unreachableFresh} is not in the queue`);
  for (const t of q.objects()) {
    const s = t.state;
    counts[s.s]++;
    if (s.s === 'queued') {
      queuedCost += t.cost;
      if (!audit.reaches(t)) throw new InvariantError('queued-reachable', `queued task ${job.name}/${t.id} is not in the queue`);
    }
    for (const h of holders(s)) {
      const a = st.agents.get(h);
      if (a === undefined || !present(a)) throw new InvariantError('holder-alive', `task ${job.name}/${t.id} leased to ${a ? a.state.s : 'unknown'} agent ${h}`);
      if (!a.leases.has(t)) throw new InvariantError('holder-lists-lease', `agent ${h} does not list its lease on ${job.name}/${t.id}`);
      if (!wasLeasedTo(t, h)) throw new InvariantError('lessee-recorded', `task ${job.name}/${t.id} is leased to ${h} but does not list it among its lessees`);
    }
    if (s.s === 'queued' || s.s === 'leased') {
      if (t.attempt > job.maxAttempts) throw new InvariantError('attempts-bounded', `task ${job.name}/${t.id} at attempt ${t.attempt} > ${job.maxAttempts} is ${s.s}`);
    }
  }
  for (const k of Object.keys(counts) as TaskStateName[]) {
    if (counts[k] !== q.counts[k]) throw new InvariantError('counts', `job ${job.name} counts ${k}=${q.counts[k]} but ${counts[k]} tasks are ${k}`);
  }
  if (Math.abs(queuedCost - q.queuedCost) > 1e-6 * Math.max(1, queuedCost)) throw new InvariantError('queued-cost', `job ${job.name} queued cost ${q.queuedCost} but tasks add up to ${queuedCost}`);
  const open = counts.queued + counts.leased + counts.failing;
  if ((job.state === 'running' && open === 0 && !job.fed) || (open > 0 && job.state !== 'running' && job.state !== 'waiting')) {
    throw new InvariantError('job-end', `job ${job.name} is ${job.state} with ${counts.queued} queued, ${counts.leased} leased, ${counts.failing} failing`);
  }
  if (job.state === 'waiting' && counts.leased > 0) throw new InvariantError('waiting-idle', `waiting job ${job.name} has ${counts.leased} tasks leased`);
}

/** The running and waiting lists hold exactly the jobs in those states; a waiting job's upstreams have not all ended. */
function checkLists(st: State): void {
  for (const [state, list] of [['running', st.running], ['waiting', st.waiting]] as const) {
    const seen = new Set<Job>();
    for (const j of list) {
      if (j.state !== state || seen.has(j) || st.jobs.get(j.name) !== j) throw new InvariantError('job-lists', `job ${j.name} is ${j.state} but listed ${seen.has(j) ? 'twice ' : ''}among the ${state} jobs`);
      seen.add(j);
    }
  }
  for (const j of st.jobs.values()) {
    const listed = j.state === 'running' ? st.running.includes(j) : j.state === 'waiting' ? st.waiting.includes(j) : !st.running.includes(j) && !st.waiting.includes(j);
    if (!listed) throw new InvariantError('job-lists', `job ${j.name} is ${j.state} but not in the list of its state`);
    if (j.state !== 'waiting') {
      if (j.waitingFor.size > 0) throw new InvariantError('waiting-upstream', `job ${j.name} is ${j.state} but waits for ${[...j.waitingFor].join(', ')}`);
      continue;
    }
    if (j.waitingFor.size === 0) throw new InvariantError('waiting-upstream', `job ${j.name} is waiting for nothing`);
    for (const u of j.waitingFor) {
      if (endOf(st, u) !== null) throw new InvariantError('waiting-upstream', `job ${j.name} waits for ${u}, which has ended`);
    }
  }
}
