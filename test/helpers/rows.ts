/**
 * Reading a JSONL output and checking the exactly-once contract: one row per task, no task
 * missing, none twice.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { Row as KindRow } from '../../src/kinds/index.js';

/** One JSONL row (DESIGN §4) as the kinds see it, plus where it ran. */
export interface Row extends KindRow {
  agent: string;
  host: string;
  /** Error rows: what the task was given. */
  input?: Record<string, unknown>;
}

/** Reads a JSONL file; a line that is not JSON fails with its line number. */
export function readRows(path: string): Row[] {
  const text = readFileSync(path, 'utf8');
  const rows: Row[] = [];
  const lines = text.split('\n');
  assert.equal(lines.at(-1), '', `${path} does not end with a newline (torn last line?)`);
  for (let i = 0; i < lines.length - 1; i++) {
    try {
      rows.push(JSON.parse(lines[i]!) as Row);
    } catch (err) {
      assert.fail(`${path} line ${i + 1} is not JSON (${(err as Error).message}): ${lines[i]!.slice(0, 200)}`);
    }
  }
  return rows;
}

/** The task ids of `spin --tasks n`: spin_0, spin_1... zero-padded to the digits of n. */
export function spinIds(n: number): string[] {
  const width = String(n).length;
  return Array.from({ length: n }, (_, i) => `spin_${String(i).padStart(width, '0')}`);
}

const list = (ids: string[], max = 20): string => (ids.length > max ? `${ids.slice(0, max).join(', ')}, … (${ids.length} in all)` : ids.join(', '));

/**
 * Asserts exactly one row per expected task id (and no row for any other task); with
 * `status`, also that every row has that status. The failure message counts rows per
 * task and lists the missing, duplicated and unexpected ids.
 */
export function assertOneRowPerTask(rows: readonly Row[], expected: Iterable<string>, o: { status?: 'ok' | 'error'; job?: string } = {}): void {
  const want = new Set(expected);
  const count = new Map<string, number>();
  for (const r of rows) count.set(r.task, (count.get(r.task) ?? 0) + 1);
  const missing = [...want].filter((id) => !count.has(id));
  const duplicated = [...count].filter(([, n]) => n > 1).map(([id, n]) => `${id}×${n}`);
  const unexpected = [...count.keys()].filter((id) => !want.has(id));
  const problems: string[] = [];
  if (missing.length > 0) problems.push(`missing ${missing.length}: ${list(missing)}`);
  if (duplicated.length > 0) problems.push(`duplicated ${duplicated.length}: ${list(duplicated)}`);
  if (unexpected.length > 0) problems.push(`unexpected ${unexpected.length}: ${list(unexpected)}`);
  if (o.status) {
    const other = rows.filter((r) => r.status !== o.status).map((r) => `${r.task}=${r.status}${r.error ? ` ${JSON.stringify(r.error)}` : ''}`);
    if (other.length > 0) problems.push(`not ${o.status} ${other.length}: ${list(other, 5)}`);
  }
  if (o.job !== undefined) {
    const other = rows.filter((r) => r.job !== o.job).map((r) => `${r.task} (job ${r.job})`);
    if (other.length > 0) problems.push(`of another job ${other.length}: ${list(other, 5)}`);
  }
  if (problems.length > 0) {
    assert.fail(`expected exactly one row per task for ${want.size} tasks, got ${rows.length} rows for ${count.size} tasks; ${problems.join('; ')}`);
  }
}
