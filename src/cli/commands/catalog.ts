/**
 * The commands, as `shoal --help` lists them, and where each is defined in full. A command's
 * module (and so what it needs: the coordinator, the agent, the kinds, NATS, the report) is
 * imported only when that command runs or its own help is asked for: `shoal --help` and
 * `shoal status` do not pay for `shoal run`.
 */
import type { Command } from '@commander-js/extra-typings';

/**
 * Adds one command, in full (options, subcommands, action), to the program; `args` (the command
 * line) lets it define in full only the subcommand named there (`run spin`).
 */
export type Register = (program: Command, args?: readonly string[]) => void;

export interface CommandEntry {
  /** Its arguments as commander declares them ('<file>', '[job]'), '' for none. */
  readonly args: string;
  /** Whether it takes options (the top-level help shows `[options]`). */
  readonly options: boolean;
  /** One line for the top-level help; the full definition uses the same. */
  readonly description: string;
  /** The module that defines it in full. */
  load(): Promise<Register>;
}

/** The commands, by name, in the order the help lists them. */
export const COMMANDS = {
  run: {
    args: '',
    options: false,
    description: 'run a job to the end in this process (coordinator, sink and one agent; no NATS server needed): a built-in kind, or your own with --handlers MODULE',
    load: async () => (await import('./run.js')).registerRun,
  },
  coordinator: {
    args: '',
    options: true,
    description: 'run the coordinator and the sink (the only writer of outputs) until stopped',
    load: async () => (await import('./daemons.js')).registerCoordinator,
  },
  agent: {
    args: '',
    options: true,
    description: 'run tasks on this node: pull work from the coordinator with every usable core',
    load: async () => (await import('./daemons.js')).registerAgent,
  },
  submit: {
    args: '',
    options: false,
    description: 'submit a job to a running coordinator and print its id',
    load: async () => (await import('./submit.js')).registerSubmit,
  },
  status: {
    args: '[job]',
    options: true,
    description: 'where jobs stand (done, failed, running, queued, rate, ETA), each under the job that feeds it, and the agents',
    load: async () => (await import('./control.js')).registerStatus,
  },
  cancel: {
    args: '<job>',
    options: true,
    description: 'stop a job now (--downstream: and the jobs it feeds or that wait for it): no new task starts, running ones are aborted; rows already written stay',
    load: async () => (await import('./control.js')).registerCancel,
  },
  priority: {
    args: '<job> <n>',
    options: true,
    description: "change a running or waiting job's priority: higher gets free slots first, equal ones share them",
    load: async () => (await import('./control.js')).registerPriority,
  },
  drain: {
    args: '<agent>',
    options: true,
    description: 'stop an agent pulling; it finishes running tasks within its grace period, hands the rest back and exits 0',
    load: async () => (await import('./control.js')).registerDrain,
  },
  alloc: {
    args: '',
    options: false,
    description: 'allocation queues: Slurm jobs whose agents join a running coordinator when its queued work needs them (add slurm, list, pause, resume, remove)',
    load: async () => (await import('./alloc.js')).registerAlloc,
  },
  pipeline: {
    args: '<file>',
    options: true,
    description: 'run the stages of a pipeline file (YAML): jobs fed by each other as rows commit, or waiting for each other',
    load: async () => (await import('./pipeline.js')).registerPipeline,
  },
  report: {
    args: '<paths...>',
    options: true,
    description: 'summarize JSONL outputs (files, or a directory such as a pipeline\'s out dir): task stream per job, agent and worker, utilization, slowest tasks, retries and errors',
    load: async () => (await import('./report.js')).registerReport,
  },
  verify: {
    args: '<file>',
    options: true,
    description: 'check a JSONL output: exactly one row (or one complete record set) per task, nothing else',
    load: async () => (await import('./output.js')).registerVerify,
  },
  repair: {
    args: '<file>',
    options: true,
    description: 'keep the first complete row set of each task of the job, in order, and move every other line to FILE.rejected',
    load: async () => (await import('./output.js')).registerRepair,
  },
  export: {
    args: '<file>',
    options: true,
    description: 'write a JSONL output as a table for analysis (CSV or Parquet): a row per line, a column per field of the row and of its value',
    load: async () => (await import('./export.js')).registerExport,
  },
  cache: {
    args: '',
    options: false,
    description: 'the result cache (--cache DIR): `cache stats DIR` (entries, bytes, recent hits and misses), `cache prune DIR --older-than 30d | --max-size 50G`',
    load: async () => (await import('./cache.js')).registerCache,
  },
} as const satisfies Record<string, CommandEntry>;

export type CommandName = keyof typeof COMMANDS;

/** `name args` as `program.command()` takes it, typed so that commander infers the arguments. */
export type Declaration<N extends CommandName> = (typeof COMMANDS)[N]['args'] extends '' ? N : `${N} ${(typeof COMMANDS)[N]['args']}`;

export function declaration<N extends CommandName>(name: N): Declaration<N> {
  const args: string = COMMANDS[name].args;
  return (args ? `${name} ${args}` : name) as Declaration<N>;
}

/** How the top-level help lists a command (`status [options] [job]`), the same whether it is loaded or not. */
export function outline(name: CommandName): string {
  const c: CommandEntry = COMMANDS[name];
  return [name, c.options ? '[options]' : '', c.args].filter((w) => w !== '').join(' ');
}

/** The commands in the order the help lists them. */
export function commandNames(): CommandName[] {
  return Object.keys(COMMANDS) as CommandName[];
}
