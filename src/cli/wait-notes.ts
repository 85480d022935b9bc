/**
 * What `submit --wait` and `run` say on stderr while the job they wait for cannot move by
 * itself: no connected agent can run its kind (the coordinator's `unrunnable` line), or no agent
 * is connected at all. Each is said once it has lasted a moment (agents that are starting say
 * hello within it), and its end is said too; the wait itself goes on, since an agent may come.
 */
import type { AgentStatus, JobStatus } from '../../protocol/index.js';

/** How long a cause must last before it is said: agents starting beside the command join within it. */
export const NOTE_AFTER_MS = { unrunnable: 2000, noAgent: 5000 } as const;

interface Cause {
  readonly text: string;
  readonly afterMs: number;
}

export class WaitNotes {
  /** The cause seen at the last status and since when. */
  private pending: { cause: Cause; since: number } | null = null;
  /** The cause last said, until it is over. */
  private said: string | null = null;

  /**
   * `say` prints one line; `agentHint` is how to start an agent here (`shoal agent --nats URL
   * --ns NS`), for the note that none is connected.
   */
  constructor(
    private readonly say: (line: string) => void,
    private readonly agentHint: string,
    private readonly now: () => number = Date.now,
  ) {}

  /** Takes the job's latest status and the agents', as `CtlClient.waitFor` passes them. */
  update(j: JobStatus, agents: readonly AgentStatus[]): void {
    const cause = this.causeOf(j, agents);
    const t = this.now();
    if (cause === null) {
      // Over: said while the job runs on, or when it ended done (the agent that came ran it all
      // between two statuses); not for a job cancelled or failed.
      if (this.said !== null && (j.state === 'running' || j.state === 'done')) this.say(`job ${j.job}: an agent that can run it is connected now`);
      this.pending = null;
      this.said = null;
      return;
    }
    if (this.pending?.cause.text !== cause.text) this.pending = { cause, since: t };
    if (this.said !== cause.text && t - this.pending.since >= cause.afterMs) {
      this.said = cause.text;
      this.say(`job ${j.job}: ${cause.text}; still waiting`);
    }
  }

  private causeOf(j: JobStatus, agents: readonly AgentStatus[]): Cause | null {
    if (j.state !== 'running') return null;
    if (j.unrunnable) return { text: j.unrunnable, afterMs: NOTE_AFTER_MS.unrunnable };
    // A job waiting for others (--after) or with nothing queued needs no agent yet.
    if (j.waitingFor?.length || j.queued === 0) return null;
    if (agents.some((a) => a.state === 'active')) return null;
    return { text: `no agent is connected to run its tasks; start one with \`${this.agentHint}\``, afterMs: NOTE_AFTER_MS.noAgent };
  }
}

/** How to start an agent for the namespace a command waits in (the note that none is connected). */
export function agentHint(url: string | undefined, ns: string): string {
  return `shoal agent --nats ${url ?? 'URL'}${ns === 'default' ? '' : ` --ns ${ns}`}`;
}
