/** `shoal submit <kind>`: a job for a running coordinator. */
import type { Command } from '@commander-js/extra-typings';
import { builtinKinds, type Kind } from '../../kinds/index.js';
import { remoteHandlerKind } from '../../kinds/handlers/index.js';
import { Output } from '../output.js';
import { addJobOptions, buildSpec, type JobCliOptions } from '../job-spec.js';
import { reportJob } from '../job-report.js';
import { exitForJob, Exit } from '../exit.js';
import { connOpts, withClient } from '../connect.js';
import { COMMANDS, declaration } from './catalog.js';

export function registerSubmit(program: Command, kinds: Kind<unknown>[] = builtinKinds()): void {
  const submit = program.command(declaration('submit')).description(COMMANDS.submit.description);
  for (const kind of kinds) {
    const sub = submit.command(kind.name).description(kind.description);
    kind.addOptions(sub);
    connOpts(addJobOptions(sub))
      .option('--wait', 'wait for the job to end; exit 0 done, 1 with failed tasks, 2 the job failed (its code could not be loaded), 3 cancelled')
      .option('--json', 'machine-readable output')
      .action((opts) => submitJob(kind, opts));
  }

  // Any other name is a kind from the agents' --handlers modules (commander's default subcommand).
  const handler = submit
    .command('handler-kind <name>', { isDefault: true, hidden: true })
    .description("a kind from the agents' --handlers modules: one task per record of --inputs");
  remoteHandlerKind('handler').addOptions(handler);
  connOpts(addJobOptions(handler))
    .option('--wait', 'wait for the job to end; exit 0 done, 1 with failed tasks, 2 the job failed (its code could not be loaded), 3 cancelled')
    .option('--json', 'machine-readable output')
    .action((name: string, opts) => submitJob(remoteHandlerKind(name), opts));
  submit.addHelpText('after', "\nKinds from handler modules (shoal agent --handlers FILE):\n  shoal submit <name> --params '{\"k\":1}' --inputs FILE --nats URL [--wait]\n  FILE: .txt (a line each), .jsonl (a JSON value each), .csv/.tsv (a row each), .smi (a molecule each)");
}

/** What `submit <kind>` reads besides the job's and the kind's options. */
interface SubmitCliOptions extends JobCliOptions {
  nats?: string;
  ns?: string;
  wait?: true;
  json?: true;
}

/** `submit <kind>`: sends the spec; with --wait follows the job to its end. */
async function submitJob(kind: Kind<unknown>, opts: SubmitCliOptions & Record<string, unknown>): Promise<void> {
  const out = new Output(!!opts.json);
  const spec = buildSpec(kind, opts, { remote: true });
  process.exitCode = await withClient(opts, async (c) => {
    const r = await c.submit(spec);
    if (!opts.wait) {
      out.data(r);
      out.line(r.job);
      if (r.alreadyDone > 0) out.note(`resuming: ${r.alreadyDone} of ${r.tasks} tasks already done`);
      return Exit.Done;
    }
    out.note(`submitted ${r.job} (${r.tasks} tasks${r.alreadyDone ? `, ${r.alreadyDone} already done` : ''})`);
    const progress = await out.progress();
    const final = await c.waitFor(r.job, (j) => progress.update(j));
    progress.stop();
    reportJob(out, kind, final);
    return exitForJob(final.state, final.failed);
  });
}
