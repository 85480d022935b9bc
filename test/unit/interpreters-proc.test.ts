/**
 * The agent's measure of its interpreters from /proc: VmRSS and the start time parsed from
 * real texts (odd command names included), a process that is gone counts nothing and is
 * forgotten, and so is a pid that now names another process. Then the real /proc: this
 * process's own resident size.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { InterpreterWatch, parseStartTime, parseVmRss } from '../../agents/interpreters.js';

const STATUS = 'Name:\tpython3\nUmask:\t0022\nState:\tS (sleeping)\nVmPeak:\t  420000 kB\nVmRSS:\t  312456 kB\nRssAnon:\t  300000 kB\nThreads:\t1\n';
const stat = (comm: string, start: number): string => `4242 (${comm}) S 4241 4241 4241 0 -1 4194304 1000 0 0 0 12 3 0 0 20 0 1 0 ${start} 430000000 78114 18446744073709551615 1 1 0 0 0 0 0 16781312 2 0 0 0 17 3 0 0 0 0 0\n`;

test('VmRSS in bytes; none for a process without it', () => {
  assert.equal(parseVmRss(STATUS), 312456 * 1024);
  assert.equal(parseVmRss('Name:\tkworker/0:1\nState:\tI (idle)\n'), null);
  assert.equal(parseVmRss('VmRSSx:\t12 kB\n'), null);
});

test('the start time is field 22, whatever the command name holds', () => {
  assert.equal(parseStartTime(stat('python3', 987654)), '987654');
  assert.equal(parseStartTime(stat('a) b (c', 55)), '55');
  assert.equal(parseStartTime('garbage'), null);
});

test('a watch counts the pids it was told of while they live, and forgets the gone and the reused', async () => {
  const proc = mkdtempSync(join(tmpdir(), 'shoal-proc-'));
  try {
    const put = (pid: number, rssKb: number, start: number): void => {
      mkdirSync(join(proc, String(pid)), { recursive: true });
      writeFileSync(join(proc, String(pid), 'status'), STATUS.replace('312456', String(rssKb)));
      writeFileSync(join(proc, String(pid), 'stat'), stat('python3', start));
    };
    put(11, 1000, 5);
    put(12, 2000, 6);
    const w = new InterpreterWatch(() => true, () => undefined, proc);
    try {
      w.add(11, 'A');
      w.add(12, 'B');
      w.add(13, 'B');
      assert.deepEqual(await w.measure(), [
        { pid: 11, job: 'A', rss: 1000 * 1024 },
        { pid: 12, job: 'B', rss: 2000 * 1024 },
      ]);
      // 11 ended and its pid went to another process; 12 ended; 13 never was.
      rmSync(join(proc, '12'), { recursive: true });
      put(11, 9000, 77);
      assert.deepEqual(await w.measure(), []);
      put(12, 2000, 6);
      assert.deepEqual(await w.measure(), [], 'forgotten pids are not measured again');
    } finally {
      w.close();
    }
  } finally {
    rmSync(proc, { recursive: true, force: true });
  }
});

test('the real /proc: this process measures as its own VmRSS', async () => {
  const w = new InterpreterWatch(() => true, () => undefined);
  try {
    w.add(process.pid, 'self');
    const [m] = await w.measure();
    const own = parseVmRss(readFileSync('/proc/self/status', 'utf8'))!;
    assert.ok(m && m.job === 'self' && m.rss > 10 * 2 ** 20, JSON.stringify(m));
    assert.ok(Math.abs(m.rss - own) < own / 2, `${m.rss} vs ${own}`);
  } finally {
    w.close();
  }
});
