/**
 * `shoal export` of a large output to CSV: EXPORT_ROWS rows (default 1,000,000, about 200 MB)
 * of single-row tasks in task order (streamed as they are), the same rows in completion order
 * (every task out of order: its spans sorted, in files past 250,000), and frame chunks of 100
 * rows in completion order (few spans). Each export runs in a child process of its own
 * (export-child.ts) for its peak RSS.
 *
 *   npm run bench -- export
 *   EXPORT_ROWS=10000000 npm run bench -- export
 */
import { spawn } from 'node:child_process';
import { createWriteStream, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchRow } from './main.js';

interface Measured {
  seconds: number;
  rows: number;
  baseRss: number;
  peakRss: number;
  order: { moved: number; spills: number };
}

/** A permutation of 0..n-1, the same on every run (a linear congruential shuffle). */
function shuffled(n: number): Uint32Array {
  const a = new Uint32Array(n);
  for (let i = 0; i < n; i++) a[i] = i;
  let s = 12345;
  for (let i = n - 1; i > 0; i--) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    const j = s % (i + 1);
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

/** Writes `n` rows: task `order[k]`'s rows k-th; `per` rows per task (index and of when more than one). */
async function writeRows(path: string, n: number, per: number, order: (k: number) => number): Promise<void> {
  const out = createWriteStream(path, { highWaterMark: 1 << 20 });
  const tasks = n / per;
  const width = String(tasks).length;
  for (let k = 0; k < tasks; k++) {
    const t = order(k);
    const id = per === 1 ? `spin_${String(t).padStart(width, '0')}` : `frames_${String(t * per).padStart(String(n).length, '0')}-${String(t * per + per - 1).padStart(String(n).length, '0')}`;
    let chunk = '';
    for (let r = 0; r < per; r++) {
      const idx = per === 1 ? '' : `,"index":${t * per + r},"of":${per}`;
      chunk += `{"job":"B","task":"${id}","kind":"bench","status":"ok","attempt":1,"agent":"n1-7","host":"n1","worker":3,"start":1763800000123,"end":1763800000456${idx},"value":{"ms":${t % 97},"rg":${(t * 0.37) % 11},"note":"row ${k}"}}\n`;
    }
    if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  out.end();
  await new Promise<void>((r) => out.on('finish', () => r()));
}

function measure(file: string, out: string): Promise<Measured> {
  const child = spawn(process.execPath, [new URL('./export-child.js', import.meta.url).pathname, file, out], { stdio: ['ignore', 'pipe', 'inherit'] });
  let text = '';
  child.stdout.on('data', (d: Buffer) => (text += d.toString()));
  return new Promise((resolve, reject) => {
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(text) as Measured) : reject(new Error(`export-child ${file} exited ${code}`))));
  });
}

const MB = 2 ** 20;

export async function benchExport(dir: string): Promise<BenchRow[]> {
  const n = Number(process.env.EXPORT_ROWS ?? 1_000_000);
  const perm = shuffled(n);
  const chunks = shuffled(n / 100);
  const cases: Array<[string, number, (k: number) => number]> = [
    ['single-row tasks in task order', 1, (k) => k],
    ['single-row tasks in completion order', 1, (k) => perm[k]!],
    ['chunks of 100 rows in completion order', 100, (k) => chunks[k]!],
  ];
  const rows: BenchRow[] = [];
  for (const [mode, per, order] of cases) {
    const file = join(dir, 'export.jsonl');
    await writeRows(file, n, per, order);
    const bytes = statSync(file).size;
    const m = await measure(file, join(dir, 'export.csv'));
    rows.push({
      workload: 'export',
      mode,
      tasks: m.rows,
      seconds: +m.seconds.toFixed(3),
      tasksPerSecond: Math.round(m.rows / m.seconds),
      note: `${(bytes / MB).toFixed(0)} MB JSONL → CSV, ${(bytes / MB / m.seconds).toFixed(0)} MB/s; peak RSS ${(m.peakRss / MB).toFixed(0)} MB (${(m.baseRss / MB).toFixed(0)} MB at start); ${m.order.moved} runs moved into task order, ${m.order.spills} sort files`,
    });
    rmSync(file, { force: true });
    rmSync(join(dir, 'export.csv'), { force: true });
  }
  return rows;
}
