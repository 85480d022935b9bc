/**
 * Stages: a job whose tasks are the committed rows of another job (`--from JOB`). One task per
 * upstream row (per record of a multi-record task), its input the row's `value`, which travels
 * inside the task's ref (the coordinator has the row; agents need not read the upstream output).
 *
 * Task ids derive from the upstream ids, so the outputs of a chain line up and a resumed stage
 * finds its done tasks: the upstream task's id, plus `.<index>` for a record of a multi-record
 * task (`in_0042.3`).
 */
import { JOB_NAME_PATTERN, JobNameSchema } from '../../protocol/index.js';
import { UsageError } from '../errors.js';

/** What a stage's task carries: the upstream task, its record's index (multi-record tasks), and the row's value. */
export interface StageRef {
  up: string;
  i?: number;
  v: unknown;
}

/** The params field naming the upstream job: a job's name. */
export const FromJobSchema = JobNameSchema;
const JOB_RE = new RegExp(JOB_NAME_PATTERN);

/** Whether a task's ref is a stage's (not a byte range of an inputs file). */
export function isStageRef(ref: unknown): ref is StageRef {
  return typeof ref === 'object' && ref !== null && typeof (ref as StageRef).up === 'string' && 'v' in ref;
}

/** The id of the stage task fed by upstream task `task` (record `index` of it, when it has records). */
export function stageTaskId(task: string, index?: number): string {
  return index === undefined ? task : `${task}.${index}`;
}

/** `--from JOB` as given, checked; undefined when absent. `other`: the option it replaces, which must then be absent. */
export function readFromOption(v: unknown, other: { name: string; value: unknown }): string | undefined {
  if (v === undefined || v === false) return undefined;
  if (typeof v !== 'string' || !JOB_RE.test(v)) throw new UsageError(`--from ${String(v)}: expected the name of a job (letters, digits, '.', '_' or '-')`);
  if (other.value !== undefined && other.value !== false) throw new UsageError(`--from ${v} and ${other.name} both given: a job's tasks come from one of them`);
  return v;
}
