/**
 * The `frames` kind: per-frame analyses of an MD trajectory (DCD, multi-model PDB,
 * multi-frame XYZ) — radius of gyration, centres, superposed RMSD and a walk-on-spheres
 * capacitance (zeno) — with frame chunks as tasks and zeno's walks spread over threads.
 *
 * Importing this module starts nothing and loads only options, params and the summary: the
 * trajectory readers and the analyses are loaded on the first expand or run, and zeno's helper
 * threads start on the first multi-threaded frame.
 */
import type { Kind } from '../types.js';
import { PADDED_TO_SIZE } from '../task-list.js';
import { addFramesOptions, checkFramesParams, framesParams, type FramesParams } from './params.js';
import type { FramesRef } from './source.js';
import { describeFramesSummary, summarizeFrames } from './summarize.js';

export type { FramesParams } from './params.js';
export type { FrameValue } from './run.js';
export type { FramesRef } from './source.js';
export { framesTaskId } from './task-id.js';

let expandModule: Promise<typeof import('./expand.js')> | undefined;
let runModule: Promise<typeof import('./run.js')> | undefined;

/** Stops zeno's helper threads in this thread (they also stop by themselves when idle). */
export async function shutdownZenoHelpers(): Promise<void> {
  await (await import('./zeno-threads.js')).shutdownZenoHelpers();
}

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
  // The files' content counts, not where they lie (`format` stays: it says how the trajectory is read).
  identity: (p) => ({ ...p, traj: undefined, top: undefined }),
  // The trajectory and topology count whole (a frame's bytes are not a range of their own in
  // every format); a task by its frames.
  cache: { version: 1, files: (p) => (p.top === null ? [p.traj] : [p.traj, p.top]), content: (ref) => ({ ranges: [], rest: ref }) },
  idRule: () => PADDED_TO_SIZE,
  // The chunk's frames, both included.
  input: (ref) => {
    const r = ref as FramesRef | null;
    return typeof r?.first === 'number' && typeof r.last === 'number' ? { first: r.first, last: r.last } : null;
  },
  expand: async (p, ctx) => (await (expandModule ??= import('./expand.js'))).expandFrames(p, ctx),
  run: async (ref, p, ctx) => (await (runModule ??= import('./run.js'))).runFrames(ref, p, ctx),
  summarize: (rows) => summarizeFrames(rows),
  describeSummary: describeFramesSummary,
};
