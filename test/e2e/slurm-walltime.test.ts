/**
 * `shoal agent --drain-before S`: under Slurm, the agent drains by itself S seconds before the
 * job's walltime ends. The end time comes from SLURM_JOB_END_TIME or, where Slurm does not set
 * it (22.05), from `squeue -o %e` (that path runs on a real cluster in slurm.test.ts). Here:
 * the parsing, the timer, and real agent processes given SLURM_JOB_END_TIME; no Slurm needed.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { armWalltimeDrain, parseSlurmTime } from '../../src/cli/commands/daemons.js';
import { silentLogger } from '../../src/log.js';
import { uniqueNs } from '../helpers/nats.js';
import { spawnShoal, startCoordinator } from '../helpers/shoal.js';
import { natsSuite } from '../helpers/suite.js';

describe('parseSlurmTime (squeue -o %e)', () => {
  it('reads a local date-time', () => {
    assert.equal(parseSlurmTime('2025-11-22T14:03:09\n'), new Date(2025, 10, 22, 14, 3, 9).getTime());
  });
  it('gives null for jobs without a time limit and for anything else', () => {
    for (const s of ['NONE', 'Unknown', 'N/A', '', 'INVALID', '2025-11-22 14:03:09']) assert.equal(parseSlurmTime(s), null, s);
  });
});

describe('armWalltimeDrain', () => {
  const agent = (): { drain(): Promise<number>; calls: number } => {
    const a = { calls: 0, drain: async () => (a.calls++, 0) };
    return a;
  };

  it('drains at once when the walltime ends within --drain-before', () => {
    const a = agent();
    const disarm = armWalltimeDrain(a, 1_000_000 + 60_000, 120, silentLogger(), () => 1_000_000);
    assert.equal(a.calls, 1);
    disarm();
  });

  it('waits while the drain point is ahead, and disarms', () => {
    const a = agent();
    const disarm = armWalltimeDrain(a, Date.now() + 3_600_000, 120, silentLogger());
    assert.equal(a.calls, 0);
    disarm();
  });
});

describe('agent under a Slurm walltime (SLURM_JOB_END_TIME)', () => {
  const ns = uniqueNs('walltime');
  const suite = natsSuite('shoal-walltime-', { setup: (s) => startCoordinator(s.nats.url, ns, join(s.dir, 'out')) });
  const conn = (): string[] => suite.conn(ns);
  const slurmEnv = (endInS: number): Record<string, string> => ({
    SLURM_JOB_ID: '777',
    SLURMD_NODENAME: 'wall1',
    SLURM_CPUS_ON_NODE: '1',
    SLURM_JOB_END_TIME: String(Math.floor(Date.now() / 1000) + endInS),
  });

  it('joins, then drains by itself --drain-before seconds before the end, and exits 0', async (t) => {
    // --drain-before 2 min and a job that ends a few seconds after that: a few seconds of work,
    // then the drain. The margin must cover the agent's start; where a loaded machine starts it
    // later than that (it then drains at once, as the next test shows), the margin grows.
    for (const margin of [6, 15, 30]) {
      const a = spawnShoal(['agent', ...conn(), '--drain-before', '120', '--grace', '5'], { env: slurmEnv(120 + margin), t });
      const first = await a.waitForLog((l) => l.msg === 'will drain before the Slurm walltime ends' || l.msg === 'the Slurm job ends within --drain-before: draining at once (lower --drain-before for short jobs)');
      if (first.msg !== 'will drain before the Slurm walltime ends') {
        t.diagnostic(`the agent started after ${margin} s of margin had passed; trying a wider margin`);
        assert.deepEqual(await a.exited, { code: 0, signal: null }, a.describe());
        continue;
      }
      assert.equal(first.drainBeforeS, 120);
      await a.waitForLog('joined the coordinator');
      await a.waitForLog('the Slurm job ends soon: draining', (margin + 30) * 1000);
      assert.deepEqual(await a.exited, { code: 0, signal: null }, a.describe());
      assert.equal(a.logs.find((l) => l.msg === 'agent stopped')?.why, 'drained', a.describe());
      return;
    }
    assert.fail('the agent never started within 30 s of margin');
  });

  it('drains at once, with a warning that says what to change, when less than --drain-before is left', async (t) => {
    const a = spawnShoal(['agent', ...conn(), '--drain-before', '120'], { env: slurmEnv(60), t });
    const warn = await a.waitForLog((l) => typeof l.msg === 'string' && l.msg.includes('lower --drain-before'));
    assert.equal(warn.level, 40);
    assert.deepEqual(await a.exited, { code: 0, signal: null }, a.describe());
  });

  it('--drain-before 0 never drains on its own', async (t) => {
    const a = spawnShoal(['agent', ...conn(), '--drain-before', '0'], { env: slurmEnv(60), t });
    await a.waitForLog('joined the coordinator');
    assert.ok(!a.logs.some((l) => l.msg === 'will drain before the Slurm walltime ends' || l.msg === 'draining'), a.describe());
    a.kill('SIGTERM');
    assert.deepEqual(await a.exited, { code: 0, signal: null }, a.describe());
  });
});
