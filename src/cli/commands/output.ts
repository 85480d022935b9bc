/**
 * `shoal verify FILE` and `shoal repair FILE`: check an output against the exactly-once
 * contract (one row, or one complete record set, per task) and move what breaks it aside.
 */
import type { Command } from '@commander-js/extra-typings';
import { UsageError } from '../../errors.js';
import { problemPhrases, repairOutput, verifyOutput, type JobSource, type RepairReport, type VerifyReport } from '../../sink/index.js';
import { Output } from '../output.js';
import { Exit } from '../exit.js';
import { COMMANDS, declaration } from './catalog.js';

/** `verify` found something to repair: the same code as a job done with failed tasks, "look at it". */
const PROBLEMS_FOUND = Exit.DoneWithFailures;

const WHAT_IS_CHECKED = `
A row is a JSON object with string "job", "task" and "kind" and "status" "ok" or "error";
the rows of a multi-record task carry "index" (e.g. the frame number) and "of" (how many rows
the task has), and all "of" of them follow each other.
Problems, each given with the numbers of its first lines:
  - lines that are not rows of the job (garbage, rows of another job)
  - duplicate rows: a row, or a complete record set, of a task already complete earlier
  - rows of incomplete record sets followed by other lines
  - a torn tail: unfinished rows at the very end (power loss mid-write; resuming cuts it too)
The job is --job, else the one in the job record beside the file (FILE.job.json for
FILE.jsonl), else the job of the first row.`;

function jobOption(v: string | undefined): { job?: string } {
  if (v === undefined) return {};
  if (v.length === 0) throw new UsageError('--job must not be empty');
  return { job: v };
}

/** The file as it can be pasted into a shell. */
function shellWord(s: string): string {
  return /^[\w./@:+=,-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

function jobLabel(job: string | null, from: JobSource): string {
  switch (from) {
    case 'option':
      return `job ${job}`;
    case 'job-record':
      return `job ${job} (from the job record)`;
    case 'first-row':
      return `job ${job} (from the first row)`;
    case 'none':
      return 'no job (no --job, no job record, no row)';
  }
}

function tornPhrase(t: { bytes: number; line: number | null }): string {
  return `a torn tail of ${t.bytes} bytes from line ${t.line}`;
}

function printVerify(out: Output, r: VerifyReport, file: string): void {
  out.line(`${file}: ${jobLabel(r.job, r.jobFrom)}`);
  out.line(`  ${r.lines} lines, ${r.rows} rows, ${r.tasks} tasks: ${r.okTasks} ok, ${r.errorTasks} with errors (${r.errorRows} error rows)`);
  if (r.firstLine === 'other') out.line('  the first line is not a row: this does not look like a shoal output');
  for (const p of problemPhrases(r.problems, r.job)) out.line(`  ${p}`);
  if (r.torn.bytes > 0) out.line(`  ${tornPhrase(r.torn)} (resuming the job cuts it; its tasks run again)`);
  if (r.clean) out.line('clean');
  else out.line(`problems found: run \`shoal repair ${shellWord(file)}\` to keep one row set per task and move the rest to a rejected-lines file`);
}

function printRepair(out: Output, r: RepairReport, file: string): void {
  const kept = `${r.kept.rows} rows of ${r.kept.tasks} tasks of ${jobLabel(r.job, r.jobFrom)}`;
  if (!r.repaired) {
    out.line(`${file}: nothing to repair, left as it was: ${kept}`);
    return;
  }
  out.line(`${file}: kept ${kept}`);
  out.line(`moved ${r.rejected.lines} lines (${r.rejected.bytes} bytes), exactly as they were, to ${r.rejectedPath}:`);
  for (const p of problemPhrases(r.rejected, r.job)) out.line(`  ${p}`);
  if (r.rejected.torn.bytes > 0) out.line(`  ${tornPhrase(r.rejected.torn)}`);
}

export function registerVerify(program: Command): void {
  program
    .command(declaration('verify'))
    .description(COMMANDS.verify.description)
    .option('--job <name>', 'the job whose rows count (default: from the job record beside the file, else the first row)')
    .option('--json', 'print the report as JSON')
    .addHelpText('after', `${WHAT_IS_CHECKED}\n\nNothing is changed. Exit codes: 0 clean, 1 problems found, 2 unreadable file or usage error.\n\nExample:\n  shoal verify results.jsonl && echo clean`)
    .action(async (file, opts) => {
      const out = new Output(!!opts.json);
      const r = await verifyOutput(file, jobOption(opts.job));
      if (r.jobRecordError) out.note(`shoal: the job record is unusable (${r.jobRecordError}); checking the first row's job`);
      out.data(r);
      printVerify(out, r, file);
      process.exitCode = r.clean ? Exit.Done : PROBLEMS_FOUND;
    });

}

export function registerRepair(program: Command): void {
  program
    .command(declaration('repair'))
    .description(COMMANDS.repair.description)
    .option('--job <name>', 'the job whose rows are kept (default: from the job record beside the file, else the first row)')
    .option('--json', 'print what was kept and moved as JSON')
    .addHelpText(
      'after',
      `${WHAT_IS_CHECKED}

Every line that is not kept goes, byte for byte, to FILE.rejected (FILE.rejected.2, .3...
if taken). Both files are written beside FILE and fsync'ed before they replace it, so a crash
or an error leaves FILE as it was. A clean file is left untouched. Do not repair an output a
running job is writing to (a file that changes during the repair is refused). A file with no
row of the job at all is refused rather than emptied.
Exit codes: 0 repaired or nothing to do, 2 unreadable file, usage error or refused.

Example:
  shoal repair results.jsonl && shoal verify results.jsonl`,
    )
    .action(async (file, opts) => {
      const out = new Output(!!opts.json);
      const r = await repairOutput(file, jobOption(opts.job));
      if (r.jobRecordError) out.note(`shoal: the job record is unusable (${r.jobRecordError}); repairing for the first row's job`);
      out.data(r);
      printRepair(out, r, file);
      process.exitCode = Exit.Done;
    });
}
