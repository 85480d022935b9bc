/** Command job → tasks: one per non-blank line of the --args file, id from the line number. */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { InputError } from '../../errors.js';
import type { TaskSpec } from '../types.js';
import type { CommandParams } from './params.js';

/** What a command task carries: its line and the line's number in the file (from 1). */
export interface CommandRef {
  n: number;
  line: string;
}

/** Task ids are `line_<n>` with the file's line number, zero-padded to the width of the last one. */
export function commandTaskId(n: number, width: number): string {
  return `line_${String(n).padStart(width, '0')}`;
}

export async function expandCommand(p: CommandParams): Promise<TaskSpec[]> {
  const lines: CommandRef[] = [];
  let n = 0;
  try {
    const rl = createInterface({ input: createReadStream(p.argsFile), crlfDelay: Infinity });
    for await (const raw of rl) {
      n++;
      const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
      if (line.trim() === '') continue;
      lines.push({ n, line });
    }
  } catch (err) {
    throw new InputError(`--args ${p.argsFile}: ${(err as Error).message}`, err);
  }
  if (lines.length === 0) throw new InputError(`--args ${p.argsFile} has no non-blank line: nothing to run`);
  const width = String(n).length;
  return lines.map((ref) => ({
    id: commandTaskId(ref.n, width),
    cost: 1,
    threads: p.threads,
    ...(p.memory > 0 ? { memory: p.memory } : {}),
    ...(p.gpus > 0 ? { gpus: p.gpus } : {}),
    ref,
  }));
}
