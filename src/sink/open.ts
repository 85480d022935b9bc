/**
 * Opening a job's output for the sink (owner lock, checks of what is already in the file,
 * the journal scan that rebuilds what is done), its summary folded while it runs and written
 * when it closes.
 */
import { writeWhole } from '../write-whole.js';
import type { Logger } from '../log.js';
import { SummaryRun, type SummaryFollower } from './summary-run.js';
import { formatProblems, hasProblems, scanJournal } from './journal.js';
import { InputError } from '../errors.js';
import { acquireOwnerLock } from '../owner-lock.js';
import { summaryPathFor } from './paths.js';
import type { TaskStatusSet } from './task-set.js';
import type { JobWriter, OutputFile, OutputFs } from './writer.js';
import type { OpenRequest } from './sink.js';

export interface OpenedOutput {
  file: OutputFile;
  size: number;
  done: TaskStatusSet;
  rows: number;
  /** Error rows among the committed tasks' rows. */
  errorRows: number;
  /** Bytes of a torn tail cut off. */
  repaired: number;
  /** Gives up the output's lock. */
  release(): Promise<void>;
}

/**
 * Takes the output's lock, checks what the file already holds, rebuilds the set of committed
 * tasks, cuts a torn tail and opens the file for appending. Refuses (a ShoalError naming the
 * file) a non-empty file that is not a shoal output, and one with lines that are not rows of
 * this job, duplicate rows or incomplete record sets (`shoal repair` cleans it); `force`
 * accepts both.
 */
export async function openOutput(req: OpenRequest, fs: OutputFs, onLost: (err: Error) => void): Promise<OpenedOutput> {
  const lock = await acquireOwnerLock(req.out, { kind: 'file', role: 'sink', detail: `job ${req.job}`, onLost });
  try {
    const scan = await scanJournal(req.out, req.job, false, req.numbers);
    if (!req.force && scan.firstLine === 'other') {
      throw new InputError(`${req.out} is not empty and is not a shoal output (its first line is not a row): refusing to write to it. Choose another --out, or pass --force to append to it anyway`);
    }
    if (!req.force && hasProblems(scan.problems)) {
      throw new InputError(`${req.out} has ${formatProblems(scan.problems, req.job)}: refusing to resume job ${req.job} into it. Run 'shoal repair ${req.out}' (it keeps the first row of each task and moves the other lines aside), then run again`);
    }
    const { file, size } = await fs.open(req.out);
    // The torn tail (a crash mid-write) goes; only a shoal output's, never a stranger's last line.
    let repaired = 0;
    if (scan.repairedBytes > 0 && scan.firstLine === 'row' && size === scan.size) {
      await file.truncate(size - scan.repairedBytes);
      repaired = scan.repairedBytes;
    }
    return { file, size: size - repaired, done: scan.done, rows: scan.rows, errorRows: scan.errorRows, repaired, release: () => lock.release() };
  } catch (err) {
    await lock.release();
    throw err;
  }
}

/**
 * The kind's figures over the job's rows, folded as they become durable (summary-run.ts): started
 * when the output opens, `follower.end()` once it closes. A summary that fails gives
 * `{ summaryError }` (logged), never a rejection.
 */
export function startSummary(job: string, kindName: string, params: unknown, w: JobWriter, log: Logger): { follower: SummaryFollower; figures: Promise<Record<string, unknown>> } {
  const run = new SummaryRun({ job, kindName, params, path: w.path, durable: () => w.durableBytes, log });
  return { follower: run, figures: run.figures };
}

/** Writes `<out>.summary.json` durably with the kind's `figures`; returns its path (null when it could not be written). */
export async function writeSummary(job: string, kindName: string, state: string, w: JobWriter, log: Logger, figures: Record<string, unknown>, extra: Record<string, unknown> = {}): Promise<string | null> {
  const path = summaryPathFor(w.path);
  const base = {
    job,
    kind: kindName,
    state,
    tasks: { ok: w.okTasks, error: w.errorTasks },
    records: { rows: w.rows, error: w.errorRecords },
    rows: w.rows,
    output: w.path,
  };
  try {
    await writeWhole(path, JSON.stringify({ ...base, ...extra, ...figures }, null, 2) + '\n', { fsync: true });
    return path;
  } catch (err) {
    log.error({ job, err: (err as Error).message, path }, 'cannot write the summary');
    return null;
  }
}
