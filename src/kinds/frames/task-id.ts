/**
 * The ids of frames tasks: a frame range `frames_<first>-<last>`, both numbers zero-padded to
 * the digits of the trajectory's frame count (`frames_0000-0099` of 1,000 frames), so that
 * string order is frame order.
 */
import { idWidth } from '../task-list.js';

/** Deterministic task id of a frame range of a trajectory of `frames` frames. */
export function framesTaskId(first: number, last: number, frames: number): string {
  const width = idWidth(frames);
  return `frames_${String(first).padStart(width, '0')}-${String(last).padStart(width, '0')}`;
}

/** The frame range a task id names (padded or not), or undefined when it is not a frames task id. */
export function parseFramesTaskId(id: string): [number, number] | undefined {
  const m = /^frames_(\d+)-(\d+)$/.exec(id);
  return m === null ? undefined : [Number(m[1]), Number(m[2])];
}
