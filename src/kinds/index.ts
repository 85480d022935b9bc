/**
 * The built-in kinds. Kinds from handler modules (`shoal agent --handlers`) are known only to
 * the agents that load them; the coordinator treats unknown kinds as handler kinds.
 */
import type { Kind } from './types.js';
import { spinKind } from './spin/index.js';
import { commandKind } from './command/index.js';
import { conformersKind } from './conformers/index.js';
import { framesKind } from './frames/index.js';
import { pythonKind } from './python/index.js';

export type { Kind, KindCache, TaskContent, StageShape, TaskSpec, RunContext, RunOutput, Row, ExpandContext, RecordOutput, TaskHalf, BatchTask, BatchContext, BatchResult } from './types.js';
export { readOption, optionParser } from './options.js';
export { addGpusOption, gpuEnv, GpuCount, gpusAsked, readGpusOption } from './gpus.js';
export { FromJobSchema, isStageRef, readFromOption, stageTaskId, type StageRef } from './stage.js';
export { idWidth, numberedIds, PADDED_TO_SIZE, taskListOf, type TaskList } from './task-list.js';
export { cutText, INPUT_TEXT_CHARS, recordInput, taskInput, type TaskInput } from './task-input.js';
export { interpreterStarted, watchInterpreters, type InterpreterStarted } from './interpreters.js';
export { PortInputs, sharedBytes, threadInputs, type InputCache, type InputReply, type InputRequest } from './inputs.js';

const BUILTIN: ReadonlyMap<string, Kind<unknown>> = new Map<string, Kind<unknown>>([
  [spinKind.name, spinKind],
  [conformersKind.name, conformersKind],
  [framesKind.name, framesKind],
  [commandKind.name, commandKind],
  [pythonKind.name, pythonKind],
]);

/** Kinds that run a user's program or code: only agents started with --allow-command run them. */
export const COMMAND_KINDS: ReadonlySet<string> = new Set(['command', 'python']);

export function builtinKinds(): Kind<unknown>[] {
  return [...BUILTIN.values()];
}

export function getKind(name: string): Kind<unknown> | undefined {
  return BUILTIN.get(name);
}
