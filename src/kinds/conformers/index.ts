/**
 * The `conformers` kind: generated 3D conformer ensembles against reference ensembles
 * (GEOM-Drugs style COV/AMR), heavy-atom RMSD after superposition, optionally symmetry-corrected
 * with RDKit GetBestRMS semantics.
 */
import type { Kind } from '../types.js';
import { expandConformers, splitConformersTask } from './expand.js';
import { addConformersOptions, checkConformersParams, conformersParams, type ConformersParams } from './params.js';
import { runConformers } from './run.js';
import { describeConformersSummary, summarizeConformers } from './summarize.js';

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
  expand: expandConformers,
  split: (task) => splitConformersTask(task),
  run: runConformers,
  summarize: summarizeConformers,
  describeSummary: describeConformersSummary,
};

export type { ConformersParams } from './params.js';
export type { ConformersValue } from './run.js';
export type { ConformersSummary, MoleculeSummary } from './summarize.js';
export { rmsdMatrix, prepareConformers, preparePairings, rmsdRows, bestRmsdRows, type ConformerSet } from './rmsd-qcp.js';
export { selfMappings, type Mappings, type SymmetryMode } from './symmetry.js';
export { moleculeTaskId, blockTaskId } from './expand.js';
