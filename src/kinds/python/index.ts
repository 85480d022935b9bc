/**
 * The `python` kind: a user's Python function per input record, in long-lived interpreters
 * (one per agent slot, kept for the job; see run.ts and python/shoal_worker.py). Inputs come
 * from a file by byte range (src/kinds/records), so no input travels inside a message.
 */
import type { Kind, TaskSpec } from '../types.js';
import { recordInput } from '../task-input.js';
import { PADDED_TO_SIZE, type TaskList } from '../task-list.js';
import { currentStamp, indexRecords, recordContent, recordTasks, type RecordRef } from '../records/index.js';
import { addPythonOptions, checkPythonParams, pythonParams, type PythonParams } from './params.js';
import { runPythonBatch } from './run.js';
import { describePythonSummary, summarizePython } from './summarize.js';
import { ErrorCode, ShoalError } from '../../errors.js';

async function expandList(p: PythonParams): Promise<TaskList> {
  if (!p.inputs) throw new ShoalError(ErrorCode.Internal, `a python job --from ${p.from} is expanded by the coordinator from that job's rows`);
  const index = await indexRecords(p.inputs.file, p.inputs.format, { stamp: p.inputs, what: '--inputs ' });
  return recordTasks(index, { prefix: 'in_', threads: p.threads, memory: p.memory, gpus: p.gpus });
}

export const pythonKind: Kind<PythonParams> = {
  name: 'python',
  description: "call a Python function once per input record, in long-lived interpreters (setup() once each)",
  addOptions: addPythonOptions,
  params: pythonParams,
  checkParams: checkPythonParams,
  inputs: (p) => [...(p.inputs ? [p.inputs.file] : []), ...(p.fn.includes('.py:') ? [p.fn.slice(0, p.fn.lastIndexOf(':'))] : [])],
  // The inputs' and the .py file's content counts, not where they lie: of --inputs its format
  // stays, of --fn FILE.py:NAME the name. --cwd and --python count.
  identity: (p) => ({
    ...p,
    inputs: undefined,
    format: p.inputs?.format,
    fn: p.fn.includes('.py:') ? p.fn.slice(p.fn.lastIndexOf(':')) : p.fn,
  }),
  // Ids of --inputs records are numbered; a --from job's are its upstream's.
  idRule: (p) => (p.inputs ? PADDED_TO_SIZE : undefined),
  restamp: (p) => (p.inputs ? { ...p, inputs: { ...p.inputs, ...currentStamp(p.inputs.file) } } : p),
  expandList,
  // The function's source file counts whole; each task's record by its bytes.
  cache: {
    version: 1,
    files: (p) => (p.fn.includes('.py:') ? [p.fn.slice(0, p.fn.lastIndexOf(':'))] : []),
    content: (ref, p) => (p.inputs ? recordContent(p.inputs, ref as RecordRef) : null),
  },
  // The record of --inputs: `{ record, line, text }`.
  input: (ref, p) => recordInput(p.inputs, ref),
  stage: (p) => (p.from === undefined ? null : { from: p.from, threads: p.threads, memory: p.memory, gpus: p.gpus }),
  async expand(p): Promise<TaskSpec[]> {
    const list = await expandList(p);
    return Array.from({ length: list.length }, (_, i) => list.at(i));
  },
  run() {
    // Python tasks run only in batches, one interpreter per slot.
    return Promise.reject(new ShoalError(ErrorCode.Internal, 'python tasks run through runBatch'));
  },
  runBatch: runPythonBatch,
  summarize: summarizePython,
  describeSummary: describePythonSummary,
};

export type { PythonParams } from './params.js';
export { pythonEnv } from './run.js';
