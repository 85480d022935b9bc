/** `shoal report PATH... [--html OUT.html]`: task timeline, utilization, slowest tasks, errors, per job when there are several. */
import type { Command } from '@commander-js/extra-typings';
import { buildReport, summaryLines } from '../../report/index.js';
import { Output } from '../output.js';
import { integerFrom, valueOption } from '../options.js';
import { Exit } from '../exit.js';
import { COMMANDS, declaration } from './catalog.js';

export function registerReport(program: Command): void {
  program
    .command(declaration('report'))
    .description(COMMANDS.report.description)
    .option('--html <out>', 'also write a self-contained HTML report (opens offline in any browser)')
    .addOption(valueOption('--max-bars <n>', 'most task bars drawn in the HTML timeline, all files together (a uniform sample beyond)', integerFrom(1)).default(200_000))
    .option('--json', 'print the summary as JSON')
    .addHelpText(
      'after',
      '\nEach path is a JSONL output or a directory: there, every *.jsonl whose lines are rows is read (others are skipped with a note).\n' +
        'With several jobs (a pipeline\'s stages), the timeline has a band of lanes per job on one time axis, in the order they started, and the summary a line per job with its overlap with the one before.\n' +
        '\nExamples:\n  shoal report results.jsonl --html report.html\n  shoal report out/ --html pipeline.html      # every stage of a pipeline run with --out-dir out',
    )
    .action(async (paths, opts) => {
      const out = new Output(!!opts.json);
      const r = await buildReport(paths, { maxBars: opts.maxBars, ...(opts.html ? { html: opts.html } : {}) });
      for (const s of r.skipped) out.note(`skipped ${s.file}: ${s.why}`);
      out.data({ ...r.summary, skipped: r.skipped, html: r.html });
      for (const l of summaryLines(r.summary)) out.line(l);
      if (r.html) out.line(`\nhtml: ${r.html}`);
      process.exitCode = Exit.Done;
    });
}
