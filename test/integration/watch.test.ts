/**
 * `shoal status --watch` against a real coordinator and agent: in a pseudo-terminal (a tmux
 * pane) it redraws a progress bar that advances and ends on the finished job with the agent
 * table; in a pipe with --json every refresh is one JSON document per line; in a pipe
 * without it, plain lines. A coordinator SIGKILLed under a watch is said to be unreachable
 * (since when, for how long) until a new one on the same namespace answers, and the counts go
 * on. A finished job's rate is its average and stays so; a drained agent is shown as left
 * with nothing busy, then drops off the list.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { uniqueNs } from '../helpers/nats.js';
import { cliPath } from '../helpers/paths.js';
import { runShoal, spawnShoal, startAgent, startCoordinator, type ShoalProcess } from '../helpers/shoal.js';
import { natsSuite } from '../helpers/suite.js';
import { GiveUp, until, within } from '../helpers/wait.js';

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

/** The job's progress in a captured screen: its table row `W1  spin  running  168/400 ...` and the bar below it. */
function frameOf(screen: string, total: number): Frame | null {
  const m = new RegExp(`W1\\s+spin\\s+\\S+\\s+(\\d+)/${total}\\b[^\\n]*\\n\\s*([█░]{10,})\\s+\\d+(?:\\.\\d)?%`).exec(screen);
  if (!m) return null;
  return { done: Number(m[1]), filled: [...m[2]!].filter((c) => c === '█').length, text: screen };
}

/** The figures of a job's plain lines (`... R1 running done=12/100 ...`) in a watch's output, in order. */
function plainDone(text: string, job: string): number[] {
  return [...text.matchAll(new RegExp(`^\\S+Z ${job} \\S+ done=(\\d+)/`, 'gm'))].map((m) => Number(m[1]));
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
    const sub = await runShoal(['submit', 'spin', '--tasks', '400', '--sleep', '--ms', '15', '--job', 'W1', ...conn()]);
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
    // The columns of `shoal status`, each figure with its unit; ETA '-' once ended.
    assert.match(final, /JOB\s+KIND\s+STATE\s+DONE\s+FAILED\s+RUNNING\s+QUEUED\s+RETRIED\s+SPECULATED\s+RATE\s+ETA/);
    assert.match(final, /W1\s+spin\s+done\s+400\/400\s+0\s+0\s+0\s+0\s+\d+\s+[\d.]+k?\/s\s+-\n\s*█{20,}\s+100%/);
    assert.match(final, /AGENT\s+HOST\s+STATE\s+BUSY\/SLOTS\s+MEM FREE\s+DONE\s+SEEN/);
    assert.match(final, new RegExp(`${agentId}\\s+\\S+\\s+active\\s+\\d/1\\s+[\\d.]+[GMK]iB\\s+400\\s+\\d+\\.\\ds ago`));
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
      const sub = await runShoal(['submit', 'spin', '--tasks', '150', '--sleep', '--ms', '10', '--job', 'W2', ...conn()]);
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
        return JSON.parse(line) as { kind: string; jobs: Array<{ job: string; state: string; done: number; total: number; rate: number; startedAt: number; endedAt: number | null }>; agents: unknown[] };
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

    // An ended job's rate is its average over the time it ran, and stays so.
    const last = docs.at(-1)!.jobs[0]!;
    assert.ok(last.endedAt !== null);
    const average = last.done / ((last.endedAt - last.startedAt) / 1000);
    assert.ok(Math.abs(last.rate - average) <= 1e-9 * average, `rate ${last.rate}, average ${average}`);

    const plain = await runShoal(['status', 'W2', '--watch', ...conn()]);
    assert.equal(plain.code, 0, plain.describe());
    assert.match(plain.stdout, /^\S+Z W2 done done=150\/150 failed=0 running=0 queued=0 retried=0 speculated=0 rate=\S+\/s eta=- agents=1 busy=\d\/1\n$/);
    const later = (JSON.parse((await runShoal(['status', 'W2', '--json', ...conn()])).stdout) as { jobs: Array<{ rate: number }> }).jobs[0]!;
    assert.equal(later.rate, last.rate, 'the rate of an ended job does not decay');
  });

  it('rides out a coordinator SIGKILLed and restarted on the same namespace: says since when it is unreachable, then shows fresh counts', async () => {
    const rns = uniqueNs('watch-restart');
    const out = join(suite.dir, 'out-restart');
    let coord = await startCoordinator(suite.nats.url, rns, out);
    await startAgent(suite.nats.url, rns, ['--workers', '1']);
    const rconn = suite.conn(rns);
    // Far more than runs before the end of the test: it is cancelled there.
    const sub = await runShoal(['submit', 'spin', '--tasks', '100000', '--ms', '5', '--sleep', '--no-speculate', '--job', 'R1', ...rconn]);
    assert.equal(sub.code, 0, sub.describe());
    const watch = spawnShoal(['status', 'R1', '--watch', '--interval', '0.2', ...rconn]);
    // A second one, without a job, to be stopped with Ctrl-C while nobody answers.
    const other = spawnShoal(['status', '--watch', '--interval', '0.2', ...rconn]);
    await until(() => `the watch to show R1 running:\n${watch.describe()}`, () => plainDone(watch.stdout, 'R1').some((d) => d > 0));

    coord.kill('SIGKILL');
    await coord.exited;
    const beforeKill = plainDone(watch.stdout, 'R1').at(-1)!;
    const killedAt = watch.stdout.length;
    const unreachable = /^\S+Z coordinator unreachable since (\d\d:\d\d:\d\d) \((\d+)s\): .+$/gm;
    const said = (): Array<{ since: string; s: number }> => [...watch.stdout.slice(killedAt).matchAll(unreachable)].map((m) => ({ since: m[1]!, s: Number(m[2]) }));
    const first = await until(() => `the watch to say the coordinator is unreachable:\n${watch.describe()}`, () => said()[0]);
    // It goes on saying so, counting the seconds from the same moment, while nobody answers.
    await until(() => `the unreachable line to count on from ${first.s}s:\n${watch.describe()}`, () => said().some((x) => x.s > first.s));
    assert.ok(said().every((x) => x.since === first.since), 'one moment since which it is unreachable');
    assert.ok(watch.alive, watch.describe());
    assert.deepEqual(plainDone(watch.stdout.slice(killedAt), 'R1'), [], 'no figures while nobody answers');
    // Ctrl-C still ends a watch that is waiting for an answer.
    await until(() => `the other watch to say so too:\n${other.describe()}`, () => / coordinator unreachable since /.test(other.stdout));
    other.kill('SIGINT');
    assert.equal((await within(other.exited, 30_000))?.code, 0, other.describe());

    const restartedAt = watch.stdout.length;
    coord = await startCoordinator(suite.nats.url, rns, out);
    // Fresh counts: the job again with its done count from the output, moving on once the agent is back.
    await until(() => `the watch to show R1 moving again after the restart from ${beforeKill} done (after it: ${plainDone(watch.stdout.slice(restartedAt), 'R1').slice(0, 5).join(', ')}, ...):\n${watch.describe()}`, () => {
      // (While it reloads the job, the new coordinator may list it first with nothing counted yet.)
      const fresh = plainDone(watch.stdout.slice(restartedAt), 'R1');
      const back = fresh.findIndex((d) => d >= beforeKill);
      return back >= 0 && fresh.slice(back + 1).some((d) => d > fresh[back]!);
    }, 60_000);

    const cancel = await runShoal(['cancel', 'R1', ...rconn]);
    assert.equal(cancel.code, 0, cancel.describe());
    const end = await within(watch.exited, 30_000);
    assert.equal(end?.code, 0, watch.describe());
    assert.match(watch.stdout, /\S+Z R1 cancelled done=\d+\/100000 .* eta=- /);
  });

  it('a drained agent is shown as left, with nothing busy, and drops off the list; the one that stays is listed', async () => {
    const lns = uniqueNs('watch-left');
    await startCoordinator(suite.nats.url, lns, join(suite.dir, 'out-left'), ['--agent-timeout', '3', '--left-retention', '2']);
    const a = await startAgent(suite.nats.url, lns, ['--workers', '1']);
    const b = await startAgent(suite.nats.url, lns, ['--workers', '1']);
    const lconn = suite.conn(lns);
    const sub = await runShoal(['submit', 'spin', '--tasks', '200', '--ms', '300', '--sleep', '--no-speculate', '--job', 'L1', ...lconn]);
    assert.equal(sub.code, 0, sub.describe());
    const status = async (): Promise<string> => {
      const r = await runShoal(['status', ...lconn]);
      assert.equal(r.code, 0, r.describe());
      return r.stdout;
    };
    const row = (text: string, id: string): string | undefined => text.split('\n').find((l) => l.startsWith(`${id} `));
    await until(`${a.id} to run a task`, async () => /\sactive\s+1\/1\s/.test(row(await status(), a.id) ?? ''));

    const drain = await runShoal(['drain', a.id, ...lconn]);
    assert.equal(drain.code, 0, drain.describe());
    assert.equal((await within(a.proc.exited, 60_000))?.code, 0, a.proc.describe());
    const left = await until(`${a.id} to be shown as left`, async () => {
      const text = await status();
      const r = row(text, a.id) ?? '';
      if (/\slost\s/.test(r)) throw new GiveUp(`a drained agent is shown as lost:\n${text}`);
      return /\sleft\s/.test(r) ? text : null;
    });
    assert.match(row(left, a.id)!, /\sleft\s+0\/1\s+\S+iB\s+\d+\s+[\d.]+s ago$/, left);
    assert.match(row(left, b.id) ?? '', /\sactive\s/, left);
    await until(`${a.id} to drop off the list`, async () => {
      const text = await status();
      return row(text, a.id) === undefined && row(text, b.id) !== undefined;
    });
    const cancel = await runShoal(['cancel', 'L1', ...lconn]);
    assert.equal(cancel.code, 0, cancel.describe());
  });
});
