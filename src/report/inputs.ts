/**
 * Which files a report reads: the files it is given, and in each directory it is given every
 * `*.jsonl` that is a shoal output (its first line is a row), such as a pipeline's out dir with
 * one `<stage>.jsonl` per stage. Other `*.jsonl` files there are skipped, each with the reason;
 * files of other names (job records, summaries) are not outputs and are passed over.
 */
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { InputError } from '../errors.js';

export interface ReportInputs {
  /** The files to read, each once: the given ones in order, a directory's by name. */
  files: string[];
  /** A directory's `*.jsonl` files that are not read, and why. */
  skipped: Array<{ file: string; why: string }>;
}

/** An error naming `path` and saying what to do, for a path that cannot be read. */
export function unreadable(path: string, err: unknown): InputError {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return new InputError(`${path}: no such file or directory: give shoal outputs (*.jsonl) or directories holding them`, err);
  if (code === 'EACCES' || code === 'EPERM') return new InputError(`${path}: permission denied: it must be readable by this user`, err);
  return new InputError(`${path}: cannot be read (${(err as Error).message})`, err);
}

/**
 * Why a file is not a shoal output (null when it is one): its first non-empty line must be a
 * JSON object with string `job`, `task` and `kind` and a `status` of "ok" or "error". Reads
 * no further than that line.
 */
export async function notAnOutput(path: string): Promise<string | null> {
  const input = createReadStream(path);
  const lines = createInterface({ input, crlfDelay: Infinity });
  try {
    for await (const line of lines) {
      if (line.trim().length === 0) continue;
      let row: unknown;
      try {
        row = JSON.parse(line);
      } catch {
        return 'its first line is not JSON';
      }
      const r = row as Record<string, unknown> | null;
      const isRow = typeof r === 'object' && r !== null && typeof r.job === 'string' && typeof r.task === 'string' && typeof r.kind === 'string' && (r.status === 'ok' || r.status === 'error');
      return isRow ? null : 'its first line is not a row (job, task, kind, status)';
    }
    return 'it holds no rows yet';
  } catch (err) {
    throw unreadable(path, err);
  } finally {
    lines.close();
    input.destroy();
  }
}

/** The files of `paths` (files and directories); throws InputError naming a path that cannot be read, or when there is nothing to read. */
export async function findInputs(paths: string[]): Promise<ReportInputs> {
  const files: string[] = [];
  const skipped: ReportInputs['skipped'] = [];
  const seen = new Set<string>();
  const take = (f: string): void => {
    if (!seen.has(f)) files.push(f);
    seen.add(f);
  };
  const dirs: string[] = [];
  for (const given of paths) {
    const path = resolve(given);
    const st = await stat(path).catch((err: unknown) => {
      throw unreadable(path, err);
    });
    if (!st.isDirectory()) {
      take(path);
      continue;
    }
    dirs.push(path);
    const names = await readdir(path, { withFileTypes: true }).catch((err: unknown) => {
      throw unreadable(path, err);
    });
    for (const e of names.filter((n) => n.name.endsWith('.jsonl') && !n.isDirectory()).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const file = join(path, e.name);
      if (seen.has(file)) continue;
      const why = await notAnOutput(file);
      if (why === null) take(file);
      else skipped.push({ file, why });
    }
  }
  if (files.length === 0) {
    throw new InputError(`${dirs.join(', ')}: no shoal output in it (a *.jsonl file whose lines are rows): give the out dir of a run or pipeline, or the files themselves`);
  }
  return { files, skipped };
}
