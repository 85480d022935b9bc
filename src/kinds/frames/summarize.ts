/**
 * Dataset figures from the job's rows, in one streaming pass: per quantity the mean, standard
 * deviation (population, ddof = 0, as numpy.std), minimum and maximum over frames (vectors per
 * component), the frames that worked and failed, the chunks (tasks) that failed: those with
 * any failed frame, and the first failures.
 */
import type { Row } from '../types.js';
import { parseFramesTaskId } from './task-id.js';

/** Failures listed in the summary (the count is always complete). */
export const MAX_LISTED_FAILURES = 1000;

/** Running mean/variance (Welford) with min and max. */
class Stat {
  n = 0;
  private mean = 0;
  private m2 = 0;
  private lo = Infinity;
  private hi = -Infinity;
  add(x: number): void {
    this.n++;
    const d = x - this.mean;
    this.mean += d / this.n;
    this.m2 += d * (x - this.mean);
    if (x < this.lo) this.lo = x;
    if (x > this.hi) this.hi = x;
  }
  result(): { mean: number; std: number; min: number; max: number } {
    return { mean: this.mean, std: Math.sqrt(this.m2 / this.n), min: this.lo, max: this.hi };
  }
}

/** One failure in the summary. */
export interface FrameFailure {
  /** The frame, or the task's whole frame range when the task itself failed. */
  frames: [number, number];
  task: string;
  code: string;
  message: string;
}

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** The frames kind's summarize. */
export async function summarizeFrames(rows: AsyncIterable<Row>): Promise<Record<string, unknown>> {
  const scalars = new Map<string, Stat>();
  const vectors = new Map<string, [Stat, Stat, Stat]>();
  let ok = 0;
  let failed = 0;
  let walks = 0;
  let mcVariance = 0; // Σ capacitance_err², for the Monte-Carlo error of the mean
  const failures: FrameFailure[] = [];
  // Task → whether any of its rows is an error: one entry per chunk, far fewer than rows.
  const taskFailed = new Map<string, boolean>();
  const scalar = (key: string, v: unknown): void => {
    if (!isNum(v)) return;
    let s = scalars.get(key);
    if (s === undefined) scalars.set(key, (s = new Stat()));
    s.add(v);
  };
  for await (const row of rows) {
    const bad = row.status !== 'ok' || row.error !== undefined;
    taskFailed.set(row.task, bad || taskFailed.get(row.task) === true);
    if (bad) {
      const range = row.index !== undefined ? ([row.index, row.index] as [number, number]) : parseFramesTaskId(row.task);
      const frames = range ?? [-1, -1];
      failed += range === undefined ? 1 : range[1] - range[0] + 1;
      if (failures.length < MAX_LISTED_FAILURES) {
        failures.push({ frames, task: row.task, code: row.error?.code ?? 'E_TASK', message: row.error?.message ?? 'failed' });
      }
      continue;
    }
    ok++;
    const v = (row.value ?? {}) as Record<string, unknown>;
    for (const key of ['rg', 'rg_mass', 'rmsd']) scalar(key, v[key]);
    for (const key of ['cog', 'com']) {
      const vec = v[key];
      if (!Array.isArray(vec) || vec.length !== 3 || !vec.every(isNum)) continue;
      let s = vectors.get(key);
      if (s === undefined) vectors.set(key, (s = [new Stat(), new Stat(), new Stat()]));
      for (let k = 0; k < 3; k++) s[k]!.add(vec[k] as number);
    }
    const z = v.zeno as Record<string, unknown> | undefined;
    if (z !== undefined && z !== null && isNum(z.capacitance)) {
      scalar('zeno.capacitance', z.capacitance);
      scalar('zeno.capacitance_err', z.capacitance_err);
      if (isNum(z.capacitance_err)) mcVariance += z.capacitance_err ** 2;
      if (isNum(z.walks)) walks += z.walks;
    }
  }

  let failedTasks = 0;
  for (const f of taskFailed.values()) if (f) failedTasks++;
  const out: Record<string, unknown> = {
    // Frames are the records: `failed` counts error rows, and all frames of a task that failed whole.
    frames: { total: ok + failed, ok, failed },
    // Tasks are chunks of frames; `tasks` is the sink's own block of the summary file.
    chunks: { total: taskFailed.size, ok: taskFailed.size - failedTasks, failed: failedTasks },
  };
  for (const key of ['rg', 'rg_mass', 'rmsd']) {
    const s = scalars.get(key);
    if (s !== undefined) out[key] = { ...s.result(), n: s.n };
  }
  for (const [key, s] of vectors) {
    const r = s.map((c) => c.result());
    out[key] = {
      mean: r.map((c) => c.mean),
      std: r.map((c) => c.std),
      min: r.map((c) => c.min),
      max: r.map((c) => c.max),
      n: s[0].n,
    };
  }
  const cap = scalars.get('zeno.capacitance');
  if (cap !== undefined) {
    out.zeno = {
      capacitance: { ...cap.result(), n: cap.n, mean_err: Math.sqrt(mcVariance) / cap.n },
      capacitance_err: scalars.get('zeno.capacitance_err')?.result(),
      walks,
    };
  }
  failures.sort((a, b) => a.frames[0] - b.frames[0]);
  out.failures = failures;
  if (failures.length >= MAX_LISTED_FAILURES && failed > failures.length) out.failures_truncated = true;
  return out;
}

const fmt = (x: unknown): string => (isNum(x) ? x.toFixed(3) : '?');

/** A few lines for `shoal run` to print. */
export function describeFramesSummary(summary: Record<string, unknown>): string[] {
  const lines: string[] = [];
  const frames = summary.frames as { ok?: number; failed?: number } | undefined;
  const chunks = summary.chunks as { total?: number; failed?: number } | undefined;
  const inChunks = chunks?.failed ? ` (in ${chunks.failed} of ${chunks.total ?? '?'} chunks)` : '';
  lines.push(`frames: ${frames?.ok ?? 0} ok, ${frames?.failed ?? 0} failed${inChunks}`);
  for (const key of ['rg', 'rg_mass', 'rmsd']) {
    const s = summary[key] as { mean?: number; std?: number; min?: number; max?: number } | undefined;
    if (s !== undefined) lines.push(`${key}: ${fmt(s.mean)} ± ${fmt(s.std)} Å (min ${fmt(s.min)}, max ${fmt(s.max)})`);
  }
  for (const key of ['cog', 'com']) {
    const s = summary[key] as { mean?: number[] } | undefined;
    if (s?.mean !== undefined) lines.push(`${key}: mean [${s.mean.map(fmt).join(', ')}] Å`);
  }
  const z = summary.zeno as { capacitance?: { mean?: number; std?: number; mean_err?: number }; walks?: number } | undefined;
  if (z?.capacitance !== undefined) {
    lines.push(`zeno capacitance: ${fmt(z.capacitance.mean)} Å (frame-to-frame sd ${fmt(z.capacitance.std)}, Monte-Carlo error of the mean ${fmt(z.capacitance.mean_err)}; ${z.walks} walks)`);
  }
  const failures = summary.failures as FrameFailure[] | undefined;
  if (failures !== undefined && failures.length > 0) {
    const f = failures[0]!;
    lines.push(`first failure: frame ${f.frames[0]}${f.frames[1] !== f.frames[0] ? `-${f.frames[1]}` : ''}: ${f.message}`);
  }
  return lines;
}
