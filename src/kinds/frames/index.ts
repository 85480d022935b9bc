/**
 * The `frames` kind: per-frame analyses of an MD trajectory (DCD, multi-model PDB,
 * multi-frame XYZ) — radius of gyration, centres, superposed RMSD and a walk-on-spheres
 * capacitance (zeno) — with frame chunks as tasks and zeno's walks spread over threads.
 *
 * Importing this module starts nothing: readers open files inside run/expand, and zeno's
 * helper threads start on the first multi-threaded frame.
 */
import type { Kind } from '../types.js';
import { expandFrames } from './expand.js';
import { addFramesOptions, checkFramesParams, framesParams, type FramesParams } from './params.js';
import { runFrames } from './run.js';
import { describeFramesSummary, summarizeFrames } from './summarize.js';

export type { FramesParams } from './params.js';
export type { FrameValue } from './run.js';
export type { FramesRef } from './source.js';
export { framesTaskId } from './expand.js';
export { shutdownZenoHelpers } from './zeno-threads.js';

export const framesKind: Kind<FramesParams> = {
  name: 'frames',
  description: 'per-frame analyses of an MD trajectory (rg, centres, RMSD, zeno capacitance)',
  // Every chunk needs the same atoms and rmsd reference: parsed once per agent (run.ts).
  sharesInputs: true,
  // Cost counts atom operations per frame (zeno walks weighted): ~4 ns each on a current core.
  secondsPerCost: 4e-9,
  addOptions: addFramesOptions,
  params: framesParams,
  checkParams: checkFramesParams,
  inputs: (p) => (p.top === null ? [p.traj] : [p.traj, p.top]),
  expand: expandFrames,
  run: runFrames,
  summarize: (rows) => summarizeFrames(rows),
  describeSummary: describeFramesSummary,
};
