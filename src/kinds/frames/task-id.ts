/** The ids of frames tasks: a frame range `frames_<first>-<last>`. */

/** Deterministic task id of a frame range. */
export function framesTaskId(first: number, last: number): string {
  return `frames_${first}-${last}`;
}

/** The frame range a task id names, or undefined when it is not a frames task id. */
export function parseFramesTaskId(id: string): [number, number] | undefined {
  const m = /^frames_(\d+)-(\d+)$/.exec(id);
  return m === null ? undefined : [Number(m[1]), Number(m[2])];
}
