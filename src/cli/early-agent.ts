/**
 * What the raw command line says of the local agent of `shoal run` and `shoal pipeline`,
 * before commander has parsed it: main.ts starts that agent's first worker thread from it
 * (agents/early/) while it loads the command. Read conservatively: whatever is unclear starts
 * nothing, and the agent's pool takes the thread only if it would have started the same.
 */

/** The commands that start a coordinator and an agent in their own process. */
const LOCAL_COMMANDS = new Set(['run', 'pipeline']);

/**
 * The local agent's worker count as the arguments give it (`workers` absent: the default,
 * one per usable CPU), or null where no local agent is to be started early: another command,
 * help, `--workers 0`, `--nats` or SHOAL_NATS (agents elsewhere may join; the run waits on the
 * server first), `--handlers` (its threads load the modules), a --workers that is not a count.
 */
export function earlyAgent(args: readonly string[], env: NodeJS.ProcessEnv): { workers?: number } | null {
  const words = args.filter((a) => !a.startsWith('-'));
  if (!LOCAL_COMMANDS.has(words[0] ?? '') || words[1] === undefined || words[1] === 'help') return null;
  if (env.SHOAL_NATS) return null;
  let workers: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const [name, value] = splitOption(args[i]!);
    if (name === '-h' || name === '--help' || name === '--nats' || name === '--handlers') return null;
    if (name === '--workers') workers = value ?? args[++i] ?? '';
  }
  if (workers === undefined) return {};
  if (!/^\d+$/.test(workers) || Number(workers) === 0) return null;
  return { workers: Number(workers) };
}

/** `--name=value` as its name and value; any other argument as itself. */
function splitOption(arg: string): [string, string | undefined] {
  const eq = arg.indexOf('=');
  return arg.startsWith('--') && eq > 0 ? [arg.slice(0, eq), arg.slice(eq + 1)] : [arg, undefined];
}
