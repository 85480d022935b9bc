/**
 * `shoal agent --strict-affinity`: an agent whose usable CPUs (its affinity mask, or its Slurm
 * allocation) are fewer than the workers it was asked for refuses to start, naming both
 * numbers; without the flag it warns once and runs with what it may use. The "ran on one
 * core" mistake, reproduced with `taskset -c 0`.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startTestNats, uniqueNs, type TestNats } from '../helpers/nats.js';
import { cliPath } from '../helpers/paths.js';
import { killLeftovers, runShoal, spawnShoal, type ShoalProcess } from '../helpers/shoal.js';

let nats: TestNats;
let tmp: string;
const ns = uniqueNs('affinity');
let coord: ShoalProcess;
const conn = (): string[] => ['--nats', nats.url, '--ns', ns];

/** The environment of the agents: no SHOAL_* or SLURM_* of the caller's. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('SHOAL_') && !k.startsWith('SLURM_')) env[k] = v;
  return { ...env, ...extra };
}

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
  logs: Array<Record<string, unknown>>;
}

/** Runs `taskset -c CPUS node cli ...args` to its end (or SIGTERMs it once `until` matched a log line). */
function underTaskset(cpus: string, args: string[], o: { until?: (l: Record<string, unknown>) => boolean; env?: Record<string, string> } = {}): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn('taskset', ['-c', cpus, process.execPath, cliPath, ...args], { env: cleanEnv(o.env), stdio: ['ignore', 'pipe', 'pipe'], cwd: tmp });
    let stdout = '';
    let stderr = '';
    const logs: Array<Record<string, unknown>> = [];
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      for (const line of d.split('\n')) {
        if (!line.startsWith('{')) continue;
        try {
          const l = JSON.parse(line) as Record<string, unknown>;
          logs.push(l);
          if (o.until?.(l)) child.kill('SIGTERM');
        } catch {
          // a line split across chunks: the full stderr is still checked below
        }
      }
    });
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, logs });
    });
  });
}

before(async () => {
  const t = spawnSync('taskset', ['-c', '0', 'true']);
  if (t.status !== 0) throw new Error(`taskset is needed (util-linux) and must be able to pin to CPU 0: ${t.error?.message ?? t.stderr}`);
  nats = await startTestNats();
  tmp = mkdtempSync(join(tmpdir(), 'shoal-affinity-'));
  coord = spawnShoal(['coordinator', ...conn(), '--out-dir', join(tmp, 'out')]);
  await coord.waitForLog('coordinator ready');
});

after(async () => {
  await killLeftovers();
  await nats?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('agent --strict-affinity', () => {
  it('under taskset -c 0, asked for 2 workers, refuses to start (exit 2) and names both numbers', async () => {
    const r = await underTaskset('0', ['agent', ...conn(), '--workers', '2', '--strict-affinity']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /asked for 2 workers/, r.stderr);
    assert.match(r.stderr, /only 1 CPUs?/, r.stderr);
    assert.ok(!r.logs.some((l) => l.msg === 'joined the coordinator'), 'it must not join');
  });

  it('without the flag, warns once and runs with 1 worker', async () => {
    const r = await underTaskset('0', ['agent', ...conn(), '--workers', '2'], { until: (l) => l.msg === 'joined the coordinator' });
    assert.equal(r.code, 0, r.stderr);
    const warnings = r.logs.filter((l) => typeof l.msg === 'string' && /asked for 2 workers/.test(l.msg));
    assert.equal(warnings.length, 1, `expected one warning:\n${r.stderr}`);
    assert.equal(warnings[0]!.level, 40, 'logged at warn level');
    assert.equal(warnings[0]!.usable, 1);
    const joined = r.logs.find((l) => l.msg === 'joined the coordinator');
    assert.equal(joined?.slots, 1, r.stderr);
  });

  it('with as many workers as usable CPUs, --strict-affinity starts', async () => {
    const r = await underTaskset('0', ['agent', ...conn(), '--workers', '1', '--strict-affinity'], { until: (l) => l.msg === 'joined the coordinator' });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.logs.find((l) => l.msg === 'joined the coordinator')?.slots, 1, r.stderr);
  });

  it('under Slurm, the allocation counts too: SLURM_CPUS_ON_NODE=1 and --workers 2 refuse with --strict-affinity', async () => {
    const r = await runShoal(['agent', ...conn(), '--workers', '2', '--strict-affinity'], { env: { SLURM_JOB_ID: '4242', SLURM_CPUS_ON_NODE: '1', SLURMD_NODENAME: 'n7' } });
    assert.equal(r.code, 2, r.describe());
    assert.match(r.stderr, /asked for 2 workers but this process may use only 1 CPU/, r.describe());
  });
});
