/**
 * Records read from files by byte range (src/kinds/records): indexing a file of RECORDS_LINES
 * records (default 1,000,000) as .txt and as .csv, and reading every record back through one
 * reader. Each file is measured in a child process of its own (records-child.ts) for its peak
 * RSS; the note gives the index's bytes per record and the RSS the index added.
 *
 *   npm run bench -- records
 *   RECORDS_LINES=10000000 npm run bench -- records
 */
import { spawn } from 'node:child_process';
import { createWriteStream, statSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchRow } from './main.js';

/** Writes `n` lines made by `line(i)`, a megabyte or so at a time. */
async function writeLines(path: string, n: number, head: string | null, line: (i: number) => string): Promise<void> {
  const out = createWriteStream(path);
  let chunk = head === null ? '' : `${head}\n`;
  for (let i = 0; i < n; i++) {
    chunk += `${line(i)}\n`;
    if (chunk.length > 1 << 20) {
      if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
      chunk = '';
    }
  }
  out.end(chunk);
  await new Promise<void>((r) => out.on('finish', () => r()));
}

interface Measured {
  count: number;
  indexSeconds: number;
  indexBytes: number;
  baseRss: number;
  indexRss: number;
  readSeconds: number;
  reads: number;
  errors: number;
}

function measure(file: string, format: string): Promise<Measured> {
  const child = spawn(process.execPath, [new URL('./records-child.js', import.meta.url).pathname, file, format], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve, reject) => {
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as Measured) : reject(new Error(`records-child ${file} exited ${code}`))));
  });
}

const MB = 2 ** 20;

export async function benchRecords(dir: string): Promise<BenchRow[]> {
  const n = Number(process.env.RECORDS_LINES ?? 1_000_000);
  const files: Array<[string, string, string]> = [];
  const txt = join(dir, 'records.txt');
  await writeLines(txt, n, null, (i) => `CC(=O)Oc1ccccc1C(=O)O${i % 97 === 0 ? '' : 'N'} mol_${i}`);
  files.push([txt, 'txt', 'SMILES-like lines']);
  const csv = join(dir, 'records.csv');
  await writeLines(csv, n, 'id,smiles,note', (i) => (i % 10 === 0 ? `${i},CCO,"quoted, with a comma and a ""quote"""` : `${i},c1ccccc1O,plain`));
  files.push([csv, 'csv', 'a tenth of the rows quoted']);
  const rows: BenchRow[] = [];
  for (const [file, format, what] of files) {
    const m = await measure(file, format);
    if (m.count !== n || m.errors !== 0) throw new Error(`${file}: ${m.count} records, ${m.errors} errors; expected ${n} and none`);
    const size = statSync(file).size;
    rows.push({
      workload: 'records',
      mode: `index ${format}, ${(size / MB).toFixed(0)} MB (${what})`,
      tasks: m.count,
      seconds: +m.indexSeconds.toFixed(3),
      tasksPerSecond: Math.round(m.count / m.indexSeconds),
      note: `${(m.indexBytes / m.count).toFixed(1)} B/record in the index (${(m.indexBytes / MB).toFixed(1)} MB); peak RSS ${(m.indexRss / MB).toFixed(0)} MB (${((m.indexRss - m.baseRss) / MB).toFixed(0)} MB over the bare process); ${((size / MB) / m.indexSeconds).toFixed(0)} MB/s`,
    });
    rows.push({
      workload: 'records',
      mode: `read every ${format} record, 1 reader`,
      tasks: m.count,
      seconds: +m.readSeconds.toFixed(3),
      tasksPerSecond: Math.round(m.count / m.readSeconds),
      note: `${m.reads} reads of the file (read-ahead blocks)`,
    });
  }
  return rows;
}
