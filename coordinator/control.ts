/** The operator's requests (submit, status, cancel, priority, drain) and the coordinator's answers. */
import { errorReply, PROTOCOL_VERSION, type AllocQueueStatus, type CtlReply, type CtlRequest, type JobSpec } from '../protocol/index.js';
import { ErrorCode, ShoalError } from '../src/errors.js';
import { endedEarlierStatus, endedJob } from './jobs/index.js';
import type { Coordinator } from './actor.js';

/** The answer to one control request; throws a ShoalError for a refused submission. */
export async function ctlReply(c: Coordinator, req: CtlRequest): Promise<CtlReply> {
  const v = PROTOCOL_VERSION;
  switch (req.kind) {
    case 'submit':
      checkUpstreams(c, req.spec);
      return { kind: 'submitted', v, ...(await c.admission.submit(req.spec)) };
    case 'status': {
      const now = Date.now();
      const st = c.scheduler.status(now, req.job);
      // A finished job counts as done once its output is closed and its summary written (so
      // `--wait` returns with the summary there); a cancel or a failure shows at once.
      for (const j of st.jobs) {
        if (j.state !== 'running' && j.state !== 'stalled' && j.state !== 'cancelled' && j.state !== 'failed' && !c.admission.finished.has(j.job)) j.state = 'running';
      }
      st.jobs.push(...c.admission.expandingStatus(req.job), ...c.admission.unresumedStatus(req.job));
      for (const j of st.jobs) {
        const counts = c.cache.counts(j.job);
        if (counts) j.cache = counts;
      }
      // A job of an earlier life (the coordinator restarted since it ended): from its record.
      const earlier = req.job && st.jobs.length === 0 ? endedEarlierStatus(c.outDir, req.job) : null;
      if (earlier) st.jobs.push(earlier);
      if (req.job && st.jobs.length === 0) {
        return errorReply(ErrorCode.NotFound, `no job named '${req.job}' (known: ${c.scheduler.jobNames().join(', ') || 'none'})`);
      }
      const allocs = c.alloc.list();
      return { kind: 'status', v, now, ...st, ...(allocs.length > 0 ? { allocs } : {}) };
    }
    case 'cancel': {
      if (c.scheduler.jobState(req.job) === null) return errorReply(ErrorCode.NotFound, `no job named '${req.job}'`);
      if (!req.downstream) {
        c.run(c.scheduler.onCancel(req.job, Date.now()));
        return { kind: 'cancelled', v, job: req.job, state: c.scheduler.jobState(req.job)! };
      }
      const r = c.scheduler.onCancelDownstream(req.job, Date.now());
      c.run(r.commands);
      return { kind: 'cancelled', v, job: req.job, state: c.scheduler.jobState(req.job)!, also: r.also };
    }
    case 'priority': {
      const r = c.scheduler.onPriority(req.job, req.priority, Date.now());
      if (!r.changed) return errorReply(ErrorCode.NotFound, `no running or waiting job named '${req.job}' (known: ${c.scheduler.jobNames().join(', ') || 'none'})`);
      c.run(r.commands);
      return { kind: 'priority-set', v, job: req.job, priority: req.priority };
    }
    case 'drain': {
      const cmds = c.scheduler.onDrain(req.agent, req.graceMs ?? null, Date.now());
      if (cmds.length === 0) return errorReply(ErrorCode.NotFound, `no active agent named '${req.agent}'`);
      c.run(cmds);
      return { kind: 'draining', v, agent: req.agent };
    }
    case 'alloc':
      return { kind: 'alloc', v, queues: allocReply(c, req) };
    default:
      return assertNever(req);
  }
}

/** An allocation queue request: the queues it touched (add, pause, resume, remove) or all of them (list). */
function allocReply(c: Coordinator, req: Extract<CtlRequest, { kind: 'alloc' }>): AllocQueueStatus[] {
  if (req.op === 'list') return c.alloc.list();
  if (req.op === 'add') {
    if (!req.spec) throw new ShoalError(ErrorCode.Usage, 'alloc add: the request has no spec');
    return [c.alloc.add(req.spec)];
  }
  if (!req.queue) throw new ShoalError(ErrorCode.Usage, `alloc ${req.op}: name the queue (its id or name; shoal alloc list shows them)`);
  return [c.alloc.act(req.queue, req.op)];
}

/**
 * Each job of a spec's `--after` must be known: held by the scheduler, being admitted, or
 * ended before with its record in the out dir (then the scheduler is told how it ended).
 */
function checkUpstreams(c: Coordinator, spec: JobSpec): void {
  for (const name of spec.after ?? []) {
    if (name === spec.job) throw new ShoalError(ErrorCode.Usage, `--after ${name}: a job cannot wait for itself`);
    if (c.scheduler.knowsJob(name) || c.admission.expanding.has(name)) continue;
    const ended = endedJob(c.outDir, name);
    if (ended === null) throw new ShoalError(ErrorCode.Usage, `--after ${name}: the coordinator knows no job named '${name}' (known: ${c.scheduler.jobNames().join(', ') || 'none'}); submit it first or fix the name`);
    c.scheduler.knowEnded(name, ended);
  }
}

function assertNever(x: never): never {
  throw new Error(`unexpected control request ${JSON.stringify(x)}`);
}
