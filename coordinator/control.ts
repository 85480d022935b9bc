/** The operator's requests (submit, status, cancel, drain) and the coordinator's answers. */
import { errorReply, PROTOCOL_VERSION, type CtlReply, type CtlRequest } from '../protocol/index.js';
import { ErrorCode } from '../src/errors.js';
import type { Coordinator } from './actor.js';

/** The answer to one control request; throws a ShoalError for a refused submission. */
export async function ctlReply(c: Coordinator, req: CtlRequest): Promise<CtlReply> {
  const v = PROTOCOL_VERSION;
  switch (req.kind) {
    case 'submit':
      return { kind: 'submitted', v, ...(await c.admission.submit(req.spec)) };
    case 'status': {
      const now = Date.now();
      const st = c.scheduler.status(now, req.job);
      // A finished job counts as done once its output is closed and its summary written (so
      // `--wait` returns with the summary there); a cancel or a failure shows at once.
      for (const j of st.jobs) {
        if (j.state !== 'running' && j.state !== 'stalled' && j.state !== 'cancelled' && j.state !== 'failed' && !c.admission.finished.has(j.job)) j.state = 'running';
      }
      st.jobs.push(...c.admission.expandingStatus(req.job));
      if (req.job && st.jobs.length === 0) {
        return errorReply(ErrorCode.NotFound, `no job named '${req.job}' (known: ${c.scheduler.jobNames().join(', ') || 'none'})`);
      }
      return { kind: 'status', v, now, ...st };
    }
    case 'cancel': {
      if (c.scheduler.jobState(req.job) === null) return errorReply(ErrorCode.NotFound, `no job named '${req.job}'`);
      c.run(c.scheduler.onCancel(req.job, Date.now()));
      return { kind: 'cancelled', v, job: req.job, state: c.scheduler.jobState(req.job)! };
    }
    case 'drain': {
      const cmds = c.scheduler.onDrain(req.agent, req.graceMs ?? null, Date.now());
      if (cmds.length === 0) return errorReply(ErrorCode.NotFound, `no active agent named '${req.agent}'`);
      c.run(cmds);
      return { kind: 'draining', v, agent: req.agent };
    }
    default:
      return assertNever(req);
  }
}

function assertNever(x: never): never {
  throw new Error(`unexpected control request ${JSON.stringify(x)}`);
}
