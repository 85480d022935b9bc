/**
 * One measurement of the records bench in a process of its own, so that its peak RSS is the
 * index's alone: `node records-child.js FILE FORMAT` indexes FILE, reads every record back
 * through a reader, and prints one JSON line (times, record count, index bytes, peak RSS).
 */
import { readFileSync } from 'node:fs';
import { indexRecords, RecordReader, type RecordFormat } from '../../src/kinds/records/index.js';

function peakRss(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) * 1024 : process.memoryUsage().rss;
}

const [file, format] = process.argv.slice(2) as [string, RecordFormat];
const baseRss = peakRss();
const t0 = performance.now();
const index = await indexRecords(file, format);
const indexSeconds = (performance.now() - t0) / 1000;
const indexRss = peakRss();
const reader = await RecordReader.open(file, format, { stamp: index.stamp });
const t1 = performance.now();
let errors = 0;
for (let i = 0; i < index.count; i++) {
  try {
    reader.read(index.ref(i));
  } catch {
    errors++;
  }
}
const readSeconds = (performance.now() - t1) / 1000;
reader.close();
console.log(JSON.stringify({ count: index.count, indexSeconds, indexBytes: index.bytes, baseRss, indexRss, readSeconds, reads: reader.reads, errors }));
