/**
 * What a task was given, as its error rows show it in their `input` field: small and
 * kind-specific, so a failed row can be traced to its line, record, frames or molecule without
 * the job's files (`{"record": 41, "line": 42, "text": "CCO ethanol"}`). Made only for error
 * rows, wherever they are made (a worker, the agent, the coordinator), from the task's ref and
 * its job's params; a record's text is read from its file then. A long text is cut to
 * INPUT_TEXT_CHARS characters and marked `truncated: true`.
 *
 * A kind says what its tasks were given with `Kind.input`; a stage's task (`--from`) gives its
 * upstream task and value, a task of a kind of one's own that reads records (`--inputs`) its
 * record, and any other its ref as JSON text.
 */
import { recordExcerpt } from './records/excerpt.js';
import type { RecordRef } from './records/index.js';
import { isStageRef } from './stage.js';
import type { Kind } from './types.js';

/** The `input` of an error row: a flat object of a few fields. */
export type TaskInput = Record<string, unknown>;

/** The most characters of a text an `input` keeps. */
export const INPUT_TEXT_CHARS = 1000;

/** `text` cut to `max` characters (never half a surrogate pair), with `truncated: true` when it was cut. */
export function cutText(text: string, more = false, max = INPUT_TEXT_CHARS): { text: string; truncated?: true } {
  if (text.length <= max && !more) return { text };
  let end = Math.min(max, text.length);
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return { text: text.slice(0, end), truncated: true };
}

function isRecordRef(r: unknown): r is RecordRef & { i?: number } {
  const x = r as RecordRef | null;
  return typeof x === 'object' && x !== null && Number.isSafeInteger(x.s) && Number.isSafeInteger(x.e) && Number.isSafeInteger(x.line);
}

/** Where a job's records lie: a file with the size and mtime it had when the job was made. */
export interface RecordSource {
  file: string;
  size: number;
  mtimeMs: number;
}

function isRecordSource(v: unknown): v is RecordSource {
  const x = v as RecordSource | null;
  return typeof x === 'object' && x !== null && typeof x.file === 'string' && typeof x.size === 'number' && typeof x.mtimeMs === 'number';
}

/**
 * The input of a task that reads one record of `src` (a line of --args, a record of --inputs):
 * its number among the records when the ref has one (`record`, from 0), its line (from 1) and
 * its text, as the file holds it (no text when the file changed since the job was made).
 */
export function recordInput(src: RecordSource | null | undefined, ref: unknown): TaskInput | null {
  if (!isRecordRef(ref)) return null;
  const out: TaskInput = typeof ref.i === 'number' ? { record: ref.i, line: ref.line } : { line: ref.line };
  const text = src ? recordExcerpt(src, ref, INPUT_TEXT_CHARS) : null;
  return text === null ? out : { ...out, ...cutText(text.text, text.more) };
}

/** A value as text: a string as it is, anything else as JSON. */
function asText(v: unknown): string {
  if (typeof v === 'string') return v;
  try {
    return JSON.stringify(v) ?? 'null';
  } catch {
    return String(v);
  }
}

/**
 * The `input` of task `ref` of a job of kind `kind` (null or undefined: a kind this process
 * does not have, as handler kinds at the coordinator) with `params` (checked by the kind, where
 * it has them). Null when nothing can be said; it never throws.
 */
export function taskInput(kind: Pick<Kind<unknown>, 'input'> | null | undefined, params: unknown, ref: unknown): TaskInput | null {
  try {
    // An upstream error row (or a value too large to carry) gives its stage task no value: null.
    if (isStageRef(ref)) return { upstream: ref.up, ...(ref.i !== undefined ? { index: ref.i } : {}), ...(ref.v === null ? {} : cutText(asText(ref.v))) };
    if (kind?.input) return kind.input(ref, params);
    const inputs = (params as { inputs?: unknown } | null)?.inputs;
    if (isRecordSource(inputs) && isRecordRef(ref)) return recordInput(inputs, ref);
    return ref === undefined ? null : cutText(asText(ref));
  } catch {
    return null;
  }
}
