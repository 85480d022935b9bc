/**
 * The command line's own options that carry a value, built in one place: each value is read and
 * checked while commander parses it (the one number parser, an error naming the option and the
 * value, exit code 2). Options that several commands share are made here once; those of the
 * coordinator and the agent, whose defaults are the components' own, are in role-options.ts
 * (they load the coordinator and the agent, which `status` has no use for).
 */
import { Option } from '@commander-js/extra-typings';
import { Type, type TSchema } from '@sinclair/typebox';
import { optionParser } from '../kinds/index.js';
import { LOG_FORMATS, LOG_LEVELS, type LogFormat, type LogLevel } from '../log-settings.js';

/** Bytes in a GiB (memory options are given in GB). */
export const GB = 2 ** 30;

/** A number of at least `min`. */
export const atLeast = (min: number) => Type.Number({ minimum: min });
/** An integer of at least `min`. */
export const integerFrom = (min: number) => Type.Integer({ minimum: min });

/** An option whose value is read against `schema` as commander parses it. */
export function valueOption<U extends string, T extends TSchema>(flags: U, description: string, schema: T) {
  const option = new Option(flags, description);
  return option.argParser(optionParser(option.long ?? flags, schema));
}

export type { LogLevel };

/** --log-level, with the command's own default. */
export const logLevelOption = (byDefault: LogLevel) => valueOption('--log-level <level>', 'log level on stderr', Type.Union(LOG_LEVELS.map((l) => Type.Literal(l)))).default(byDefault);

/** --log-format: main.ts adds it beside every --log-level and hands its value to the logging (setLogFormat). */
export const logFormatOption = () =>
  valueOption('--log-format <format>', "log lines on stderr: 'pretty' (readable), 'json' (one object a line), or 'auto' (pretty on a terminal)", Type.Union(LOG_FORMATS.map((f) => Type.Literal(f)))).default('auto' as LogFormat);
