/**
 * An example handler module: kinds of your own, run by shoal's agents.
 *
 *   shoal run word-stats --handlers examples/handlers/word-stats.mjs --inputs examples/handlers/files.txt
 *
 * runs it in one process (from the repository root); over NATS:
 *
 *   shoal agent --nats URL --handlers examples/handlers/word-stats.mjs
 *   shoal submit word-stats --nats URL --inputs files.txt --params '{"top":3}' --wait
 *
 * A module exports `kinds` (or a default export): objects with a `name` and a
 * `run(task, ctx)` that returns the row's value (anything JSON can hold).
 *
 *   task.input   the record of --inputs this task is for: the line of a .txt file (as here),
 *                a JSON value of a .jsonl, an object keyed by the header of a .csv/.tsv
 *                (values strings), { smiles, name } of a .smi
 *   task.index   its number among the records (from 0)
 *   task.line    the line of --inputs it starts on (from 1)
 *   task.id      the task id (task_0007), also in the output row
 *   task.params  the job's --params object
 *   ctx.signal   aborted when the task is cancelled: long loops should check ctx.signal.aborted
 *   ctx.attempt  1 on the first try
 *
 * A plain `throw` is retried on another attempt (up to --max-attempts); an error with
 * `retryable: false` and a code starting with E_ becomes the task's error row at once.
 * The module is imported once by the agent and once per worker thread: keep its top level
 * free of work.
 */
import { readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { isAbsolute, join } from 'node:path';

/** A final error: not worth retrying (the input is wrong, not the machine). */
function inputError(message) {
  return Object.assign(new Error(message), { code: 'E_INPUT', retryable: false });
}

/** Reads the task's file: task.input, relative to params.dir (default: the agent's directory). */
async function readInput(task, encoding) {
  const dir = typeof task.params.dir === 'string' ? task.params.dir : process.cwd();
  const path = isAbsolute(task.input) ? task.input : join(dir, task.input);
  try {
    return await readFile(path, encoding);
  } catch (err) {
    throw inputError(`${path}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`);
  }
}

export const kinds = [
  {
    name: 'word-stats',
    description: 'lines, words and the most frequent words of a text file',
    async run(task, ctx) {
      const text = await readInput(task, 'utf8');
      const counts = new Map();
      let words = 0;
      for (const w of text.toLowerCase().match(/[\p{L}\p{N}']+/gu) ?? []) {
        if ((++words & 0xffff) === 0 && ctx.signal.aborted) throw new Error('aborted');
        counts.set(w, (counts.get(w) ?? 0) + 1);
      }
      const top = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, Number(task.params.top ?? 5));
      return { file: task.input, lines: text.split('\n').length - (text.endsWith('\n') ? 1 : 0), words, distinct: counts.size, top };
    },
  },
  {
    name: 'sha256',
    description: 'SHA-256 of a file',
    async run(task) {
      const data = await readInput(task);
      return { file: task.input, bytes: data.length, sha256: createHash('sha256').update(data).digest('hex') };
    },
  },
];
