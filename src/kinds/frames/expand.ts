/**
 * Spec → tasks: inspect the trajectory (DCD header, or one indexing pass over a PDB/XYZ),
 * load and check the atoms, check the reference frame, decide threads and chunk, and cut the
 * frames into tasks `frames_<first>-<last>` (zero-padded, see task-id.ts). Refuses the job
 * (InputError) when the inputs cannot work: missing files, atom counts that differ, a missing
 * element or radius, an unreadable reference frame.
 */
import { basename } from 'node:path';
import { InputError } from '../../errors.js';
import type { ExpandContext, TaskSpec } from '../types.js';
import { checkAtoms, loadAtoms } from './atoms.js';
import type { FramesParams } from './params.js';
import { planChunk, planThreads, type JobShape } from './plan.js';
import { inspectTrajectory, openTrajectory, spansFor, type FramesRef, type TrajectoryLayout } from './source.js';
import { framesTaskId } from './task-id.js';

/** Relative cost of one frame (atom operations, with zeno's walks at an empirical weight). */
function frameCost(params: FramesParams, atoms: number): number {
  const cheap = params.analyses.filter((a) => a !== 'zeno').length;
  return atoms * Math.max(1, cheap) + (params.analyses.includes('zeno') ? 40 * params.walks : 0);
}

/** Peak bytes of one task: coordinate buffers, plus the zeno grid. */
function taskMemory(params: FramesParams, atoms: number): number {
  const coords = 4 * 24 * atoms;
  return coords + (params.analyses.includes('zeno') ? 8 * 2 ** 20 + 2000 * atoms : 0);
}

/** Checks that the reference frame exists and can be read (a job whose rmsd cannot work is refused). */
function checkReferenceFrame(params: FramesParams, layout: TrajectoryLayout): void {
  if (!params.analyses.includes('rmsd')) return;
  if (params.refFrame >= layout.nFrames) {
    throw new InputError(`--ref-frame ${params.refFrame}: ${basename(params.traj)} has ${layout.nFrames} frames (0-${layout.nFrames - 1})`);
  }
  const ref: FramesRef = { first: params.refFrame, last: params.refFrame, atoms: layout.nAtoms };
  if (layout.ranges !== null) ref.spans = spansFor(layout.ranges, params.refFrame, params.refFrame, []);
  const reader = openTrajectory(params, ref);
  try {
    reader.readFrame(params.refFrame, new Float64Array(3 * layout.nAtoms));
  } catch (err) {
    if (err instanceof InputError) throw new InputError(`reference frame unreadable: ${err.message}`, err);
    throw err;
  } finally {
    reader.close();
  }
}

/** The frames kind's expand. */
export async function expandFrames(params: FramesParams, ctx: ExpandContext): Promise<TaskSpec[]> {
  const layout = inspectTrajectory(params);
  const extraFrames = [0, ...(params.analyses.includes('rmsd') ? [params.refFrame] : [])];
  const atoms = loadAtoms(params, layout.nAtoms, layout.ranges === null ? [] : spansFor(layout.ranges, 0, 0, []));
  if (atoms.n !== layout.nAtoms) {
    throw new InputError(
      `atom counts differ: topology ${atoms.source} has ${atoms.n} atoms, trajectory ${basename(params.traj)} has ${layout.nAtoms}`,
    );
  }
  checkAtoms(atoms, params);
  checkReferenceFrame(params, layout);

  const shape: JobShape = {
    frames: layout.nFrames,
    atoms: layout.nAtoms,
    zeno: params.analyses.includes('zeno'),
    walks: params.walks,
    slots: ctx.slots,
  };
  const planned = planThreads(shape, params.threads);
  // No agent runs more threads per task than it has slots.
  const cap = ctx.maxAgentSlots ?? 0;
  const threads = params.threads === 'auto' && cap > 0 && planned.value > cap ? { value: cap, reason: `${planned.reason}; capped at ${cap}, the largest agent's slots` } : planned;
  const chunk = planChunk(shape, threads.value, params.chunk);
  ctx.info(
    `frames: ${basename(params.traj)} (${params.format}, ${layout.nAtoms} atoms, ${layout.nFrames} frames), ` +
      `analyses ${params.analyses.join(',')}`,
    { job: ctx.job, frames: layout.nFrames, atoms: layout.nAtoms },
  );
  for (const note of layout.notes) ctx.info(note, { job: ctx.job });
  if (shape.zeno) ctx.info(`threads ${params.threads} → ${threads.value}: ${threads.reason}`, { job: ctx.job, threads: threads.value });
  if (params.chunk === 'auto') {
    ctx.info(`chunk auto → ${chunk.value}: ${chunk.reason} (resumes of this job plan for the same slots, so task ids stay)`, {
      job: ctx.job,
      chunk: chunk.value,
    });
  }

  const perFrame = frameCost(params, layout.nAtoms);
  const memory = taskMemory(params, layout.nAtoms);
  const tasks: TaskSpec[] = [];
  for (let first = 0; first < layout.nFrames; first += chunk.value) {
    const last = Math.min(layout.nFrames, first + chunk.value) - 1;
    const ref: FramesRef = { first, last, atoms: layout.nAtoms };
    if (layout.ranges !== null) ref.spans = spansFor(layout.ranges, first, last, extraFrames);
    const task: TaskSpec = { id: framesTaskId(first, last, layout.nFrames), cost: (last - first + 1) * perFrame, memory, ref };
    if (threads.value > 1) task.threads = threads.value;
    tasks.push(task);
  }
  return tasks;
}
