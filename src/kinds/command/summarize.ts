/** Dataset-level figures of a command job. */
import type { Row } from '../types.js';

export interface CommandSummary {
  ok: number;
  error: number;
  /** Error rows per code (E_EXIT, E_INPUT...). */
  errorsByCode: Record<string, number>;
  /** Failures that were timeouts. */
  timedOut: number;
  /** Sum of the ok tasks' durations, s. */
  busyS: number;
  /** Longest ok task, s. */
  maxS: number;
  /** Ok tasks whose stdout was JSON (an object, array, number...). */
  jsonStdout: number;
}

export async function summarizeCommand(rows: AsyncIterable<Row>): Promise<Record<string, unknown>> {
  const s: CommandSummary = { ok: 0, error: 0, errorsByCode: {}, timedOut: 0, busyS: 0, maxS: 0, jsonStdout: 0 };
  for await (const r of rows) {
    if (r.status === 'ok') {
      s.ok++;
      const v = r.value as { ms?: unknown; stdout?: unknown } | undefined;
      const ms = typeof v?.ms === 'number' ? v.ms : 0;
      s.busyS += ms / 1000;
      s.maxS = Math.max(s.maxS, ms / 1000);
      if (v && v.stdout !== undefined && typeof v.stdout !== 'string') s.jsonStdout++;
    } else {
      s.error++;
      const code = r.error?.code ?? 'unknown';
      s.errorsByCode[code] = (s.errorsByCode[code] ?? 0) + 1;
      if (r.error?.message.startsWith('timed out')) s.timedOut++;
    }
  }
  s.busyS = +s.busyS.toFixed(3);
  s.maxS = +s.maxS.toFixed(3);
  return { ...s };
}

export function describeCommandSummary(summary: Record<string, unknown>): string[] {
  const s = summary as Partial<CommandSummary>;
  const lines = [`${s.ok ?? 0} ok (${s.jsonStdout ?? 0} with JSON stdout), ${s.error ?? 0} failed${s.timedOut ? ` (${s.timedOut} timed out)` : ''}`];
  const codes = Object.entries(s.errorsByCode ?? {});
  if (codes.length > 0) lines.push(`errors: ${codes.map(([c, n]) => `${c} ${n}`).join(', ')}`);
  if (s.busyS !== undefined) lines.push(`task time: ${s.busyS.toFixed(1)}s in all, longest ${(s.maxS ?? 0).toFixed(2)}s`);
  return lines;
}
