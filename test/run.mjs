#!/usr/bin/env node
// Runs the compiled test files: unit, then integration and e2e (real nats-server, real processes).
// Usage: node test/run.mjs [unit|integration|e2e ...]   (default: all)
//
// Most integration tests spend their time waiting (for agent timeouts, drains, restarts), so
// files run in SHOAL_TEST_LANES lanes at once (default 3), plus a lane for the files that
// build hosts (real Slurm, network namespaces) and a lane for the files that mostly wait
// (a coordinator giving memory back, timeouts, restarts), which costs the machine little
// beside the others; both take shared files once their own are done. Files that measure the whole machine (a process eating memory, CPU
// affinity) run alone at the end.
// Each file's TAP output is printed whole when it ends; the last lines sum up all files.
import { readdirSync, statSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { spawn } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
const groups = process.argv.slice(2).length ? process.argv.slice(2) : ['unit', 'integration', 'e2e'];
const files = [];
const walk = (dir) => {
  if (!existsSync(dir)) return;
  for (const f of readdirSync(dir).sort()) {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) walk(p);
    else if (f.endsWith('.test.js')) files.push(p);
  }
};
for (const g of groups) walk(join(root, 'dist', 'test', g));
// Examples carry their own tests (e.g. the handler module beside its test).
if (groups.includes('unit')) walk(join(root, 'dist', 'examples'));
if (files.length === 0) {
  console.error(`no compiled test files under dist/test/{${groups.join(',')}}: run 'npm run build' first`);
  process.exit(1);
}

/**
 * Files that set up hosts (network namespaces, a real Slurm cluster) run one after the other
 * in a lane of their own, beside the others; files that measure the whole machine (memory
 * pressure, CPU affinity, three servers) run alone at the end.
 */
const HOSTS = [/\/e2e\/alloc\./, /\/e2e\/slurm/, /fault-partition\./];
const ALONE = [/fault-memory\./, /affinity\./, /security-cluster\./];
const lanes = Math.max(1, Number.parseInt(process.env.SHOAL_TEST_LANES ?? '3', 10) || 1);
const matches = (res, f) => res.some((re) => re.test(f));

// Long waiting files first (the longest measured here, in order), so the lanes end together;
// unit files fill the gaps at the end.
const LONG = ['fault-hostile', 'chaos', 'report', 'pipeline-faults', 'python', 'fleet', 'watch', 'resume-content', 'fault-sink', 'cache', 'command', 'fault-drain', 'skeleton', 'stages', 'frames'];
// Files that use a fifth of a core or less for most of their time, longest first (fault-hostile
// waits as long as scale, for memory given back: it leads a shared lane instead).
const WAITS = ['scale', 'fault-owner', 'resume-refused', 'silent-waits', 'fault-pause', 'fault-agent-loss', 'run-handlers', 'owner-lock'];
const rank = (f) => {
  const long = LONG.findIndex((name) => f.endsWith(`/${name}.test.js`));
  return long >= 0 ? long : f.includes('/integration/') ? LONG.length : LONG.length + 1;
};
const waiting = (f) => WAITS.some((name) => f.endsWith(`/${name}.test.js`));
const waits = WAITS.flatMap((name) => files.filter((f) => f.endsWith(`/${name}.test.js`)));
const shared = files.filter((f) => !matches(HOSTS, f) && !matches(ALONE, f) && !waiting(f)).sort((a, b) => rank(a) - rank(b));
// The longest first: the allocation test (a Slurm cluster and several allocations' lives).
const hosts = files.filter((f) => matches(HOSTS, f)).sort((a, b) => Number(/\/alloc\./.test(b)) - Number(/\/alloc\./.test(a)));
const solo = files.filter((f) => matches(ALONE, f));

const totals = { tests: 0, pass: 0, fail: 0, cancelled: 0, skipped: 0, todo: 0 };
const failed = [];

// Where GNU time is installed, each file's CPU seconds (its processes and the servers they
// started) are printed beside its wall time: what a file costs the machine, for ordering lanes.
const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : null;
const cpuDir = TIME ? mkdtempSync(join(tmpdir(), 'shoal-test-cpu-')) : null;
let cpuFiles = 0;

function runFile(file) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    // The file runs as the test process itself (no `--test` parent that would only spawn it):
    // one Node start less per file. Its exit code says whether every test passed.
    const args = ['--test-reporter=tap', '--test-timeout=600000', file];
    const cpuOut = cpuDir ? join(cpuDir, `${cpuFiles++}.txt`) : null;
    const child = cpuOut
      ? spawn(TIME, ['-q', '-f', '%U %S', '-o', cpuOut, process.execPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('close', (code, signal) => {
      const name = relative(join(root, 'dist'), file);
      const cpu = cpuOut && existsSync(cpuOut) ? readFileSync(cpuOut, 'utf8').trim().split(/\s+/).map(Number) : null;
      const cpuText = cpu && cpu.length === 2 && cpu.every(Number.isFinite) ? `, cpu ${(cpu[0] + cpu[1]).toFixed(1)} s` : '';
      process.stdout.write(`# ── ${name} (${((Date.now() - t0) / 1000).toFixed(1)} s${cpuText})\n${out}`);
      for (const k of Object.keys(totals)) {
        const m = new RegExp(`^# ${k} (\\d+)$`, 'm').exec(out);
        if (m) totals[k] += Number(m[1]);
      }
      if (code !== 0) failed.push(`${name} (${signal ?? `exit ${code}`})`);
      resolve();
    });
  });
}

async function runLanes(queue, n) {
  await Promise.all(
    Array.from({ length: n }, async () => {
      for (let f = queue.shift(); f; f = queue.shift()) await runFile(f);
    }),
  );
}

const t0 = Date.now();
// The hosts' and the waiting lanes take shared files too once their own are done.
await Promise.all([runLanes(shared, lanes), runLanes(hosts, 1).then(() => runLanes(shared, 1)), runLanes(waits, 1).then(() => runLanes(shared, 1))]);
await runLanes(solo, 1);
const secs = ((Date.now() - t0) / 1000).toFixed(1);
if (cpuDir) rmSync(cpuDir, { recursive: true, force: true });
console.log(`# files ${files.length}${failed.length ? `; failed: ${failed.join(', ')}` : ''}`);
console.log(`# tests ${totals.tests}\n# pass ${totals.pass}\n# fail ${totals.fail}\n# cancelled ${totals.cancelled}\n# skipped ${totals.skipped}\n# todo ${totals.todo}\n# duration_s ${secs}`);
console.log(`${totals.pass} passed, ${totals.fail + totals.cancelled} failed${totals.skipped ? `, ${totals.skipped} skipped` : ''}`);
process.exit(failed.length > 0 || totals.fail + totals.cancelled > 0 ? 1 : 0);
