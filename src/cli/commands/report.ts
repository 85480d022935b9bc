/** `shoal report FILE.jsonl [--html OUT.html]`: task timeline, utilization, slowest tasks, errors. */
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
    .addOption(valueOption('--max-bars <n>', 'most task bars drawn in the HTML timeline (a uniform sample beyond)', integerFrom(1)).default(200_000))
    .option('--json', 'print the summary as JSON')
    .addHelpText('after', '\nExample:\n  shoal report results.jsonl --html report.html')
    .action(async (file, opts) => {
      const out = new Output(!!opts.json);
      const r = await buildReport(file, { maxBars: opts.maxBars, ...(opts.html ? { html: opts.html } : {}) });
      out.data({ ...r.summary, html: r.html });
      for (const l of summaryLines(r.summary)) out.line(l);
      if (r.html) out.line(`\nhtml: ${r.html}`);
      process.exitCode = Exit.Done;
    });
}
