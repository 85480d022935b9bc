/**
 * The inputs of a handler job: a file of records (records/), named in the job's params by path,
 * format and stamp, never the records themselves, so a submit stays small whatever the file's
 * size. The coordinator expands the job without the handler's module: one task per record,
 * `task_<i>`, cost 1.
 */
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { InputError } from '../../errors.js';
import { indexRecords, recordTasks, RecordFileSchema, type RecordFile } from '../records/index.js';
import type { TaskList } from '../task-list.js';

/** Params of a handler job as they travel: the user's --params plus the inputs file, or the job whose rows are its tasks (`from`). */
export interface HandlerJobParams {
  inputs?: RecordFile;
  from?: string;
  [key: string]: unknown;
}

/** The upstream job a handler job's params name (`from`: its tasks are that job's rows), or undefined. */
export function handlerFrom(kind: string, params: unknown): string | undefined {
  const from = (params as { from?: unknown } | null)?.from;
  if (from === undefined) return undefined;
  if (typeof from !== 'string' || from === '' || /[\s/]/.test(from)) throw new InputError(`kind '${kind}': params 'from' must name a job, got ${JSON.stringify(from)}`);
  return from;
}

let check: ReturnType<typeof TypeCompiler.Compile<typeof RecordFileSchema>> | undefined;

/** The inputs file of a handler job's params. Throws InputError naming the kind and what is missing. */
export function handlerInputs(kind: string, params: unknown): RecordFile {
  const inputs = (params as { inputs?: unknown } | null)?.inputs;
  check ??= TypeCompiler.Compile(RecordFileSchema);
  if (check.Check(inputs)) return inputs;
  const why = Array.isArray(inputs) ? 'a list of inputs (from an older shoal: submit the job again)' : inputs === undefined ? 'nothing' : JSON.stringify(inputs);
  throw new InputError(`kind '${kind}' is not built in: its params need 'inputs' naming a file of records ({ file, format, size, mtimeMs }: submit --inputs FILE), got ${why}`);
}

/** A handler job's tasks: one per record of its inputs file, `task_<record number>`. */
export async function expandHandlerJob(kind: string, params: unknown): Promise<TaskList> {
  const src = handlerInputs(kind, params);
  const index = await indexRecords(src.file, src.format, { stamp: { size: src.size, mtimeMs: src.mtimeMs }, what: '--inputs ' });
  if (index.count === 0) throw new InputError(`--inputs ${src.file} has no records: nothing to run`);
  return recordTasks(index, { prefix: 'task_' });
}
