/** `shoal export FILE.jsonl --format csv|parquet [--out PATH] [--flat]`: an output as a table for pandas. */
import type { Command } from '@commander-js/extra-typings';
import { exportOutput, formatFor, type ExportReport } from '../../export/index.js';
import { Output } from '../output.js';
import { Exit } from '../exit.js';
import { COMMANDS, declaration } from './catalog.js';

const WHAT_IS_WRITTEN = `
One table row per line of FILE (a task with several records, such as a chunk of frames, is
one row per record), in task order: task ids in natural order, then index (FILE is in the
order tasks completed). Columns: job, task, index and of (when the task has records), kind,
status, attempt, agent, host, worker, start, end (epoch ms), error.code, error.message, the
fields of error rows' input (input.line, input.text...), a kind's further fields (python:
pid, stdout, stderr), then the fields of value:
  without --flat  one column per top-level field of value; an object or array there is its
                  JSON text (json.loads it in pandas)
  with --flat     nested objects are followed down, one column per field, named by its
                  path: zeno.capacitance, symmetry.mappings; conformers metrics become
                  metrics.d0_75.cov_r (d + the threshold, '.' as '_'), frames cog and com
                  become cog.x, cog.y, cog.z; other arrays stay JSON text
Arrays of arrays (conformers --matrix) are left out, with a note: they stay in the JSONL.
Types: a column of integers is INT64, of numbers DOUBLE, of booleans BOOLEAN, anything else
UTF-8 text; missing fields are nulls (empty in CSV).
Lines that are not rows, and a torn last line (no newline), are skipped with a note.
Docs: docs/outputs.md lists every field of every kind.`;

function notes(out: Output, r: ExportReport): void {
  for (const s of r.skipped) {
    out.note(`left out ${s.column}: arrays of arrays in ${s.rows} row${s.rows === 1 ? '' : 's'} (the first at line ${s.line}); they stay in ${r.file}`);
  }
  const m = r.malformed;
  if (m.count > 0) out.note(`skipped ${m.count} line${m.count === 1 ? '' : 's'} of ${r.file} that ${m.count === 1 ? 'is not a row' : 'are not rows'} (${m.count === 1 ? 'line' : 'first at lines'} ${m.lines.join(', ')})`);
  if (r.torn) out.note(`skipped the torn last line of ${r.file} (line ${r.torn.line}, ${r.torn.bytes} bytes without a newline: a write cut short)`);
}

export function registerExport(program: Command): void {
  program
    .command(declaration('export'))
    .description(COMMANDS.export.description)
    .option('--format <format>', 'csv or parquet (default: from --out\'s extension)')
    .option('--out <path>', "where the table goes (default: FILE with .csv or .parquet for .jsonl; '-': stdout, CSV only)")
    .option('--flat', 'one column per nested field of value (default: nested objects as JSON text)')
    .option('--json', 'print what was written as JSON')
    .addHelpText(
      'after',
      `${WHAT_IS_WRITTEN}\n\nExamples:\n  shoal export frames.jsonl --format parquet --flat     # frames.parquet: pandas.read_parquet\n  shoal export conformers.jsonl --format csv --flat --out conformers.csv\n  shoal export spin.jsonl --format csv --out - | head`,
    )
    .action(async (file, opts) => {
      const format = formatFor(opts.format, opts.out);
      const toStdout = opts.out === '-';
      const out = new Output(!!opts.json);
      const r = await exportOutput(file, { format, flat: !!opts.flat, ...(opts.out !== undefined ? { out: opts.out } : {}) });
      notes(out, r);
      const what = `wrote ${r.rows} row${r.rows === 1 ? '' : 's'}, ${r.columns.length} columns (${r.format}${r.flat ? ', flat' : ''})`;
      // The table itself is on stdout: what was written is told on stderr.
      if (toStdout) out.note(opts.json ? JSON.stringify(r) : what);
      else {
        out.data(r);
        out.line(`${what} to ${r.out}`);
      }
      process.exitCode = Exit.Done;
    });
}
