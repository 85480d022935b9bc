/**
 * Command job → tasks: one per non-blank line of the --args file, id from the line number. The
 * file is indexed once (records/, txt format): each task carries its line's byte range and
 * number, and the worker reads the line when the task runs.
 */
import { ErrorCode, InputError, ShoalError } from '../../errors.js';
import { indexRecords, type RecordRef } from '../records/index.js';
import { idWidth, type TaskList } from '../task-list.js';
import type { TaskSpec } from '../types.js';
import type { CommandParams } from './params.js';

/** What a command task carries: its line's byte range in the --args file and its number there (from 1). */
export type CommandRef = RecordRef;

/**
 * Task ids are `line_<n>` with the line's number in the file, zero-padded to the digits of the
 * file's last line number (`line_0042` of a 1,000-line file), so that string order is line order.
 */
export function commandTaskId(n: number, width: number): string {
  return `line_${String(n).padStart(width, '0')}`;
}

/** The tasks by number: no object per waiting line, whatever the length of the list. */
export async function expandCommandList(p: CommandParams): Promise<TaskList> {
  if (!p.argsFile || !p.argsStamp) throw new ShoalError(ErrorCode.Internal, `a command job --from ${p.from} is expanded by the coordinator from that job's rows`);
  const index = await indexRecords(p.argsFile, 'txt', { stamp: p.argsStamp, what: '--args ' });
  if (index.count === 0) throw new InputError(`--args ${p.argsFile} has no non-blank line: nothing to run`);
  const width = idWidth(index.lines);
  const fields = { threads: p.threads, ...(p.memory > 0 ? { memory: p.memory } : {}), ...(p.gpus > 0 ? { gpus: p.gpus } : {}) };
  return {
    length: index.count,
    at(i) {
      const ref: CommandRef = index.ref(i);
      return { id: commandTaskId(ref.line, width), cost: 1, ...fields, ref };
    },
    costAt: () => 1,
    indexOf(id) {
      if (!/^line_\d+$/.test(id)) return -1;
      const i = index.indexOfLine(Number(id.slice(5)));
      return i >= 0 && commandTaskId(index.ref(i).line, width) === id ? i : -1;
    },
  };
}

export async function expandCommand(p: CommandParams): Promise<TaskSpec[]> {
  const list = await expandCommandList(p);
  return Array.from({ length: list.length }, (_, i) => list.at(i));
}
