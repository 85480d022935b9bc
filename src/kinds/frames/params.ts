/**
 * The frames kind's parameters: one schema (type, defaults, check), the commander options, and
 * what the schema cannot say (paths made absolute, the format from the trajectory's name, a
 * topology for DCD, element symbols of --radii).
 */
import { resolve } from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import type { CommandUnknownOpts } from '@commander-js/extra-typings';
import { UsageError } from '../../errors.js';
import { elementBySymbol } from '../../io/elements.js';
import { formatFromPath, TRAJ_FORMATS } from '../../io/traj-file.js';
import { AbsolutePath, commaList, helpDefault, optionError, paramsCheck, paramsError, readOption } from '../options.js';
import { ANALYSES } from './analyses.js';

const Radius = Type.Number({ exclusiveMinimum: 0, maximum: 10 });
const Auto = Type.Literal('auto');

/**
 * Validated parameters (plain data: they travel to every agent with the job). The upper limits
 * keep a typo from asking for a year of work.
 */
export const FramesParamsSchema = Type.Object({
  /** Absolute path of the trajectory. */
  traj: AbsolutePath,
  /** From the trajectory's extension. */
  format: Type.Union(TRAJ_FORMATS.map((f) => Type.Literal(f))),
  /** Absolute path of the topology PDB, or null (allowed for PDB and XYZ trajectories). */
  top: Type.Union([AbsolutePath, Type.Null()], { default: null }),
  /** Analyses per frame, in the order given. */
  analyses: Type.Array(Type.Union(ANALYSES.map((a) => Type.Literal(a))), { minItems: 1, default: ['rg', 'cog'] }),
  /** zeno: walks per frame. */
  walks: Type.Integer({ minimum: 1, maximum: 1e10, default: 100_000 }),
  /** zeno: seed of the random streams. */
  seed: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, default: 1 }),
  /** zeno: threads per frame, or `auto` (decided at expand from frames, walks and slots). */
  threads: Type.Union([Auto, Type.Integer({ minimum: 1, maximum: 256 })], { default: 'auto' }),
  /** Frames per task, or `auto` (a few tasks per slot). */
  chunk: Type.Union([Auto, Type.Integer({ minimum: 1, maximum: 1_000_000 })], { default: 'auto' }),
  /** zeno: radius overrides per element symbol (Å). */
  radii: Type.Record(Type.String(), Radius, { default: {} }),
  /** rmsd: the reference frame. */
  refFrame: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, default: 0 }),
  /** rmsd: which atoms are superposed and compared. */
  select: Type.Union([Type.Literal('all'), Type.Literal('heavy')], { default: 'all' }),
  /** zeno: hit tolerance ε as a fraction of the launch radius. */
  tolerance: Type.Number({ exclusiveMinimum: 0, maximum: 0.1, default: 1e-4 }),
});
export type FramesParams = Static<typeof FramesParamsSchema>;

const P = FramesParamsSchema.properties;

/** Adds the kind's options to `run frames` / `submit frames`. */
export function addFramesOptions(cmd: CommandUnknownOpts): void {
  cmd
    .option('--traj <file>', 'trajectory: .dcd, .pdb (multi-model) or .xyz (multi-frame); required')
    .option('--top <pdb>', 'topology PDB (elements, masses); required for DCD')
    .option('--analyses <list>', `comma list of ${ANALYSES.join(', ')}`, helpDefault(P.analyses))
    .option('--walks <n>', 'zeno: random walks per frame', helpDefault(P.walks))
    .option('--seed <s>', 'zeno: seed (results are identical for a seed whatever the threads)', helpDefault(P.seed))
    .option('--threads <n|auto>', 'zeno: threads per frame', helpDefault(P.threads))
    .option('--chunk <n|auto>', 'frames per task', helpDefault(P.chunk))
    .option('--radii <list>', 'zeno: radius overrides, e.g. C=1.7,N=1.55 (Å)')
    .option('--ref-frame <n>', 'rmsd: reference frame', helpDefault(P.refFrame))
    .option('--select <all|heavy>', 'rmsd: atoms to superpose and compare', helpDefault(P.select))
    .option('--tolerance <x>', 'zeno: hit tolerance as a fraction of the launch radius', helpDefault(P.tolerance));
}

/** `C=1.7,n=1.55` → `{ C: 1.7, N: 1.55 }`. */
function radiiOption(v: unknown): Record<string, number> {
  if (v === undefined || v === '') return {};
  const out: Record<string, number> = {};
  for (const entry of commaList(String(v))) {
    const eq = entry.indexOf('=');
    if (eq < 0) throw optionError('--radii', entry, 'ELEMENT=RADIUS, e.g. C=1.7');
    const el = elementBySymbol(entry.slice(0, eq));
    if (el === undefined) throw optionError('--radii', entry.slice(0, eq).trim(), 'an element symbol');
    out[el.symbol] = readOption(`--radii ${el.symbol}`, Radius, entry.slice(eq + 1));
  }
  return out;
}

function pathOption(flag: string, v: unknown): string {
  if (typeof v !== 'string' || v.trim() === '') throw optionError(flag, v, 'a file path');
  return resolve(v);
}

/** Parsed commander options → params. Throws UsageError naming the option and value. */
export function framesParams(o: Record<string, unknown>): FramesParams {
  if (o.traj === undefined || o.traj === null || o.traj === '') throw new UsageError('--traj is required (a .dcd, .pdb or .xyz trajectory)');
  const traj = pathOption('--traj', o.traj);
  const format = formatFromPath(traj);
  if (format === undefined) throw optionError('--traj', o.traj, 'a trajectory named .dcd, .pdb or .xyz');
  const top = o.top === undefined || o.top === null || o.top === '' ? null : pathOption('--top', o.top);
  if (top !== null && formatFromPath(top) !== 'pdb') throw optionError('--top', o.top, 'a .pdb topology');
  if (format === 'dcd' && top === null) throw new UsageError('--top is required with a DCD trajectory (a DCD carries no elements or masses)');
  return {
    traj,
    format,
    top,
    analyses: [...new Set(readOption('--analyses', P.analyses, o.analyses))],
    walks: readOption('--walks', P.walks, o.walks),
    seed: readOption('--seed', P.seed, o.seed),
    threads: readOption('--threads', P.threads, o.threads),
    chunk: readOption('--chunk', P.chunk, o.chunk),
    radii: radiiOption(o.radii),
    refFrame: readOption('--ref-frame', P.refFrame, o.refFrame),
    select: readOption('--select', P.select, o.select),
    tolerance: readOption('--tolerance', P.tolerance, o.tolerance),
  };
}

const checkSchema = paramsCheck('frames', FramesParamsSchema);

/** Params received from another process. Throws InputError. */
export function checkFramesParams(raw: unknown): FramesParams {
  const p = checkSchema(raw);
  const format = formatFromPath(p.traj);
  if (format === undefined) throw paramsError('frames', 'traj', p.traj, 'a trajectory named .dcd, .pdb or .xyz');
  if (p.format !== format) throw paramsError('frames', 'format', p.format, `'${format}' (from the trajectory's extension)`);
  if (p.top !== null && formatFromPath(p.top) !== 'pdb') throw paramsError('frames', 'top', p.top, 'a .pdb topology');
  if (format === 'dcd' && p.top === null) throw paramsError('frames', 'top', p.top, 'a topology path (a DCD trajectory carries no elements)');
  for (const sym of Object.keys(p.radii)) {
    if (elementBySymbol(sym)?.symbol !== sym) throw paramsError('frames', 'radii', sym, 'an element symbol');
  }
  return p;
}
