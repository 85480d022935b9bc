/**
 * Result groups: the results of several tasks of one job in columns (see ResultGroup in
 * protocol/messages.ts). Helpers to build, check, slice and split them.
 */
import type { ResultGroup } from '../../protocol/index.js';

/** Bytes a builder starts with (from Node's shared pool, so a one-task group costs little). */
const FIRST_BYTES = 4096;

/**
 * Builds a group from per-task parts. Each task's text is written as UTF-8 into one growing
 * buffer as it comes and decoded once at the end: kept as strings, a bundle's rows (each a
 * rope of several pieces) lived until the bundle ended and every young-generation collection
 * of the worker copied them (W0: a third of a worker's time; BENCHMARKS.md). Row text is
 * always well-formed (JSON.stringify escapes lone surrogates, decoded bytes have none), so the
 * round trip gives back the very same string.
 */
export class GroupBuilder {
  private readonly ids: string[] = [];
  private readonly attempts: number[] = [];
  private status = '';
  private readonly ms: number[] = [];
  private readonly ends: number[] = [];
  private bytes: Buffer | null = null;
  private used = 0;
  private length = 0;
  constructor(readonly job: string) {}

  add(id: string, attempt: number, ok: boolean, ms: number, text: string): void {
    this.ids.push(id);
    this.attempts.push(attempt);
    this.status += ok ? 'o' : 'e';
    this.ms.push(ms);
    this.write(text);
    this.length += text.length;
    this.ends.push(this.length);
  }

  get size(): number {
    return this.ids.length;
  }

  /** The text's length so far (UTF-16 units). */
  get chars(): number {
    return this.length;
  }

  build(): ResultGroup {
    const text = this.bytes ? this.bytes.toString('utf8', 0, this.used) : '';
    return { job: this.job, ids: this.ids, attempts: this.attempts, status: this.status, ms: this.ms, ends: this.ends, text };
  }

  private write(text: string): void {
    // A UTF-16 unit is at most 3 bytes of UTF-8.
    const most = this.used + text.length * 3;
    if (!this.bytes || most > this.bytes.length) {
      const grown = Buffer.allocUnsafe(Math.max(most, FIRST_BYTES, (this.bytes?.length ?? 0) * 2));
      if (this.bytes) this.bytes.copy(grown, 0, 0, this.used);
      this.bytes = grown;
    }
    this.used += this.bytes.write(text, this.used, 'utf8');
  }
}

/** Task i's text. */
export function taskText(g: { readonly text: string; readonly ends: readonly number[] }, i: number): string {
  return g.text.slice(i === 0 ? 0 : g.ends[i - 1]!, g.ends[i]!);
}

/**
 * Whether the columns agree: one entry per task in each, and task boundaries (`ends`) that
 * rise within the text and end with it. What each task's text holds is checked per task.
 */
export function columnsAgree(g: ResultGroup): boolean {
  const n = g.ids.length;
  if (g.attempts.length !== n || g.status.length !== n || g.ms.length !== n || g.ends.length !== n) return false;
  let start = 0;
  for (let i = 0; i < n; i++) {
    const end = g.ends[i]!;
    if (end <= start || end > g.text.length) return false;
    start = end;
  }
  return start === g.text.length;
}

/** The positions of the tasks whose text alone exceeds `maxChars` (none when the whole text is within it). */
export function oversized(g: ResultGroup, maxChars: number): number[] {
  if (g.text.length <= maxChars) return [];
  const out: number[] = [];
  for (let i = 0; i < g.ids.length; i++) if (g.ends[i]! - (i === 0 ? 0 : g.ends[i - 1]!) > maxChars) out.push(i);
  return out;
}

/** Splits a group so that no piece's text exceeds `maxChars` (a single task may still). */
export function splitGroup(g: ResultGroup, maxChars: number): ResultGroup[] {
  if (g.text.length <= maxChars) return [g];
  const out: ResultGroup[] = [];
  let b = new GroupBuilder(g.job);
  let chars = 0;
  for (let i = 0; i < g.ids.length; i++) {
    const t = taskText(g, i);
    if (b.size > 0 && chars + t.length > maxChars) {
      out.push(b.build());
      b = new GroupBuilder(g.job);
      chars = 0;
    }
    b.add(g.ids[i]!, g.attempts[i]!, g.status[i] === 'o', g.ms[i]!, t);
    chars += t.length;
  }
  if (b.size > 0) out.push(b.build());
  return out;
}
