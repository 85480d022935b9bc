/** `shoal submit <kind>`: a job for a running coordinator. */
import type { Command, OptionValues } from '@commander-js/extra-typings';
import { builtinKinds, type Kind } from '../../kinds/index.js';
import { remoteHandlerKind } from '../../kinds/handlers/index.js';
import { Output } from '../output.js';
import { addJobOptions, buildSpec, type JobCliOptions } from '../job-spec.js';
import { reportJob } from '../job-report.js';
import { exitForJob, Exit } from '../exit.js';
import { connOpts, natsUrlOf, withClient } from '../connect.js';
import { atLeast, valueOption } from '../options.js';
import { agentHint, WaitNotes } from '../wait-notes.js';
import { addKindCommands, handlerKindCommand, handlerKindName } from '../handler-kind.js';
import { COMMANDS, declaration } from './catalog.js';

export function registerSubmit(program: Command, args: readonly string[] = [], kinds: Kind<unknown>[] = builtinKinds()): void {
  const submit = program.command(declaration('submit')).description(COMMANDS.submit.description);
  addKindCommands(submit, kinds, args, (sub, kind) => {
    kind.addOptions(sub);
    addWaitOptions(connOpts(addJobOptions(sub)))
      .option('--json', 'machine-readable output')
      .action((opts) => submitJob(kind, opts));
  });

  // Any other name is a kind from the agents' --handlers modules (commander's default subcommand).
  const handler = handlerKindCommand(submit, "a kind from the agents' --handlers modules: one task per record of --inputs");
  addWaitOptions(connOpts(addJobOptions(handler)))
    .option('--json', 'machine-readable output')
    .action((name, opts, cmd) => submitJob(remoteHandlerKind(handlerKindName(submit, name, cmd.args.slice(1))), opts));
  submit.addHelpText('after', "\nKinds from handler modules (shoal agent --handlers FILE):\n  shoal submit <name> --params '{\"k\":1}' --inputs FILE --nats URL [--wait]\n  FILE: .txt (a line each), .jsonl (a JSON value each), .csv/.tsv (a row each), .smi (a molecule each)");
}

/** --wait and --wait-timeout (which implies --wait). */
function addWaitOptions<Args extends unknown[], Opts extends OptionValues>(cmd: Command<Args, Opts>) {
  return cmd
    .option('--wait', 'wait for the job to end; exit 0 done, 1 with failed tasks, 2 the job failed (its code could not be loaded), 3 cancelled; while no connected agent can run its kind, or none is connected, a note on stderr says so')
    .addOption(valueOption('--wait-timeout <s>', 'with --wait (implied): give up waiting after S seconds, exit 6; the job stays submitted', atLeast(0.001)).implies({ wait: true }));
}

/** What `submit <kind>` reads besides the job's and the kind's options. */
interface SubmitCliOptions extends JobCliOptions {
  nats?: string;
  ns?: string;
  wait?: true;
  /** Seconds. */
  waitTimeout?: number;
  json?: true;
}

/** `submit <kind>`: sends the spec; with --wait follows the job to its end. */
async function submitJob(kind: Kind<unknown>, opts: SubmitCliOptions & Record<string, unknown>): Promise<void> {
  const out = new Output(!!opts.json);
  const spec = buildSpec(kind, opts, { remote: true });
  process.exitCode = await withClient(opts, async (c, conn) => {
    const r = out.tty ? await c.submitSaying(spec, (l) => out.note(l)) : await c.submit(spec);
    if (!opts.wait) {
      out.data(r);
      out.line(r.job);
      if (r.alreadyDone > 0) out.note(`resuming: ${r.alreadyDone} of ${r.tasks} tasks already done`);
      return Exit.Done;
    }
    out.note(`submitted ${r.job} (${r.tasks} tasks${r.alreadyDone ? `, ${r.alreadyDone} already done` : ''})`);
    const progress = await out.progress();
    const notes = new WaitNotes((l) => out.note(l), agentHint(natsUrlOf(opts), conn.ns));
    let final;
    try {
      final = await c.waitFor(
        r.job,
        (j, agents) => {
          progress.update(j);
          notes.update(j, agents);
        },
        250,
        {
          ...(opts.waitTimeout !== undefined ? { timeoutMs: opts.waitTimeout * 1000 } : {}),
          afterTimeout: `It stays submitted: \`shoal status ${r.job}\` shows where it stands, \`shoal cancel ${r.job}\` stops it`,
        },
      );
    } finally {
      progress.stop();
    }
    reportJob(out, kind, final);
    return exitForJob(final.state, final.failed);
  });
}
