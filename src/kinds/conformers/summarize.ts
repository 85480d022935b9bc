/**
 * Dataset figures from a job's rows: blocks merged per molecule (minima of minima, so a split
 * molecule gives exactly the numbers of an unsplit one), metrics per molecule, then mean and
 * median of each metric over the molecules.
 */
import type { Row } from '../types.js';
import { METRIC_NAMES, ascending, meanAndMedian, moleculeMetrics, thresholdKey, type MoleculeMetrics } from './metrics.js';
import type { ConformersParams } from './params.js';
import type { ConformersValue } from './run.js';

/** One molecule in the summary. */
export interface MoleculeSummary {
  n_ref: number;
  n_gen: number;
  heavy_atoms: number;
  /** Largest mapping count of its tasks, and whether the mapping cap was hit. */
  mappings: number;
  capped: boolean;
  /** Generated conformers left out (not the reference's graph; --match graph), not counted in `n_gen`. */
  excluded: number;
  metrics: MoleculeMetrics;
}

/** A molecule some of whose generated conformers were left out. */
export interface Exclusion {
  key: string;
  count: number;
  /** The first one's message. */
  first: string;
}

/** `{mean, median}` of each metric at one threshold (null when no molecule was evaluated). */
export type DatasetFigures = Record<string, Record<(typeof METRIC_NAMES)[number], { mean: number | null; median: number | null }>>;

export interface ConformersSummary {
  molecules: Record<string, MoleculeSummary>;
  dataset: DatasetFigures;
  evaluated: number;
  failed: number;
  failures: { key: string; task: string; code: string; message: string }[];
  /** Generated conformers left out over all evaluated molecules, and the molecules they belong to. */
  excluded: number;
  exclusions: Exclusion[];
  /** Molecules whose blocks do not cover all reference rows (a job cut short). */
  incomplete: string[];
  [field: string]: unknown;
}

interface Accumulator {
  key: string | undefined;
  value?: { n_ref: number; n_gen: number; heavy_atoms: number };
  excluded: number;
  firstExcluded?: string;
  rowMin?: Float64Array;
  colMin?: Float64Array;
  covered?: Uint8Array;
  mappings: number;
  capped: boolean;
  errors: { task: string; code: string; message: string }[];
  inconsistent?: string;
}

/** The molecule id of a task id: `mol_<key>` without a `#b<k>` block suffix or `/0`, `/1` halves. */
function moleculeOf(id: string): string {
  const slash = id.indexOf('/');
  const task = slash > 0 ? id.slice(0, slash) : id;
  const hash = task.lastIndexOf('#b');
  return hash > 0 && /^\d+$/.test(task.slice(hash + 2)) ? task.slice(0, hash) : task;
}

/** The key as far as the task id tells it (used when no row of the molecule succeeded). */
function keyFromId(id: string): string {
  const bare = id.startsWith('mol_') ? id.slice(4) : id;
  const tilde = bare.lastIndexOf('~');
  return tilde >= 0 && /^[0-9a-f]{10}$/.test(bare.slice(tilde + 1)) ? bare.slice(0, tilde) : bare;
}

function isValue(v: unknown): v is ConformersValue {
  if (typeof v !== 'object' || v === null) return false;
  const x = v as Record<string, unknown>;
  return typeof x.key === 'string' && Number.isInteger(x.n_ref) && Number.isInteger(x.n_gen) && Array.isArray(x.row_min) && Array.isArray(x.col_min);
}

/** The first excluded conformer's message, when the row lists one. */
function firstExcluded(v: ConformersValue): string | undefined {
  const first: unknown = Array.isArray(v.excluded) ? v.excluded[0] : undefined;
  return typeof first === 'object' && first !== null && typeof (first as { message?: unknown }).message === 'string' ? (first as { message: string }).message : undefined;
}

function addOk(acc: Accumulator, task: string, v: ConformersValue): void {
  acc.key = v.key;
  const rows = v.rows ?? [0, v.n_ref];
  if (acc.value === undefined) {
    acc.value = { n_ref: v.n_ref, n_gen: v.n_gen, heavy_atoms: v.heavy_atoms };
    acc.rowMin = new Float64Array(v.n_ref).fill(Infinity);
    acc.colMin = new Float64Array(v.n_gen).fill(Infinity);
    acc.covered = new Uint8Array(v.n_ref);
    acc.excluded = v.n_excluded ?? 0;
    acc.firstExcluded = firstExcluded(v);
  } else if (acc.value.n_ref !== v.n_ref || acc.value.n_gen !== v.n_gen || acc.value.heavy_atoms !== v.heavy_atoms || acc.excluded !== (v.n_excluded ?? 0)) {
    acc.inconsistent = `task ${task} disagrees with another block of the molecule on its sizes`;
    return;
  }
  if (v.row_min.length !== rows[1] - rows[0] || v.col_min.length !== v.n_gen || rows[0] < 0 || rows[1] > v.n_ref) {
    acc.inconsistent = `task ${task} has minima that do not match its rows`;
    return;
  }
  // Minima are idempotent, so overlapping blocks (from a resumed job with other blocks) are harmless.
  for (let i = rows[0]; i < rows[1]; i++) {
    const m = v.row_min[i - rows[0]]!;
    if (m < acc.rowMin![i]!) acc.rowMin![i] = m;
    acc.covered![i] = 1;
  }
  for (let j = 0; j < v.n_gen; j++) if (v.col_min[j]! < acc.colMin![j]!) acc.colMin![j] = v.col_min[j]!;
  acc.mappings = Math.max(acc.mappings, v.symmetry?.mappings ?? 1);
  acc.capped ||= v.symmetry?.capped === true;
}

/** Summarizes a job's rows (see the kind's `summarize`). */
export async function summarizeConformers(rows: AsyncIterable<Row>, p: ConformersParams): Promise<ConformersSummary> {
  const byMolecule = new Map<string, Accumulator>();
  for await (const row of rows) {
    const id = moleculeOf(row.task);
    let acc = byMolecule.get(id);
    if (acc === undefined) byMolecule.set(id, (acc = { key: undefined, mappings: 0, capped: false, excluded: 0, errors: [] }));
    if (row.status === 'ok' && isValue(row.value)) {
      addOk(acc, row.task, row.value);
    } else {
      const err = row.error ?? { code: 'E_INTERNAL', message: 'row without a usable value' };
      acc.errors.push({ task: row.task, code: err.code, message: err.message });
    }
  }

  const molecules: Record<string, MoleculeSummary> = {};
  const failures: ConformersSummary['failures'] = [];
  const incomplete: string[] = [];
  const ids = [...byMolecule.keys()].sort();
  const evaluated: { key: string; m: MoleculeSummary }[] = [];
  const exclusions: Exclusion[] = [];
  for (const id of ids) {
    const acc = byMolecule.get(id)!;
    const key = acc.key ?? keyFromId(id);
    if (acc.errors.length > 0 || acc.inconsistent !== undefined) {
      // One failure per molecule: the first error by task id (blocks fail alike).
      const first = acc.errors.sort((a, b) => (a.task < b.task ? -1 : a.task > b.task ? 1 : 0))[0];
      failures.push(first ? { key, ...first } : { key, task: id, code: 'E_INTERNAL', message: acc.inconsistent! });
      continue;
    }
    if (acc.value === undefined || acc.covered!.includes(0)) {
      incomplete.push(key);
      continue;
    }
    const m: MoleculeSummary = {
      ...acc.value,
      mappings: acc.mappings,
      capped: acc.capped,
      excluded: acc.excluded,
      metrics: moleculeMetrics(acc.rowMin!, acc.colMin!, p.thresholds),
    };
    evaluated.push({ key, m });
    if (acc.excluded > 0) exclusions.push({ key, count: acc.excluded, first: acc.firstExcluded ?? '' });
  }
  evaluated.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  for (const { key, m } of evaluated) molecules[key] = m;
  failures.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0) || (a.task < b.task ? -1 : 1));
  exclusions.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));

  const dataset: DatasetFigures = {};
  for (const delta of ascending(p.thresholds)) {
    const k = thresholdKey(delta);
    const figures = {} as DatasetFigures[string];
    for (const name of METRIC_NAMES) {
      const { mean, median } = meanAndMedian(evaluated.map((e) => e.m.metrics[k]![name]));
      figures[name] = { mean: Number.isNaN(mean) ? null : mean, median: Number.isNaN(median) ? null : median };
    }
    dataset[k] = figures;
  }
  const excluded = exclusions.reduce((sum, e) => sum + e.count, 0);
  return { molecules, dataset, evaluated: evaluated.length, failed: failures.length, failures, excluded, exclusions, incomplete: incomplete.sort() };
}

function pct(v: number | null): string {
  return v === null ? '–' : `${(100 * v).toFixed(1)}%`;
}

function ang(v: number | null): string {
  return v === null ? '–' : `${v.toFixed(3)} Å`;
}

/** A few lines for the terminal. */
export function describeConformersSummary(summary: Record<string, unknown>): string[] {
  const s = summary as ConformersSummary;
  const lines = [`conformers: ${s.evaluated} molecule(s) evaluated, ${s.failed} failed${s.incomplete?.length ? `, ${s.incomplete.length} incomplete` : ''}`];
  for (const [delta, f] of Object.entries(s.dataset ?? {})) {
    lines.push(
      `  δ=${delta} Å  COV-R ${pct(f.cov_r.mean)} (median ${pct(f.cov_r.median)})  AMR-R ${ang(f.amr_r.mean)} (median ${ang(f.amr_r.median)})` +
        `  COV-P ${pct(f.cov_p.mean)} (median ${pct(f.cov_p.median)})  AMR-P ${ang(f.amr_p.mean)} (median ${ang(f.amr_p.median)})`,
    );
  }
  for (const f of (s.failures ?? []).slice(0, 3)) lines.push(`  failed ${f.key || f.task}: ${f.message}`);
  if ((s.failures?.length ?? 0) > 3) lines.push(`  ... and ${s.failures.length - 3} more failure(s) in the summary file`);
  const exclusions = s.exclusions ?? [];
  if (exclusions.length > 0) {
    lines.push(`  ${s.excluded} generated conformer(s) of ${exclusions.length} molecule(s) left out, not the reference's graph (first: ${exclusions[0]!.key}: ${exclusions[0]!.first})`);
  }
  const capped = Object.entries(s.molecules ?? {}).filter(([, m]) => m.capped).map(([k]) => k);
  if (capped.length > 0) lines.push(`  mapping cap hit for ${capped.length} molecule(s) (first: ${capped[0]}): raise --max-matches for exact symmetric RMSD`);
  return lines;
}
