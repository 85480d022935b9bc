/**
 * One measurement of the export bench in a process of its own, so that its peak RSS is the
 * export's alone: `node export-child.js FILE OUT` exports FILE as CSV to OUT and prints one JSON
 * line (seconds, rows, peak RSS, how much was put back in task order).
 */
import { readFileSync } from 'node:fs';
import { exportOutput } from '../../src/export/index.js';

function peakRss(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) * 1024 : process.memoryUsage().rss;
}

const [file, out] = process.argv.slice(2) as [string, string];
const baseRss = peakRss();
const t0 = performance.now();
const r = await exportOutput(file, { format: 'csv', out });
console.log(JSON.stringify({ seconds: (performance.now() - t0) / 1000, rows: r.rows, baseRss, peakRss: peakRss(), order: r.order }));
