/**
 * The conformers kind's options: commander flags, their validation into params, and the check
 * of params that arrive over the wire.
 */
import type { CommandUnknownOpts } from '@commander-js/extra-typings';
import { isAbsolute, resolve } from 'node:path';
import { InputError, UsageError } from '../../errors.js';
import type { SymmetryMode } from './symmetry.js';

/** Validated parameters of a conformers job (they travel with the job to every agent). */
export interface ConformersParams {
  /** Reference SDF, absolute path. */
  ref: string;
  /** Generated SDF, absolute path. */
  gen: string;
  /** Coverage thresholds δ in Å, in the order given (default [0.75]). */
  thresholds: number[];
  /** Atom pairing: by index (`none`, default), RDKit GetBestRMS (`default`), automorphisms only (`strict`). */
  symmetry: SymmetryMode;
  /** Also output the RMSD matrix (default false). */
  matrix: boolean;
  /** SD tag that holds the molecule key; null: the title line (default). */
  keyTag: string | null;
  /** Reference rows per block; null: automatic; 0: never split. */
  blockRows: number | null;
  /** Cap on atom mappings per molecule with symmetry (RDKit's maxMatches; default 1,000,000). */
  maxMatches: number;
}

/** Defaults, in one place. */
export const CONFORMERS_DEFAULTS = {
  thresholds: [0.75],
  symmetry: 'none' as SymmetryMode,
  matrix: false,
  keyTag: null,
  blockRows: null,
  maxMatches: 1_000_000,
} as const;

export function addConformersOptions(cmd: CommandUnknownOpts): void {
  cmd
    .option('--ref <file>', 'reference conformers, a V2000 SD file (required)')
    .option('--gen <file>', 'generated conformers, a V2000 SD file (required)')
    .option('--threshold <list>', 'coverage threshold(s) in Å, comma-separated', '0.75')
    .option('--symmetry [mode]', "symmetry-corrected RMSD: no value = RDKit GetBestRMS default (conjugated terminal groups symmetrized), 'strict' = graph automorphisms only")
    .option('--matrix', 'also write the full RMSD matrix of each molecule')
    .option('--key-tag <name>', 'group records by this SD tag instead of the title line')
    .option('--block-rows <n>', 'split molecules into blocks of N reference rows (0: never split; default: automatic)')
    .option('--max-matches <n>', 'cap on atom mappings per molecule with --symmetry', '1000000');
}

function parseThresholds(raw: unknown): number[] {
  const text = raw === undefined ? '0.75' : String(raw);
  const out: number[] = [];
  for (const part of text.split(',')) {
    const t = part.trim();
    const v = Number(t);
    if (t === '' || !/^[0-9.eE+-]+$/.test(t) || !Number.isFinite(v) || v <= 0) {
      throw new UsageError(`--threshold ${text}: '${t}' is not a positive number of Å`);
    }
    if (!out.includes(v)) out.push(v);
  }
  return out;
}

function parseSymmetry(raw: unknown): SymmetryMode {
  if (raw === undefined || raw === false) return 'none';
  if (raw === true || raw === 'default') return 'default';
  if (raw === 'strict' || raw === 'none') return raw;
  throw new UsageError(`--symmetry ${String(raw)}: expected no value, 'default', 'strict' or 'none'`);
}

function parseCount(raw: unknown, option: string, min: number): number {
  const text = String(raw).trim();
  const v = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(v) || v < min) {
    throw new UsageError(`${option} ${String(raw)}: expected a whole number ≥ ${min}`);
  }
  return v;
}

/** Commander options → params (paths made absolute). Throws UsageError naming the option. */
export function conformersParams(opts: Record<string, unknown>): ConformersParams {
  const path = (name: 'ref' | 'gen'): string => {
    const v = opts[name];
    if (typeof v !== 'string' || v.trim() === '') throw new UsageError(`--${name} is required: the ${name === 'ref' ? 'reference' : 'generated'} SD file`);
    return resolve(v);
  };
  const keyTag = opts.keyTag;
  if (keyTag !== undefined && (typeof keyTag !== 'string' || keyTag.trim() === '' || /[<>]/.test(keyTag))) {
    throw new UsageError(`--key-tag ${String(keyTag)}: expected an SD tag name (without < >)`);
  }
  return {
    ref: path('ref'),
    gen: path('gen'),
    thresholds: parseThresholds(opts.threshold),
    symmetry: parseSymmetry(opts.symmetry),
    matrix: opts.matrix === true,
    keyTag: typeof keyTag === 'string' ? keyTag.trim() : null,
    blockRows: opts.blockRows === undefined ? null : parseCount(opts.blockRows, '--block-rows', 0),
    maxMatches: opts.maxMatches === undefined ? CONFORMERS_DEFAULTS.maxMatches : parseCount(opts.maxMatches, '--max-matches', 1),
  };
}

/** Validates params received from another process. Throws InputError. */
export function checkConformersParams(raw: unknown): ConformersParams {
  const bad = (what: string): never => {
    throw new InputError(`conformers params: ${what}`);
  };
  if (typeof raw !== 'object' || raw === null) return bad('not an object');
  const p = raw as Record<string, unknown>;
  for (const f of ['ref', 'gen'] as const) {
    if (typeof p[f] !== 'string' || !isAbsolute(p[f] as string)) bad(`${f} must be an absolute path`);
  }
  const t = p.thresholds;
  if (!Array.isArray(t) || t.length === 0 || !t.every((v) => typeof v === 'number' && Number.isFinite(v) && v > 0)) {
    bad('thresholds must be a non-empty list of positive numbers');
  }
  if (p.symmetry !== 'none' && p.symmetry !== 'default' && p.symmetry !== 'strict') bad(`symmetry '${String(p.symmetry)}' is not none, default or strict`);
  if (typeof p.matrix !== 'boolean') bad('matrix must be a boolean');
  if (p.keyTag !== null && (typeof p.keyTag !== 'string' || p.keyTag === '')) bad('keyTag must be null or a tag name');
  if (p.blockRows !== null && !(Number.isSafeInteger(p.blockRows) && (p.blockRows as number) >= 0)) bad('blockRows must be null or a whole number ≥ 0');
  if (!(Number.isSafeInteger(p.maxMatches) && (p.maxMatches as number) >= 1)) bad('maxMatches must be a whole number ≥ 1');
  return {
    ref: p.ref as string,
    gen: p.gen as string,
    thresholds: [...(t as number[])],
    symmetry: p.symmetry as SymmetryMode,
    matrix: p.matrix as boolean,
    keyTag: p.keyTag as string | null,
    blockRows: p.blockRows as number | null,
    maxMatches: p.maxMatches as number,
  };
}
