/** `shoal cache stats DIR` and `shoal cache prune DIR --older-than 30d | --max-size 50G`: the result cache's packs. */
import type { Command } from '@commander-js/extra-typings';
import { cacheStats, pruneCache } from '../../../coordinator/index.js';
import { UsageError } from '../../errors.js';
import { Output } from '../output.js';
import { formatBytes } from '../units.js';
import { Exit } from '../exit.js';
import { COMMANDS } from './catalog.js';

const DURATION_UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 };
const SIZE_UNITS: Record<string, number> = { '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 };

/** `30d`, `12h`, `90m`, `45s`, `2w` → ms. */
export function parseAge(option: string, v: string): number {
  const m = /^(\d+(?:\.\d+)?)([smhdw])$/.exec(v.trim());
  if (!m) throw new UsageError(`${option} '${v}': give a number and a unit, s, m, h, d or w (e.g. 30d)`);
  return Number(m[1]) * DURATION_UNITS[m[2]!]!;
}

/** `50G`, `512M`, `10k`, `1T` (binary units; a trailing `B` or `iB` is allowed), or bytes → bytes. */
export function parseSize(option: string, v: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?$/i.exec(v.trim());
  if (!m) throw new UsageError(`${option} '${v}': give a number of bytes with K, M, G or T (e.g. 50G)`);
  return Math.floor(Number(m[1]) * SIZE_UNITS[m[2]!.toLowerCase()]!);
}

export function registerCache(program: Command): void {
  const cache = program.command('cache').description(COMMANDS.cache.description);
  cache
    .command('stats <dir>')
    .description('entries, values, bytes and packs the cache holds, and the hits and misses of its most recent job runs')
    .option('--runs <n>', 'recent job runs to list', '10')
    .option('--json', 'print it as JSON')
    .action(async (dir, opts) => {
      const out = new Output(!!opts.json);
      const s = await cacheStats(dir, Math.max(0, Number(opts.runs) || 0));
      out.data(s);
      const notes = [s.brokenPacks ? `${s.brokenPacks} packs not whole (misses; prune removes them)` : '', s.temporary ? `${s.temporary} temporary files` : '', s.oldLayout ? `${s.oldLayout} files of the old layout v1 (not read; prune removes them)` : '', s.digests.files ? `digests of ${s.digests.files} input files (${formatBytes(s.digests.bytes)})` : ''].filter((n) => n !== '');
      out.line(`${s.dir}: ${s.entries} entries, ${s.values} values, ${formatBytes(s.bytes)} in ${s.packs} packs${notes.map((n) => `, ${n}`).join('')}`);
      if (s.runs.length > 0) out.table(['ended', 'job', 'kind', 'hits', 'misses', 'broken', 'stored'], s.runs.map((r) => [new Date(r.at).toISOString().slice(0, 19), r.job, r.kind, r.hits, r.misses, r.broken, r.stored]));
      process.exitCode = Exit.Done;
    });
  cache
    .command('prune <dir>')
    .description('rewrite the packs without the entries stored longer ago than --older-than, then the oldest until the cache fits --max-size, and the values no entry names; merge small packs; remove temporary files a crash left, the old layout v1, the digests of inputs not used within --older-than (then the least recently used past --max-size), and the marks of job keys that stored nothing within --older-than')
    .option('--older-than <age>', 'e.g. 30d, 12h')
    .option('--max-size <size>', 'e.g. 50G, 512M')
    .option('--json', 'print the report as JSON')
    .action(async (dir, opts) => {
      if (opts.olderThan === undefined && opts.maxSize === undefined) throw new UsageError('cache prune: give --older-than AGE (e.g. 30d) or --max-size SIZE (e.g. 50G), or both');
      const out = new Output(!!opts.json);
      const r = await pruneCache(dir, {
        ...(opts.olderThan !== undefined ? { olderThanMs: parseAge('--older-than', opts.olderThan) } : {}),
        ...(opts.maxSize !== undefined ? { maxBytes: parseSize('--max-size', opts.maxSize) } : {}),
      });
      out.data(r);
      out.line(`removed ${r.entriesRemoved} entries, ${r.valuesRemoved} values, ${r.temporaryRemoved} temporary files${r.brokenRemoved ? `, ${r.brokenRemoved} packs not whole` : ''}${r.oldLayoutRemoved ? `, ${r.oldLayoutRemoved} files of the old layout` : ''}${r.digestsRemoved ? `, the digests of ${r.digestsRemoved} input files` : ''}${r.marksRemoved ? `, the marks of ${r.marksRemoved} job keys` : ''}; ${r.packsBefore} packs → ${r.packsAfter} (${r.packsMerged} merged into ${r.packsWritten}); ${formatBytes(r.bytesBefore)} → ${formatBytes(r.bytesAfter)}`);
      process.exitCode = Exit.Done;
    });
}
