/**
 * The frames kind's parameters: the commander options, their defaults, and validation of both
 * CLI input (UsageError naming option and value) and parameters from the wire (InputError).
 */
import { isAbsolute, resolve } from 'node:path';
import type { CommandUnknownOpts } from '@commander-js/extra-typings';
import { InputError, UsageError } from '../../errors.js';
import { elementBySymbol } from '../../io/elements.js';
import { formatFromPath, type TrajFormat } from '../../io/traj-file.js';
import { ANALYSES, type Analysis } from './analyses.js';

/** Validated parameters (plain data: they travel to every agent with the job). */
export interface FramesParams {
  /** Absolute path of the trajectory. */
  traj: string;
  /** From the trajectory's extension. */
  format: TrajFormat;
  /** Absolute path of the topology PDB, or null (allowed for PDB and XYZ trajectories). */
  top: string | null;
  /** Analyses per frame, in the order given. */
  analyses: Analysis[];
  /** zeno: walks per frame. */
  walks: number;
  /** zeno: seed of the random streams. */
  seed: number;
  /** zeno: threads per frame, or `auto` (decided at expand from frames, walks and slots). */
  threads: number | 'auto';
  /** Frames per task, or `auto` (a few tasks per slot). */
  chunk: number | 'auto';
  /** zeno: radius overrides per element symbol (Å). */
  radii: Record<string, number>;
  /** rmsd: the reference frame. */
  refFrame: number;
  /** rmsd: which atoms are superposed and compared. */
  select: 'all' | 'heavy';
  /** zeno: hit tolerance ε as a fraction of the launch radius. */
  tolerance: number;
}

/** Defaults, in one place. */
export const FRAMES_DEFAULTS = {
  analyses: ['rg', 'cog'] as readonly Analysis[],
  walks: 100_000,
  seed: 1,
  threads: 'auto' as const,
  chunk: 'auto' as const,
  refFrame: 0,
  select: 'all' as const,
  tolerance: 1e-4,
};

/** Upper limits that keep a typo from asking for a year of work. */
export const FRAMES_LIMITS = { walks: 1e10, threads: 256, chunk: 1_000_000, radius: 10 };

/** Adds the kind's options to `run frames` / `submit frames`. */
export function addFramesOptions(cmd: CommandUnknownOpts): void {
  cmd
    .option('--traj <file>', 'trajectory: .dcd, .pdb (multi-model) or .xyz (multi-frame); required')
    .option('--top <pdb>', 'topology PDB (elements, masses); required for DCD')
    .option('--analyses <list>', `comma list of ${ANALYSES.join(', ')}`, FRAMES_DEFAULTS.analyses.join(','))
    .option('--walks <n>', 'zeno: random walks per frame', String(FRAMES_DEFAULTS.walks))
    .option('--seed <s>', 'zeno: seed (results are identical for a seed whatever the threads)', String(FRAMES_DEFAULTS.seed))
    .option('--threads <n|auto>', 'zeno: threads per frame', FRAMES_DEFAULTS.threads)
    .option('--chunk <n|auto>', 'frames per task', FRAMES_DEFAULTS.chunk)
    .option('--radii <list>', 'zeno: radius overrides, e.g. C=1.7,N=1.55 (Å)')
    .option('--ref-frame <n>', 'rmsd: reference frame', String(FRAMES_DEFAULTS.refFrame))
    .option('--select <all|heavy>', 'rmsd: atoms to superpose and compare', FRAMES_DEFAULTS.select)
    .option('--tolerance <x>', 'zeno: hit tolerance as a fraction of the launch radius', String(FRAMES_DEFAULTS.tolerance));
}

type Fail = (what: string, value: unknown, expected: string) => never;

const usageFail: Fail = (what, value, expected) => {
  throw new UsageError(`--${what}: '${String(value)}' is not ${expected}`);
};
const wireFail: Fail = (what, value, expected) => {
  throw new InputError(`frames params: ${what} = ${JSON.stringify(value)} is not ${expected}`);
};

function integer(fail: Fail, what: string, v: unknown, min: number, max: number): number {
  const n = typeof v === 'string' ? (/^\s*[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?\s*$/i.test(v) ? Number(v) : NaN) : v; // `1e6` is fine
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < min || n > max) {
    return fail(what, v, `an integer from ${min} to ${max}`);
  }
  return n;
}

function integerOrAuto(fail: Fail, what: string, v: unknown, max: number): number | 'auto' {
  if (v === 'auto') return 'auto';
  try {
    return integer(fail, what, v, 1, max);
  } catch {
    return fail(what, v, `'auto' or an integer from 1 to ${max}`);
  }
}

function real(fail: Fail, what: string, v: unknown, lowExclusive: number, high: number): number {
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isFinite(n) || n <= lowExclusive || n > high) {
    return fail(what, v, `a number above ${lowExclusive} and at most ${high}`);
  }
  return n;
}

function analysesOf(fail: Fail, v: unknown): Analysis[] {
  const items = Array.isArray(v) ? v : typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter((s) => s !== '') : undefined;
  if (items === undefined || items.length === 0) return fail('analyses', v, `a comma list of ${ANALYSES.join(', ')}`);
  const out: Analysis[] = [];
  for (const item of items) {
    if (!(ANALYSES as readonly unknown[]).includes(item)) return fail('analyses', item, `one of ${ANALYSES.join(', ')}`);
    if (!out.includes(item as Analysis)) out.push(item as Analysis);
  }
  return out;
}

function radiiOf(fail: Fail, v: unknown): Record<string, number> {
  if (v === undefined || v === null || v === '') return {};
  const entries: [string, unknown][] =
    typeof v === 'string'
      ? v.split(',').filter((s) => s.trim() !== '').map((s) => {
          const eq = s.indexOf('=');
          return eq < 0 ? fail('radii', s, 'ELEMENT=RADIUS') : [s.slice(0, eq).trim(), s.slice(eq + 1).trim()];
        })
      : typeof v === 'object' && !Array.isArray(v)
        ? Object.entries(v as Record<string, unknown>)
        : fail('radii', v, 'a list like C=1.7,N=1.55');
  const out: Record<string, number> = {};
  for (const [sym, r] of entries) {
    const el = elementBySymbol(sym);
    if (el === undefined) return fail('radii', sym, 'an element symbol');
    out[el.symbol] = real(fail, `radii ${el.symbol}`, r, 0, FRAMES_LIMITS.radius);
  }
  return out;
}

function pathOf(fail: Fail, what: string, v: unknown, absoluteOnly: boolean): string {
  if (typeof v !== 'string' || v.trim() === '') return fail(what, v, 'a file path');
  if (absoluteOnly && !isAbsolute(v)) return fail(what, v, 'an absolute path');
  return resolve(v);
}

function validate(o: Record<string, unknown>, fail: Fail, fromWire: boolean): FramesParams {
  if (o.traj === undefined || o.traj === null || o.traj === '') {
    if (fromWire) return fail('traj', o.traj, 'a file path');
    throw new UsageError('--traj is required (a .dcd, .pdb or .xyz trajectory)');
  }
  const traj = pathOf(fail, 'traj', o.traj, fromWire);
  const format = formatFromPath(traj);
  if (format === undefined) return fail('traj', o.traj, 'a trajectory named .dcd, .pdb or .xyz');
  const top = o.top === undefined || o.top === null || o.top === '' ? null : pathOf(fail, 'top', o.top, fromWire);
  if (top !== null && formatFromPath(top) !== 'pdb') return fail('top', o.top, 'a .pdb topology');
  if (format === 'dcd' && top === null) {
    if (fromWire) return fail('top', o.top, 'a topology path (a DCD trajectory carries no elements)');
    throw new UsageError('--top is required with a DCD trajectory (a DCD carries no elements or masses)');
  }
  const select = o.select ?? FRAMES_DEFAULTS.select;
  if (select !== 'all' && select !== 'heavy') return fail('select', select, "'all' or 'heavy'");
  return {
    traj,
    format,
    top,
    analyses: analysesOf(fail, o.analyses ?? FRAMES_DEFAULTS.analyses.join(',')),
    walks: integer(fail, 'walks', o.walks ?? FRAMES_DEFAULTS.walks, 1, FRAMES_LIMITS.walks),
    seed: integer(fail, 'seed', o.seed ?? FRAMES_DEFAULTS.seed, 0, Number.MAX_SAFE_INTEGER),
    threads: integerOrAuto(fail, 'threads', o.threads ?? FRAMES_DEFAULTS.threads, FRAMES_LIMITS.threads),
    chunk: integerOrAuto(fail, 'chunk', o.chunk ?? FRAMES_DEFAULTS.chunk, FRAMES_LIMITS.chunk),
    radii: radiiOf(fail, o.radii),
    refFrame: integer(fail, 'ref-frame', o.refFrame ?? FRAMES_DEFAULTS.refFrame, 0, Number.MAX_SAFE_INTEGER),
    select,
    tolerance: real(fail, 'tolerance', o.tolerance ?? FRAMES_DEFAULTS.tolerance, 0, 0.1),
  };
}

/** Parsed commander options → params. Throws UsageError naming the option and value. */
export function framesParams(opts: Record<string, unknown>): FramesParams {
  return validate(opts, usageFail, false);
}

/** Params received from another process. Throws InputError. */
export function checkFramesParams(raw: unknown): FramesParams {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new InputError(`frames params: expected an object, got ${raw === null ? 'null' : typeof raw}`);
  }
  const p = validate(raw as Record<string, unknown>, wireFail, true);
  const format = (raw as { format?: unknown }).format;
  if (format !== p.format) wireFail('format', format, `'${p.format}' (from the trajectory's extension)`);
  return p;
}
