/**
 * The `conformers` kind: generated 3D conformer ensembles against reference ensembles
 * (GEOM-Drugs style COV/AMR), heavy-atom RMSD after superposition, optionally symmetry-corrected
 * with RDKit GetBestRMS semantics.
 *
 * This module is what the command line and every process that knows the kinds load: options,
 * params, split and the summary's lines. Reading SD files, expanding and the RMSD kernels are
 * loaded on the first expand or run.
 */
import type { Kind } from '../types.js';
import { addConformersOptions, checkConformersParams, conformersParams, type ConformersParams } from './params.js';
import { describeConformersSummary, summarizeConformers } from './summarize.js';
import { conformersContent, conformersInput, splitConformersTask } from './task-ref.js';

let expandModule: Promise<typeof import('./expand.js')> | undefined;
let runModule: Promise<typeof import('./run.js')> | undefined;

export const conformersKind: Kind<ConformersParams> = {
  name: 'conformers',
  description: 'evaluate generated conformer ensembles against references (RMSD, COV/AMR)',
  sharesInputs: true,
  // One atom pair of one superposition: ~1e8 per second (3.8 M superpositions/s at 30 atoms).
  secondsPerCost: 1e-8,
  addOptions: addConformersOptions,
  params: conformersParams,
  checkParams: checkConformersParams,
  inputs: (p) => [p.ref, p.gen],
  // Where the two SD files lie does not count: their content does.
  identity: (p) => ({ ...p, ref: undefined, gen: undefined }),
  expand: async (p, ctx) => (await (expandModule ??= import('./expand.js'))).expandConformers(p, ctx),
  split: (task) => splitConformersTask(task),
  cache: { version: 1, content: conformersContent },
  input: conformersInput,
  run: async (ref, p, ctx) => (await (runModule ??= import('./run.js'))).runConformers(ref, p, ctx),
  summarize: summarizeConformers,
  describeSummary: describeConformersSummary,
};

export type { ConformersParams } from './params.js';
export type { ConformersValue } from './run.js';
export type { ConformersSummary, MoleculeSummary } from './summarize.js';
export type { ConformerSet } from './rmsd-qcp.js';
export type { Mappings, SymmetryMode } from './symmetry.js';
