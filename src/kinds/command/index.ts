/**
 * The `command` kind: one external program run per line of a list file, in its own process
 * group, capturing exit code, stdout (parsed when it is JSON) and the end of stderr. Agents
 * run it only when started with --allow-command (see COMMAND_KINDS).
 */
import type { Kind } from '../types.js';
import { recordInput } from '../task-input.js';
import { currentStamp } from '../records/index.js';
import { expandCommand, expandCommandList, type CommandRef } from './expand.js';
import { addCommandOptions, checkCommandParams, commandParams, type CommandParams } from './params.js';
import { runCommand } from './run.js';
import { describeCommandSummary, summarizeCommand } from './summarize.js';

export const commandKind: Kind<CommandParams> = {
  name: 'command',
  description: 'run an external program once per line of --args FILE (argv template after --)',
  addOptions: addCommandOptions,
  params: commandParams,
  checkParams: checkCommandParams,
  inputs: (p) => (p.argsFile ? [p.argsFile] : []),
  // The list file's content counts, not where it lies or when it was written; the template and --cwd do.
  identity: (p) => ({ ...p, argsFile: undefined, argsStamp: undefined }),
  restamp: (p) => (p.argsFile ? { ...p, argsStamp: currentStamp(p.argsFile) } : p),
  // The template counts (with the params) and the line's bytes; its number only where {#} uses it.
  cache: {
    version: 1,
    content: (ref, p) => (p.argsFile ? { ranges: [[p.argsFile, (ref as CommandRef).s, (ref as CommandRef).e]], ...(p.template.some((a) => a.includes('{#}')) ? { rest: (ref as CommandRef).line } : {}) } : null),
  },
  // The line of --args: `{ line, text }`.
  input: (ref, p) => recordInput(p.argsFile && p.argsStamp ? { file: p.argsFile, ...p.argsStamp } : null, ref),
  stage: (p) => (p.from === undefined ? null : { from: p.from, threads: p.threads, memory: p.memory, gpus: p.gpus }),
  expand: expandCommand,
  expandList: expandCommandList,
  run: runCommand,
  summarize: summarizeCommand,
  describeSummary: describeCommandSummary,
};

export type { CommandParams } from './params.js';
export type { CommandRef } from './expand.js';
export type { CommandValue } from './run.js';
export type { CommandSummary } from './summarize.js';
export { expandArgv, expandStageArgv, hasPlaceholder, valueText } from './template.js';
export { commandTaskId } from './expand.js';
export { parseStdout, taskEnv, failureMessage } from './run.js';
export { runInGroup, signalOfStatus, type ProcessOptions, type ProcessResult } from './process.js';
