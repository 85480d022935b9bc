/** Dataset-level figures of a python job. */
import type { Row } from '../types.js';

export interface PythonSummary {
  /** Tasks (a generator's records count once, by task). */
  tasks: number;
  ok: number;
  error: number;
  /** Rows with a failed task, per error code (E_EXCEPTION, E_CRASH, E_INPUT...). */
  errorsByCode: Record<string, number>;
  /** Interpreters that ran tasks (distinct host and pid). */
  interpreters: number;
}

export async function summarizePython(rows: AsyncIterable<Row>): Promise<Record<string, unknown>> {
  const s: PythonSummary = { tasks: 0, ok: 0, error: 0, errorsByCode: {}, interpreters: 0 };
  const procs = new Set<string>();
  const failed = new Set<string>();
  const seen = new Set<string>();
  for await (const r of rows) {
    if (typeof r.pid === 'number') procs.add(`${String(r.host)}:${r.pid}`);
    if (!seen.has(r.task)) {
      seen.add(r.task);
      s.tasks++;
    }
    if (r.status === 'error' && !failed.has(r.task)) {
      failed.add(r.task);
      const code = r.error?.code ?? 'unknown';
      s.errorsByCode[code] = (s.errorsByCode[code] ?? 0) + 1;
    }
  }
  s.error = failed.size;
  s.ok = s.tasks - s.error;
  s.interpreters = procs.size;
  return { ...s };
}

export function describePythonSummary(summary: Record<string, unknown>): string[] {
  const s = summary as Partial<PythonSummary>;
  const lines = [`${s.ok ?? 0} ok, ${s.error ?? 0} failed, in ${s.interpreters ?? 0} interpreter${s.interpreters === 1 ? '' : 's'}`];
  const codes = Object.entries(s.errorsByCode ?? {});
  if (codes.length > 0) lines.push(`errors: ${codes.map(([c, n]) => `${c} ${n}`).join(', ')}`);
  return lines;
}
