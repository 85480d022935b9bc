/**
 * `shoal agent --strict-affinity`: an agent whose usable CPUs (its affinity mask, or its Slurm
 * allocation) are fewer than the workers it was asked for refuses to start, naming both
 * numbers; without the flag it warns once and runs with what it may use. The "ran on one
 * core" mistake, reproduced with `taskset -c 0`.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { uniqueNs } from '../helpers/nats.js';
import { runShoal, spawnShoal, startCoordinator, type LogLine } from '../helpers/shoal.js';
import { natsSuite } from '../helpers/suite.js';
import { within } from '../helpers/wait.js';

const ns = uniqueNs('affinity');
const conn = (): string[] => suite.conn(ns);

const suite = natsSuite('shoal-affinity-', {
  setup: async (s) => {
    const t = spawnSync('taskset', ['-c', '0', 'true']);
    if (t.status !== 0) throw new Error(`taskset is needed (util-linux) and must be able to pin to CPU 0: ${t.error?.message ?? t.stderr}`);
    await startCoordinator(s.nats.url, ns, join(s.dir, 'out'));
  },
});

interface Ran {
  code: number | null;
  stderr: string;
  logs: readonly LogLine[];
}

/** Runs `taskset -c CPUS shoal ...args` to its end (or SIGTERMs it once `stopAt` matched a log line), without the caller's SLURM_*. */
async function underTaskset(cpus: string, args: string[], o: { stopAt?: (l: LogLine) => boolean } = {}): Promise<Ran> {
  const noSlurm = Object.fromEntries(Object.keys(process.env).filter((k) => k.startsWith('SLURM_')).map((k) => [k, undefined]));
  const p = spawnShoal(args, { wrapper: ['taskset', '-c', cpus], env: noSlurm, cwd: suite.dir });
  if (o.stopAt) p.waitForLog(o.stopAt, 60_000).then(() => p.kill('SIGTERM'), () => undefined);
  const e = await within(p.exited, 60_000);
  assert.ok(e, `no end within 60 s:\n${p.describe()}`);
  return { code: e.code, stderr: p.stderr, logs: p.logs };
}

describe('agent --strict-affinity', () => {
  it('under taskset -c 0, asked for 2 workers, refuses to start (exit 2) and names both numbers', async () => {
    const r = await underTaskset('0', ['agent', ...conn(), '--workers', '2', '--strict-affinity']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /asked for 2 workers/, r.stderr);
    assert.match(r.stderr, /only 1 CPUs?/, r.stderr);
    assert.ok(!r.logs.some((l) => l.msg === 'joined the coordinator'), 'it must not join');
  });

  it('without the flag, warns once and runs with 1 worker', async () => {
    const r = await underTaskset('0', ['agent', ...conn(), '--workers', '2'], { stopAt: (l) => l.msg === 'joined the coordinator' });
    assert.equal(r.code, 0, r.stderr);
    const warnings = r.logs.filter((l) => typeof l.msg === 'string' && /asked for 2 workers/.test(l.msg));
    assert.equal(warnings.length, 1, `expected one warning:\n${r.stderr}`);
    assert.equal(warnings[0]!.level, 40, 'logged at warn level');
    assert.equal(warnings[0]!.usable, 1);
    const joined = r.logs.find((l) => l.msg === 'joined the coordinator');
    assert.equal(joined?.slots, 1, r.stderr);
  });

  it('with as many workers as usable CPUs, --strict-affinity starts', async () => {
    const r = await underTaskset('0', ['agent', ...conn(), '--workers', '1', '--strict-affinity'], { stopAt: (l) => l.msg === 'joined the coordinator' });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.logs.find((l) => l.msg === 'joined the coordinator')?.slots, 1, r.stderr);
  });

  it('under Slurm, the allocation counts too: SLURM_CPUS_ON_NODE=1 and --workers 2 refuse with --strict-affinity', async () => {
    const r = await runShoal(['agent', ...conn(), '--workers', '2', '--strict-affinity'], { env: { SLURM_JOB_ID: '4242', SLURM_CPUS_ON_NODE: '1', SLURMD_NODENAME: 'n7' } });
    assert.equal(r.code, 2, r.describe());
    assert.match(r.stderr, /asked for 2 workers but this process may use only 1 CPU/, r.describe());
  });
});
