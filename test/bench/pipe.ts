/**
 * `npm run bench -- pipe`: two stages streaming into each other against the same work run
 * other ways. Upstream: 10,000 tasks whose sizes are W1's (test/bench/sizes.json, each of its
 * 1,000 sizes ten times, in a fixed shuffled order), scaled so a stage is PIPE_ROWS rows of
 * 1 ms of busy CPU; each row's value is `{ ms }`. Downstream: one task per upstream row doing
 * that work again (pipe-kinds.ts, a handler kind). Each variant runs over a fresh nats-server,
 * coordinator and agent of 2 worker threads (pipe-run.ts):
 *
 *   a  streamed: one pipeline file, downstream `from: up` (its tasks queued as rows commit)
 *   b  one after the other: the same file with `after: [up]` too
 *   c  one job of the 10,000 upstream tasks, each doing both passes' work
 *   d  one job of 20,000 tasks (the upstream's inputs twice): a's tasks without the stream
 *
 * Makespan: from the first job's submit to the last job's end, by the coordinator's clock.
 * The lower bound is max(total work / workers, longest upstream + downstream chain), from the
 * actual per-task sizes. Every output must hold exactly one ok row per task (and a
 * downstream row the work of its upstream task), or the bench fails.
 *
 *   PIPE_ROWS      [20000]    rows of 1 ms per stage (W1's sizes scaled to this many)
 *   PIPE_RUNS      [1]        rounds of the variants, each round starting one later (a b c d, b c d a, ...),
 *                             so none is always the first after a pause of the machine
 *   PIPE_VARIANTS  [a,b,c,d]  which variants to run, in this order
 *   PIPE_PROFILE=DIR          V8 CPU profiles of each coordinator and agent, under DIR/<run><variant>/
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mulberry32 } from '../../src/random.js';
import { repoRoot } from '../helpers/paths.js';
import { assertOneRowPerTask, readRows, type Row } from '../helpers/rows.js';
import type { BenchRow } from './main.js';
import { runVariant, type JobFinal, type VariantRun } from './pipe-run.js';

const TASKS = 10_000;
const WORKERS = 2;
const SETUP = `NATS, 1 agent × ${WORKERS} workers`;

type Variant = 'a' | 'b' | 'c' | 'd';
const VARIANTS: Variant[] = ['a', 'b', 'c', 'd'];

/** The upstream tasks' milliseconds (1 ms a row) and the scale applied to W1's sizes. */
interface Work {
  ms: number[];
  scale: number;
  /** Seconds of work of both stages together. */
  totalS: number;
  /** The longest chain: a task's upstream and downstream work, seconds. */
  chainS: number;
  boundS: number;
}

function work(rowsPerStage: number): Work {
  const w1 = (JSON.parse(readFileSync(join(repoRoot, 'test', 'bench', 'sizes.json'), 'utf8')) as { sizes: number[] }).sizes;
  const sizes = Array.from({ length: TASKS }, (_, i) => w1[i % w1.length]!);
  const next = mulberry32(1);
  for (let i = sizes.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [sizes[i], sizes[j]] = [sizes[j]!, sizes[i]!];
  }
  const scale = rowsPerStage / sizes.reduce((a, b) => a + b, 0);
  const ms = sizes.map((n) => Math.round(n * scale * 1000) / 1000);
  const totalS = (2 * ms.reduce((a, b) => a + b, 0)) / 1000;
  const chainS = (2 * Math.max(...ms)) / 1000;
  return { ms, scale, totalS, chainS, boundS: Math.max(totalS / WORKERS, chainS) };
}

/** `task_0000` ...: the ids of a handler job over n records (numbered as records/ numbers them). */
const taskIds = (n: number): string[] => Array.from({ length: n }, (_, i) => `task_${String(i).padStart(String(n).length, '0')}`);

/** One job's rows, checked: exactly one ok row per task, each carrying the work of its record (`ms[i]`). */
function checkedRows(f: JobFinal, ms: readonly number[]): Row[] {
  const rows = readRows(f.out);
  const ids = taskIds(ms.length);
  assertOneRowPerTask(rows, ids, { status: 'ok', job: f.job });
  const want = new Map(ids.map((id, i) => [id, ms[i]!]));
  for (const r of rows) {
    const got = (r.value as { ms?: unknown } | null)?.ms;
    if (got !== want.get(r.task)) throw new Error(`pipe: ${f.out}: task ${r.task} did ${String(got)} ms of work, its input says ${want.get(r.task)}`);
  }
  return rows;
}

/**
 * What the rows' timestamps say of a run (seconds): lead (submit to first task start), the
 * tasks' own time (sum of end - start: their work, and more where they were kept off a core),
 * the workers idle between the first start and the last end, tail (last task end to the end).
 */
function timeline(rows: readonly Row[], startedAt: number, endedAt: number): { leadS: number; busyS: number; idleS: number; tailS: number } {
  let first = Infinity;
  let last = -Infinity;
  let busy = 0;
  for (const r of rows) {
    const s = Number(r.start);
    const e = Number(r.end);
    first = Math.min(first, s);
    last = Math.max(last, e);
    busy += e - s;
  }
  return { leadS: (first - startedAt) / 1000, busyS: busy / 1000, idleS: (WORKERS * (last - first) - busy) / 1000, tailS: (endedAt - last) / 1000 };
}

const fmt = (x: number, d = 2): string => x.toFixed(d);

/** The agent's CPU by thread, and shoal's own CPU: the coordinator's and the agent's besides its workers, which the workers' cores also carry. */
function threads(r: VariantRun): string {
  const t = r.agentThreads;
  if (!t) return '';
  const own = r.cpu.coordinatorS + (t.mainMs + t.otherMs) / 1000;
  return ` (main thread ${fmt(t.mainMs / 1000)} s, workers ${fmt(t.workersMs / 1000, 1)} s, other threads ${fmt(t.otherMs / 1000)} s); shoal's own ${fmt(own, 1)} s`;
}

interface Result {
  variant: Variant;
  run: number;
  seconds: number;
  tasks: number;
  note: string;
}

/** One variant's run, its outputs checked, as a result with its timestamps and CPU in the note. */
async function variant(v: Variant, run: number, w: Work, inputs: { once: string; twice: string }, dir: string): Promise<Result> {
  const name = `pipe${run}${v}`;
  const outDir = join(dir, name);
  const profile = process.env.PIPE_PROFILE ? join(process.env.PIPE_PROFILE, name) : undefined;
  let command: string[];
  if (v === 'a' || v === 'b') {
    const file = join(dir, `${name}.yaml`);
    const down = v === 'a' ? '{ name: down, kind: pipe-work, from: up }' : '{ name: down, kind: pipe-work, from: up, after: [up] }';
    writeFileSync(file, [`name: ${name}`, 'stages:', `  - { name: up, kind: pipe-work, options: { inputs: ${JSON.stringify(inputs.once)} } }`, `  - ${down}`, ''].join('\n'));
    command = ['pipeline', file];
  } else if (v === 'c') {
    command = ['submit', 'pipe-work', '--inputs', inputs.once, '--params', JSON.stringify({ times: 2 }), '--job', name];
  } else {
    command = ['submit', 'pipe-work', '--inputs', inputs.twice, '--job', name];
  }
  const r: VariantRun = await runVariant(command, outDir, WORKERS, profile);
  const startedAt = Math.min(...r.finals.map((f) => f.startedAt));
  const endedAt = Math.max(...r.finals.map((f) => f.endedAt));
  const seconds = (endedAt - startedAt) / 1000;
  const notes: string[] = [];
  let rows: Row[];
  if (v === 'a' || v === 'b') {
    const up = r.finals.find((f) => f.job === `${name}.up`);
    const down = r.finals.find((f) => f.job === `${name}.down`);
    if (!up || !down) throw new Error(`pipe: ${name}: the pipeline's statuses lack a stage: ${JSON.stringify(r.finals)}`);
    const upRows = checkedRows(up, w.ms);
    const downRows = checkedRows(down, w.ms);
    const upLast = Math.max(...upRows.map((x) => Number(x.end)));
    const early = downRows.filter((x) => Number(x.start) < upLast).length;
    if (v === 'b' && early > 0) throw new Error(`pipe: ${name}: ${early} downstream tasks began before the upstream's last row (after: [up] should hold them)`);
    const gap = (Math.min(...downRows.map((x) => Number(x.start))) - upLast) / 1000;
    notes.push(`${early} of ${TASKS} downstream tasks began before the upstream's last task ended; the first ${gap < 0 ? `${fmt(-gap, 3)} s before` : `${fmt(gap, 3)} s after`} it`);
    rows = [...upRows, ...downRows];
  } else {
    const f = r.finals[0]!;
    rows = checkedRows(f, v === 'c' ? w.ms : [...w.ms, ...w.ms]);
  }
  const t = timeline(rows, startedAt, endedAt);
  const work = w.totalS;
  notes.push(
    `${v === 'a' ? '' : `makespan/bound ${fmt(seconds / w.boundS, 3)} (bound ${fmt(w.boundS)} s), `}utilization ${fmt((work / WORKERS / seconds) * 100, 1)}%`,
    `submit to first task ${fmt(t.leadS)} s, tasks' own time ${fmt(t.busyS, 1)} s, workers idle between ${fmt(t.idleS)} s, last task to end ${fmt(t.tailS)} s`,
    `CPU: coordinator ${fmt(r.cpu.coordinatorS, 1)} s, agent ${fmt(r.cpu.agentS, 1)} s${threads(r)}, nats-server ${fmt(r.cpu.natsS, 1)} s; other processes ${fmt(r.cpu.machineS - r.cpu.coordinatorS - r.cpu.agentS - r.cpu.natsS, 1)} s (the submitting CLI among them); ${fmt(work, 1)} s of work`,
  );
  return { variant: v, run, seconds, tasks: rows.length, note: notes.join('; ') };
}

const MODES: Record<Variant, string> = {
  a: 'a: streamed, one pipeline (down from: up)',
  b: 'b: up, then down (from: up, after: [up])',
  c: `c: one job, ${TASKS.toLocaleString('en')} tasks of both passes`,
  d: `d: one job, ${(2 * TASKS).toLocaleString('en')} tasks (the inputs twice)`,
};

export async function benchPipe(dir: string): Promise<BenchRow[]> {
  const rowsPerStage = Number(process.env.PIPE_ROWS ?? 20_000);
  const runs = Number(process.env.PIPE_RUNS ?? 1);
  const chosen = (process.env.PIPE_VARIANTS ?? VARIANTS.join(',')).split(',').map((s) => s.trim()) as Variant[];
  for (const v of chosen) if (!VARIANTS.includes(v)) throw new Error(`PIPE_VARIANTS: '${v}' is not a variant (a, b, c, d)`);
  const w = work(rowsPerStage);
  const once = join(dir, 'pipe-inputs.jsonl');
  const twice = join(dir, 'pipe-inputs-twice.jsonl');
  const lines = w.ms.map((ms) => JSON.stringify({ ms })).join('\n') + '\n';
  writeFileSync(once, lines);
  writeFileSync(twice, lines + lines);
  const setup = `W1 sizes ×10 scaled ×${w.scale.toPrecision(3)}: ${rowsPerStage.toLocaleString('en')} rows of 1 ms a stage, tasks ${fmt(Math.min(...w.ms), 3)}–${fmt(Math.max(...w.ms), 1)} ms`;
  const results: Result[] = [];
  for (let run = 1; run <= runs; run++) {
    for (let k = 0; k < chosen.length; k++) {
      const v = chosen[(k + run - 1) % chosen.length]!;
      process.stderr.write(`  pipe run ${run}, variant ${v}...\n`);
      results.push(await variant(v, run, w, { once, twice }, dir));
    }
  }
  return results.map((r) => {
    const same = (v: Variant): Result | undefined => results.find((x) => x.run === r.run && x.variant === v);
    const ratios: string[] = [];
    if (r.variant === 'a') {
      const b = same('b');
      const c = same('c');
      const d = same('d');
      ratios.push(`(a)/bound ${fmt(r.seconds / w.boundS, 3)} (bound ${fmt(w.boundS)} s)`);
      if (b) ratios.push(`(a)/(b) ${fmt(r.seconds / b.seconds, 3)}`);
      if (c) ratios.push(`streaming cost (a)/(c) − 1 ${fmt((r.seconds / c.seconds - 1) * 100, 1)}%`);
      if (d) ratios.push(`(a)/(d) − 1 ${fmt((r.seconds / d.seconds - 1) * 100, 1)}%`);
      ratios.push(setup);
    }
    return {
      workload: 'pipe',
      mode: `${MODES[r.variant]}, ${SETUP}${runs > 1 ? `, run ${r.run}` : ''}`,
      tasks: r.tasks,
      seconds: +r.seconds.toFixed(3),
      tasksPerSecond: Math.round(r.tasks / r.seconds),
      note: [...ratios, r.note].join('; '),
    };
  });
}
