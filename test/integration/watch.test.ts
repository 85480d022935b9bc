/**
 * `shoal status --watch` against a real coordinator and agent: in a pseudo-terminal (a tmux
 * pane) it redraws a progress bar that advances and ends on the finished job with the agent
 * table; in a pipe with --json every refresh is one JSON document per line; in a pipe
 * without it, plain lines.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { uniqueNs } from '../helpers/nats.js';
import { cliPath } from '../helpers/paths.js';
import { runShoal, spawnShoal, startAgent, startCoordinator, type ShoalProcess } from '../helpers/shoal.js';
import { natsSuite } from '../helpers/suite.js';
import { until, within } from '../helpers/wait.js';

/** tmux on a private server socket in the test's temp dir (never the user's own sessions). */
function tmux(...args: string[]): string {
  try {
    return execFileSync('tmux', ['-S', join(suite.dir, 'tmux.sock'), ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new Error('this test needs tmux (a pseudo-terminal): apt-get install tmux');
    throw err;
  }
}

const suite = natsSuite('shoal-watch-', {
  cleanup: () => {
    try {
      tmux('kill-server');
    } catch {
      // No server was started.
    }
  },
});

const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

interface Frame {
  done: number;
  filled: number;
  text: string;
}

/** The job's progress in a captured screen: the bar line `███░░░ 42%  168/400 ...`. */
function frameOf(screen: string, total: number): Frame | null {
  const m = new RegExp(`([█░]{10,})\\s+\\d+(?:\\.\\d)?%\\s+(\\d+)/${total}\\b`).exec(screen);
  if (!m) return null;
  return { done: Number(m[2]), filled: [...m[1]!].filter((c) => c === '█').length, text: screen };
}

describe('status --watch', () => {
  const ns = uniqueNs('watch');
  const conn = (): string[] => suite.conn(ns);
  let agent: ShoalProcess;
  let agentId: string;

  before(async () => {
    await startCoordinator(suite.nats.url, ns, join(suite.dir, 'out'));
    ({ proc: agent, id: agentId } = await startAgent(suite.nats.url, ns, ['--workers', '1']));
  });

  it('on a terminal redraws a progress bar that advances, then shows the finished job and the agents', async () => {
    const sub = await runShoal(['submit', 'spin', '--tasks', '400', '--ms', '15', '--job', 'W1', ...conn()]);
    assert.equal(sub.code, 0, sub.describe());
    const cmd = [process.execPath, cliPath, 'status', 'W1', '--watch', '--interval', '0.2', ...conn()].map(quote).join(' ');
    tmux('new-session', '-d', '-s', 'watch', '-x', '120', '-y', '40', `${cmd}; echo "WATCH-EXIT=$?"; sleep 600`);
    const capture = (): string => tmux('capture-pane', '-p', '-t', 'watch');

    // Two frames of the running job with more done in the second, and a longer bar.
    const first = await until(() => `a progress bar on the screen:\n${capture()}`, () => {
      const f = frameOf(capture(), 400);
      return f && f.done < 400 ? f : null;
    });
    const later = await until(() => `the bar to advance from ${first.done}/400:\n${capture()}`, () => {
      const f = frameOf(capture(), 400);
      return f && f.done > first.done && f.filled > first.filled ? f : null;
    });
    assert.ok(later.done > first.done);
    // Redrawn in place: one bar on the screen, not one per refresh.
    assert.equal(later.text.match(/\d+\/400/g)?.length, 1, later.text);

    const final = await until(() => `watch to end with the job:\n${capture()}`, () => (/WATCH-EXIT=\d+/.test(capture()) ? capture() : null));
    assert.match(final, /WATCH-EXIT=0/);
    assert.match(final, /W1\s+spin\s+done/);
    assert.match(final, /█{20,}\s+100%\s+400\/400/);
    assert.match(final, /failed 0\s+retried 0/);
    assert.match(final, /AGENT\s+HOST\s+STATE\s+BUSY\/SLOTS\s+MEM FREE\s+DONE\s+HEARTBEAT/);
    assert.match(final, new RegExp(`${agentId}\\s+\\S+\\s+active\\s+\\d/1\\s+\\S+\\s+400\\s+\\d+\\.\\ds ago`));
  });

  it('without a job it refreshes until Ctrl-C, then exits 0 leaving the last screen', async () => {
    const cmd = [process.execPath, cliPath, 'status', '--watch', '--interval', '0.2', ...conn()].map(quote).join(' ');
    // bash carries on after a child that handled SIGINT itself (sh would quit with it).
    tmux('new-session', '-d', '-s', 'forever', '-x', '120', '-y', '40', `bash -c ${quote(`${cmd}; echo "WATCH-EXIT=$?"; sleep 600`)}`);
    const capture = (): string => tmux('capture-pane', '-p', '-t', 'forever');
    await until(() => `a status screen:\n${capture()}`, () => /AGENT\s+HOST/.test(capture()));
    tmux('send-keys', '-t', 'forever', 'C-c');
    const final = await until(() => `watch to stop on Ctrl-C:\n${capture()}`, () => (/WATCH-EXIT=\d+/.test(capture()) ? capture() : null));
    assert.match(final, /WATCH-EXIT=0/);
    assert.match(final, /W1\s+spin\s+done/, 'the last screen stays');
  });

  it('--json prints one status document per refresh, one per line; a pipe without it gets plain lines', async () => {
    // The agent stands still until the watch has shown the job once, so the watch sees it run however slow the machine.
    agent.kill('SIGSTOP');
    let watch: ShoalProcess;
    try {
      const sub = await runShoal(['submit', 'spin', '--tasks', '150', '--ms', '10', '--job', 'W2', ...conn()]);
      assert.equal(sub.code, 0, sub.describe());
      watch = spawnShoal(['status', 'W2', '--watch', '--json', '--interval', '0.2', ...conn()]);
      await until(() => `a first refresh:\n${watch.describe()}`, () => watch.stdout.includes('\n') || !watch.alive);
    } finally {
      agent.kill('SIGCONT');
    }
    const r = { code: (await within(watch.exited, 60_000))?.code, stdout: watch.stdout, describe: () => watch.describe() };
    assert.equal(r.code, 0, r.describe());
    const docs = r.stdout.trimEnd().split('\n').map((line, i) => {
      try {
        return JSON.parse(line) as { kind: string; jobs: Array<{ job: string; state: string; done: number; total: number }>; agents: unknown[] };
      } catch (err) {
        return assert.fail(`line ${i + 1} of --watch --json is not JSON (${(err as Error).message}): ${line}`);
      }
    });
    assert.ok(docs.length >= 2, `expected several refreshes, got ${docs.length}`);
    for (const d of docs) {
      assert.equal(d.kind, 'status');
      assert.equal(d.jobs.length, 1);
      assert.equal(d.jobs[0]!.job, 'W2');
      assert.ok(Array.isArray(d.agents));
    }
    const done = docs.map((d) => d.jobs[0]!.done);
    assert.deepEqual(done, [...done].sort((a, b) => a - b), 'done never goes back');
    assert.equal(docs.at(-1)!.jobs[0]!.state, 'done');
    assert.equal(docs.at(-1)!.jobs[0]!.done, 150);
    assert.ok(!r.stdout.includes('\x1b'), 'no escape codes in a pipe');

    const plain = await runShoal(['status', 'W2', '--watch', ...conn()]);
    assert.equal(plain.code, 0, plain.describe());
    assert.match(plain.stdout, /^\S+Z W2 done 150\/150 failed=0 retried=0 running=0 rate=\S+\/s eta=- agents=1 busy=\d\/1\n$/);
  });
});
