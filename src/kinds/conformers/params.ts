/**
 * The conformers kind's options: commander flags, their validation into params, and the check
 * of params that arrive over the wire.
 */
import type { CommandUnknownOpts } from '@commander-js/extra-typings';
import { Type, type Static } from '@sinclair/typebox';
import { resolve } from 'node:path';
import { InputError, UsageError } from '../../errors.js';
import { AbsolutePath, helpDefault, paramsCheck, readOption } from '../options.js';
import type { SymmetryMode } from './symmetry.js';

const BlockRows = Type.Integer({ minimum: 0 });

/** Parameters of a conformers job (they travel with the job to every agent): type, defaults, check. */
export const ConformersParamsSchema = Type.Object({
  /** Reference SDF, absolute path. */
  ref: AbsolutePath,
  /** Generated SDF, absolute path. */
  gen: AbsolutePath,
  /** Coverage thresholds δ in Å, in the order given. */
  thresholds: Type.Array(Type.Number({ exclusiveMinimum: 0, expected: 'a positive number of Å' }), { minItems: 1, default: [0.75] }),
  /** Atom pairing: by index (`none`), RDKit GetBestRMS (`default`), automorphisms only (`strict`). */
  symmetry: Type.Union([Type.Literal('none'), Type.Literal('default'), Type.Literal('strict')], { default: 'none' }),
  /**
   * How generated atoms find the reference's: by index (each generated record lists its atoms
   * in the reference's order), or by the molecular graph (any order, per record). `graph` needs a
   * symmetry mode; the command line sets it with --symmetry. Params without it (an earlier
   * shoal's) match by index.
   */
  match: Type.Union([Type.Literal('index'), Type.Literal('graph')], { default: 'index' }),
  /** Also output the RMSD matrix. */
  matrix: Type.Boolean({ default: false }),
  /** SD tag that holds the molecule key; null: the title line. */
  keyTag: Type.Union([Type.String({ minLength: 1 }), Type.Null()], { default: null }),
  /** Reference rows per block; null: automatic; 0: never split. */
  blockRows: Type.Union([BlockRows, Type.Null()], { default: null }),
  /** Cap on atom mappings per molecule with symmetry (RDKit's maxMatches). */
  maxMatches: Type.Integer({ minimum: 1, default: 1_000_000 }),
});
export type ConformersParams = Static<typeof ConformersParamsSchema>;

const P = ConformersParamsSchema.properties;

export function addConformersOptions(cmd: CommandUnknownOpts): void {
  cmd
    .option('--ref <file>', 'reference conformers, a V2000 SD file (required)')
    .option('--gen <file>', 'generated conformers, a V2000 SD file (required)')
    .option('--threshold <list>', 'coverage threshold(s) in Å, comma-separated', helpDefault(P.thresholds))
    .option('--symmetry [mode]', "symmetry-corrected RMSD: no value = RDKit GetBestRMS default (conjugated terminal groups symmetrized), 'strict' = graph automorphisms only; implies --match graph")
    .option('--match <how>', "how generated atoms pair with the reference's: 'index' (same order; the default without --symmetry) or 'graph' (any order, by the molecular graph, as GetBestRMS; implies --symmetry)")
    .option('--matrix', 'also write the full RMSD matrix of each molecule')
    .option('--key-tag <name>', 'group records by this SD tag instead of the title line')
    .option('--block-rows <n>', 'split molecules into blocks of N reference rows (0: never split; default: automatic)')
    .option('--max-matches <n>', 'cap on atom mappings per molecule with --symmetry', helpDefault(P.maxMatches));
}

function parseSymmetry(raw: unknown): SymmetryMode {
  if (raw === undefined || raw === false) return 'none';
  if (raw === true || raw === 'default') return 'default';
  if (raw === 'strict' || raw === 'none') return raw;
  throw new UsageError(`--symmetry ${String(raw)}: expected no value, 'default', 'strict' or 'none'`);
}

/**
 * --match and --symmetry together: graph matching takes the minimum over every mapping of the
 * generated atoms onto the reference's (GetBestRMS), so it needs a symmetry mode (default
 * unless one is given); --symmetry matches by graph unless `--match index` keeps the atoms by
 * index (the reference's own symmetries only).
 */
function matchAndSymmetry(rawMatch: unknown, rawSymmetry: unknown): { symmetry: SymmetryMode; match: ConformersParams['match'] } {
  const symmetry = parseSymmetry(rawSymmetry);
  if (rawMatch === undefined) return { symmetry, match: symmetry === 'none' ? 'index' : 'graph' };
  if (rawMatch !== 'index' && rawMatch !== 'graph') throw new UsageError(`--match ${String(rawMatch)}: expected 'index' or 'graph'`);
  if (rawMatch === 'index') return { symmetry, match: 'index' };
  if (rawSymmetry === 'none') throw new UsageError('--match graph with --symmetry none: graph matching takes the best of every atom mapping; drop --symmetry none, or use --match index');
  return { symmetry: symmetry === 'none' ? 'default' : symmetry, match: 'graph' };
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
    thresholds: [...new Set(readOption('--threshold', P.thresholds, opts.threshold))],
    ...matchAndSymmetry(opts.match, opts.symmetry),
    matrix: opts.matrix === true,
    keyTag: typeof keyTag === 'string' ? keyTag.trim() : null,
    blockRows: opts.blockRows === undefined ? null : readOption('--block-rows', BlockRows, opts.blockRows),
    maxMatches: readOption('--max-matches', P.maxMatches, opts.maxMatches),
  };
}

const checkSchema = paramsCheck('conformers', ConformersParamsSchema);

/** Validates params received from another process. Throws InputError naming the field. */
export function checkConformersParams(raw: unknown): ConformersParams {
  const p = checkSchema(raw);
  if (p.match === 'graph' && p.symmetry === 'none') throw new InputError("conformers params: match 'graph' needs symmetry 'default' or 'strict', got 'none'");
  return p;
}
