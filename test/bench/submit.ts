/**
 * A submit whose inputs file is large: `shoal submit` of a handler job on a SUBMIT_GB (default 1)
 * GB .jsonl file over NATS, timed from process start to exit, with no agent (the job is
 * admitted and waits): the first submit (the coordinator hashes the file, then indexes it), the
 * same job submitted again after a cancel (the record's hash is taken: size and mtime are
 * unchanged), and again after a touch (hashed again). Beside them: the same submit of a
 * one-line file (the CLI and the round trip alone), and the sha256 of the file alone.
 *
 *   npm run bench -- submit
 *   SUBMIT_GB=4 npm run bench -- submit
 */
import { spawn } from 'node:child_process';
import { createWriteStream, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hashFile } from '../../coordinator/jobs/content-hash.js';
import { startNatsServer } from '../../src/nats-server.js';
import { cliPath } from '../helpers/paths.js';
import { until } from '../helpers/wait.js';
import type { BenchRow } from './main.js';

interface Done {
  code: number | null;
  stdout: string;
  stderr: string;
  seconds: number;
}

function shoal(args: string[]): { done: Promise<Done>; kill(): void } {
  const t0 = performance.now();
  const child = spawn(process.execPath, [cliPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-8000)));
  return { done: new Promise((r) => child.on('exit', (code) => r({ code, stdout, stderr, seconds: (performance.now() - t0) / 1000 }))), kill: () => child.kill('SIGTERM') };
}

/** Writes about `bytes` of one-kilobyte JSON lines; returns how many. */
async function writeBig(path: string, bytes: number): Promise<number> {
  const out = createWriteStream(path);
  const pad = 'x'.repeat(1000);
  let n = 0;
  let written = 0;
  while (written < bytes) {
    let chunk = '';
    for (let i = 0; i < 1024; i++, n++) chunk += `{"i":${n},"pad":"${pad}"}\n`;
    written += Buffer.byteLength(chunk);
    if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  out.end();
  await new Promise<void>((r) => out.on('finish', () => r()));
  return n;
}

export async function benchSubmit(dir: string): Promise<BenchRow[]> {
  const gb = Number(process.env.SUBMIT_GB ?? 1);
  const big = join(dir, 'submit-big.jsonl');
  const records = await writeBig(big, gb * 2 ** 30);
  const small = join(dir, 'submit-small.jsonl');
  writeFileSync(small, '{"i":0}\n');
  const server = await startNatsServer();
  const common = ['--nats', server.url, '--ns', `bench-submit${Date.now().toString(36)}`];
  const coord = shoal(['coordinator', ...common, '--out-dir', join(dir, 'submit-out'), '--log-level', 'warn']);
  const rows: BenchRow[] = [];
  const size = `${gb} GB .jsonl, ${records.toLocaleString('en')} records`;
  try {
    await until('the coordinator to answer', async () => (await shoal(['status', ...common, '--json']).done).code === 0);
    const submit = async (job: string, file: string, mode: string, n: number): Promise<void> => {
      const r = await shoal(['submit', 'bench-kind', '--inputs', file, '--job', job, ...common]).done;
      const note = r.code === 0 ? '' : `refused (exit ${r.code}): ${r.stderr.trim().split('\n').pop()}`;
      rows.push({ workload: 'submit', mode, tasks: n, seconds: +r.seconds.toFixed(3), tasksPerSecond: Math.round(n / r.seconds), ...(note ? { note } : {}) });
    };
    const cancel = async (job: string): Promise<void> => {
      const r = await shoal(['cancel', job, ...common]).done;
      if (r.code !== 0) throw new Error(`cancel ${job} failed (${r.code}): ${r.stderr}`);
      await until(`job ${job} to end`, async () => {
        const st = await shoal(['status', job, ...common, '--json']).done;
        return st.code === 0 && (JSON.parse(st.stdout) as { jobs: Array<{ state: string }> }).jobs.every((j) => j.state !== 'running');
      });
    };
    await submit('small', small, 'one-line inputs file (the CLI and the round trip)', 1);
    await submit('big', big, `${size}, first submit`, records);
    await cancel('big');
    await submit('big', big, `${size}, submitted again (unchanged)`, records);
    await cancel('big');
    const later = Date.now() / 1000 + 60;
    utimesSync(big, later, later);
    await submit('big', big, `${size}, submitted again after a touch`, records);
    const t0 = performance.now();
    await hashFile(big);
    const s = (performance.now() - t0) / 1000;
    rows.push({ workload: 'submit', mode: `sha256 of the ${gb} GB file alone, 1 thread`, tasks: records, seconds: +s.toFixed(3), tasksPerSecond: Math.round(records / s), note: `${((gb * 1024) / s).toFixed(0)} MB/s from the page cache` });
  } finally {
    coord.kill();
    await coord.done;
    await server.stop();
  }
  return rows;
}
