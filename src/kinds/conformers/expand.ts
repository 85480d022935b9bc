/**
 * Job expansion: index both SD files, group records by molecule key, and make one task per
 * molecule — or several blocks of reference rows for a molecule big enough to hold up the job.
 *
 * Cost unit: one atom pair of one superposition (n_ref × n_gen × heavy atoms per molecule).
 * Automatic splitting follows the rule "no task above ~1/(4 × slots) of the job", with two
 * guards that keep blocks worth their overhead (each block re-reads and re-parses all the
 * molecule's generated records): a molecule under MIN_SPLIT_COST is never split, and blocks
 * have at least MIN_BLOCK_ROWS rows. Block sizes are rounded down to a power of two so that a
 * small change in the slot count does not move block boundaries (task ids are the journal).
 */
import { createHash } from 'node:crypto';
import { basename } from 'node:path';
import { InputError } from '../../errors.js';
import { indexSdf, parseSdfRecord, readSdfRanges, type SdfIndex, type SdfRange, type SdfRecordInfo } from '../../io/sdf.js';
import type { ExpandContext, TaskSpec } from '../types.js';
import type { ConformersParams } from './params.js';
import type { ConformersTaskRef } from './task-ref.js';

export { splitConformersTask } from './task-ref.js';

/** Slots assumed when no agent has joined yet. */
const FALLBACK_SLOTS = 8;
/** A task should not exceed 1/(SHARE_DIVISOR × slots) of the job's cost. */
const SHARE_DIVISOR = 4;
/** Molecules cheaper than this (≈ 0.3 s of superpositions on one core) are never split automatically. */
export const MIN_SPLIT_COST = 3e7;
/**
 * Smallest automatic block. Parsing one generated record costs about as much as 50-150
 * superpositions, and every block parses all of them (unless its worker ran the previous block).
 */
export const MIN_BLOCK_ROWS = 64;
/** With --matrix, automatic blocks hold at most this many RMSD values (≈ 400 KB of JSON). */
const MATRIX_VALUES_PER_TASK = 40_000;
/** Fixed memory of a task besides its data (parser, buffers). */
const BASE_MEMORY = 4 << 20;

interface Molecule {
  key: string;
  ref: SdfRecordInfo[];
  gen: SdfRecordInfo[];
}

const SAFE = /^[A-Za-z0-9._-]{1,80}$/;

/**
 * `mol_<key>` when the key is short and made of safe characters; otherwise the key with other
 * characters replaced by `_`, cut to 60, plus `~` and 10 hex digits of its SHA-256 — stable
 * across runs, and distinct from every plain id since `~` never appears in one.
 */
export function moleculeTaskId(key: string): string {
  if (SAFE.test(key)) return `mol_${key}`;
  const safe = key.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 60);
  const hash = createHash('sha256').update(key, 'utf8').digest('hex').slice(0, 10);
  return `mol_${safe}~${hash}`;
}

/** The id of block k of a molecule. */
export function blockTaskId(key: string, k: number): string {
  return `${moleculeTaskId(key)}#b${k}`;
}

function range(r: SdfRecordInfo): SdfRange {
  return [r.offset, r.length, r.line, r.record];
}

function describeRecord(file: string, r: SdfRecordInfo): string {
  return `${file} record #${r.record} '${r.title}' (line ${r.line})`;
}

/** Text safe to print: control characters and undecodable bytes as '?', at most `max` characters. */
function printable(s: string, max = 300): string {
  const t = s.replace(/[\u0000-\u001f\u007f-\u009f\ufffd]/g, '?');
  return t.length > max ? `${t.slice(0, max)}...` : t;
}

/**
 * The index of an SD file, or a usage error naming the file and its first problem when it is
 * not one: empty, or no record with a V2000 counts line (a PDB file, bytes of anything else,
 * V3000 only). A file with some such records is an SD file: its bad records are the error rows
 * of their molecules.
 */
async function indexOrRefuse(option: string, file: string, keyTag: string | null): Promise<SdfIndex> {
  const index = await indexSdf(file, keyTag === null ? {} : { keyTag });
  if (index.records.length === 0) throw new InputError(`${option} ${file}: the file is empty (no SD records)`);
  if (index.records.some((r) => r.atoms >= 0)) return index;
  const first = index.records[0]!;
  let why = `record #1 (line ${first.line}) has no V2000 counts line`;
  try {
    const [text] = readSdfRanges(file, [range(first)], basename(file));
    parseSdfRecord(text!, { file: basename(file), record: first.record, line: first.line });
  } catch (err) {
    if (err instanceof InputError) why = err.message;
  }
  const n = index.records.length;
  throw new InputError(
    `${option} ${file} is not an SD file: ${n === 1 ? 'its one record does not read' : `none of its ${n} records reads`} as a V2000 molfile (a title, two more header lines, then a counts line such as '  9  9  0  0  0  0  0  0  0  0999 V2000'); the first problem: ${printable(why)}. Give an SD file: V2000 records ending in $$$$`,
  );
}

/**
 * Rows per block for a molecule of `cost` with `nRef` reference rows when no task should exceed
 * `share`, or 0 to keep it whole: about share / (cost per row), at least MIN_BLOCK_ROWS, rounded
 * down to a power of two.
 */
export function autoBlockRows(cost: number, nRef: number, share: number): number {
  if (cost < MIN_SPLIT_COST || cost <= share || nRef < 2 * MIN_BLOCK_ROWS) return 0;
  const raw = Math.max(MIN_BLOCK_ROWS, Math.floor(share / (cost / nRef)));
  const rows = 2 ** Math.floor(Math.log2(raw));
  return rows < nRef ? rows : 0;
}

function blockRowsFor(p: ConformersParams, nRef: number, nGen: number, cost: number, share: number): number {
  if (p.blockRows !== null) return p.blockRows > 0 && nRef > p.blockRows ? p.blockRows : 0;
  const rows = autoBlockRows(cost, nRef, share);
  if (!p.matrix) return rows;
  // Keep each row's matrix well under a bus message (≈ 10 bytes per value in JSON).
  const maxRows = 2 ** Math.floor(Math.log2(Math.max(1, MATRIX_VALUES_PER_TASK / nGen)));
  const capped = Math.min(rows === 0 ? nRef : rows, maxRows);
  return capped < nRef ? capped : 0;
}

/** Spec → tasks. Throws InputError for an unreadable or empty file. */
export async function expandConformers(p: ConformersParams, ctx: ExpandContext): Promise<TaskSpec[]> {
  const [refIdx, genIdx] = await Promise.all([indexOrRefuse('--ref', p.ref, p.keyTag), indexOrRefuse('--gen', p.gen, p.keyTag)]);
  const refName = basename(p.ref);
  const genName = basename(p.gen);
  const keyOf = (r: SdfRecordInfo): string | undefined => {
    const k = p.keyTag === null ? r.title.trim() : r.tag;
    return k === undefined || k === '' ? undefined : k;
  };

  const molecules = new Map<string, Molecule>();
  const unkeyed: { file: string; records: SdfRecordInfo[] }[] = [
    { file: refName, records: [] },
    { file: genName, records: [] },
  ];
  for (const [side, idx] of [[0, refIdx], [1, genIdx]] as const) {
    for (const r of idx.records) {
      const key = keyOf(r);
      if (key === undefined) {
        unkeyed[side]!.records.push(r);
        continue;
      }
      let m = molecules.get(key);
      if (m === undefined) molecules.set(key, (m = { key, ref: [], gen: [] }));
      (side === 0 ? m.ref : m.gen).push(r);
    }
  }

  const tasks: TaskSpec[] = [];
  const errorTask = (id: string, key: string, message: string): void => {
    const ref: ConformersTaskRef = { key, error: message };
    tasks.push({ id, cost: 1, ref });
  };
  for (const [side, u] of unkeyed.entries()) {
    if (u.records.length === 0) continue;
    const what = p.keyTag === null ? 'an empty title line' : `no SD tag <${p.keyTag}>`;
    const first = u.records[0]!;
    errorTask(`unkeyed_${side === 0 ? 'ref' : 'gen'}`, '', `${u.records.length} record(s) of ${u.file} have ${what}, so they belong to no molecule; first: ${describeRecord(u.file, first)}`);
  }

  const costs = new Map<string, number>();
  let total = 0;
  for (const m of molecules.values()) {
    if (m.ref.length === 0 || m.gen.length === 0) continue;
    const heavy = Math.max(1, m.ref[0]!.heavy > 0 ? m.ref[0]!.heavy : m.ref[0]!.atoms);
    const cost = m.ref.length * m.gen.length * heavy;
    costs.set(m.key, cost);
    total += cost;
  }
  const slots = ctx.slots > 0 ? ctx.slots : FALLBACK_SLOTS;
  const share = total / (SHARE_DIVISOR * slots);

  const seen = new Set<string>();
  let split = 0;
  let errors = 0;
  for (const m of molecules.values()) {
    const id = moleculeTaskId(m.key);
    if (seen.has(id)) throw new InputError(`molecule keys '${m.key}' and another key map to the same task id ${id}; rename one`);
    seen.add(id);
    if (m.ref.length === 0 || m.gen.length === 0) {
      const [has, lacks, recs] = m.ref.length === 0 ? [genName, refName, m.gen] : [refName, genName, m.ref];
      errorTask(id, m.key, `molecule '${m.key}' is in ${has} (${recs.length} record(s), first ${describeRecord(has, recs[0]!)}) but not in ${lacks}`);
      errors++;
      continue;
    }
    const cost = costs.get(m.key)!;
    const rowsPer = blockRowsFor(p, m.ref.length, m.gen.length, cost, share);
    const genRecords = { file: p.gen, ranges: m.gen.map(range) };
    const genBytes = m.gen.reduce((s, r) => s + r.length, 0);
    const heavy = cost / (m.ref.length * m.gen.length);
    const topo = range(m.ref[0]!);
    const makeTask = (id: string, first: number, last: number, block?: number): TaskSpec => {
      const refs = m.ref.slice(first, last);
      const bytes = genBytes + refs.reduce((s, r) => s + r.length, 0) + m.ref[0]!.length;
      const rows = last - first;
      // Text and parsed records, centred coordinates, the block's RMSD values and its output.
      const memory = BASE_MEMORY + 4 * bytes + 64 * heavy * (rows + m.gen.length) + 8 * rows * m.gen.length * (p.matrix ? 4 : 1);
      const ref: ConformersTaskRef = { key: m.key, ref: { file: p.ref, ranges: refs.map(range) }, topo, gen: genRecords, rows: [first, last], nRef: m.ref.length };
      if (block !== undefined) ref.block = block;
      return { id, cost: rows * m.gen.length * heavy, memory: Math.ceil(memory), ref };
    };
    if (rowsPer === 0) {
      tasks.push(makeTask(id, 0, m.ref.length));
    } else {
      split++;
      for (let k = 0, first = 0; first < m.ref.length; k++, first += rowsPer) {
        tasks.push(makeTask(blockTaskId(m.key, k), first, Math.min(first + rowsPer, m.ref.length), k));
      }
    }
  }
  ctx.info(`conformers: ${molecules.size} molecule key(s), ${tasks.length} task(s)`, {
    molecules: molecules.size, tasks: tasks.length, split, keyErrors: errors, refRecords: refIdx.records.length, genRecords: genIdx.records.length,
  });
  return tasks;
}
