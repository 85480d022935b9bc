/** Output rows for the report's unit tests: a row from the few fields a test cares about. */

export interface ReportRowSpec {
  job?: string;
  task: string;
  agent?: string;
  worker?: number | null;
  /** Milliseconds after the defaults' `t0`. */
  start: number;
  end: number;
  status?: 'ok' | 'error';
  attempt?: number;
  kind?: string;
  index?: number;
  of?: number;
  error?: { code: string; message: string };
}

/** A row: status ok, attempt 1, worker 1, the host from the agent's name, unless told; `t0` (default 0) added to its times. */
export function reportRow(r: ReportRowSpec, d: { job?: string; kind: string; agent: string; t0?: number }): Record<string, unknown> {
  const agent = r.agent ?? d.agent;
  const t0 = d.t0 ?? 0;
  return { ...(d.job !== undefined ? { job: d.job } : {}), kind: r.kind ?? d.kind, status: r.status ?? 'ok', attempt: r.attempt ?? 1, agent, host: agent.split('-')[0], worker: r.worker === undefined ? 1 : r.worker, ...r, start: t0 + r.start, end: t0 + r.end };
}

/** The rows as the async iterable the scan takes. */
export async function* iter<T>(xs: T[]): AsyncGenerator<T> {
  for (const x of xs) yield x;
}
