/**
 * What a job's fingerprint counts: its input files (their content) and what of its params makes
 * its results what they are (the kind's `identity`: no paths of the inputs, no mtimes). Handler
 * kinds are not built in: their params are the user's `--params`, the inputs file (path, format,
 * stamp) or the upstream job (`from`).
 */
import { handlerFrom, handlerInputs } from '../../src/kinds/handlers/index.js';
import { currentStamp } from '../../src/kinds/records/index.js';
import { PADDED_TO_SIZE, type Kind } from '../../src/kinds/index.js';

/** The files and the params that make up a job's fingerprint. */
export interface JobIdentity {
  /** The input files, in the kind's order. */
  files: string[];
  /** What of the params counts, with keys the refusal can name (`--params KEY` for handler kinds' `params`). */
  identity: unknown;
  /** The rule its task ids follow, where it is not the first one (the kind's `idRule`). */
  ids?: string;
}

/** The identity of a job of kind `kind` (null: a handler kind) with `params`. Throws InputError for params that do not check. */
export function identityOf(kindName: string, kind: Kind<unknown> | null, params: unknown): JobIdentity {
  if (kind) {
    const p = kind.checkParams(params);
    const ids = kind.idRule?.(p);
    return { files: kind.inputs(p), identity: kind.identity ? kind.identity(p) : p, ...(ids !== undefined ? { ids } : {}) };
  }
  const from = handlerFrom(kindName, params);
  const { inputs: _inputs, from: _from, ...user } = params as Record<string, unknown>;
  if (from !== undefined) return { files: [], identity: { params: user, from } };
  const src = handlerInputs(kindName, params);
  // One task per record, numbered.
  return { files: [src.file], identity: { params: user, format: src.format }, ids: PADDED_TO_SIZE };
}

/**
 * `params` with the stamps of the job's files taken again (the kind's `restamp`), for a job
 * resumed on files that were written again with the same bytes. Throws InputError.
 */
export function restampOf(kindName: string, kind: Kind<unknown> | null, params: unknown): unknown {
  if (kind) return kind.restamp ? kind.restamp(kind.checkParams(params)) : params;
  if (handlerFrom(kindName, params) !== undefined) return params;
  const src = handlerInputs(kindName, params);
  return { ...(params as Record<string, unknown>), inputs: { ...src, ...currentStamp(src.file) } };
}
