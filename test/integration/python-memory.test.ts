/**
 * The python kind's interpreters' memory, over a real nats-server: an agent of 4 workers and
 * --memory 0.7 runs a function whose setup holds 300 MiB (touched page by page, so it is
 * resident). Status shows the interpreters and their resident memory; the agent never runs
 * more than 2 tasks of the job at once (two 300 MiB interpreters fit 0.7 GB, three do not:
 * each call records its time span, and no three spans overlap); every task has its one row.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { assertOneRowPerTask, readRows } from '../helpers/rows.js';
import { runShoal, shoalJson, waitForJobEnd } from '../helpers/shoal.js';
import { natsSuite, type Run } from '../helpers/suite.js';
import { until } from '../helpers/wait.js';

const suite = natsSuite('shoal-pymem-');

const MODULE = `
import os, time
held = []

def setup(params):
    b = bytearray(params["mib"] * 2**20)
    for i in range(0, len(b), 4096):
        b[i] = 1
    held.append(b)

def work(x, params):
    t0 = time.time()
    time.sleep(0.2)
    return {"pid": os.getpid(), "t0": t0, "t1": time.time()}
`;

interface AgentJson {
  agent: string;
  interpreters?: { count: number; rss: number; jobs: Array<{ job: string; count: number; rss: number; maxRss: number }> };
}

/** The most spans open at one moment. */
function mostAtOnce(spans: ReadonlyArray<[number, number]>): number {
  const edges = spans.flatMap(([a, b]) => [[a, 1] as const, [b, -1] as const]).sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  let open = 0;
  let most = 0;
  for (const [, d] of edges) most = Math.max(most, (open += d));
  return most;
}

describe('python interpreters\' memory', () => {
  let run: Run;
  const N = 16;
  before(async () => {
    writeFileSync(join(suite.dir, 'mem.py'), MODULE);
    writeFileSync(join(suite.dir, 'in.txt'), Array.from({ length: N }, (_, i) => `x${i}`).join('\n') + '\n');
    run = await suite.coordinator('pymem');
    // 4 slots whatever the CPUs, so memory, not slots, is what holds the interpreters to 2.
    await run.agents(1, ['--workers', '4', '--oversubscribe', '--memory', '0.7', '--allow-command']);
  });

  it('status shows the interpreters\' memory; no more run at once than fit; one row per task', async () => {
    const conn = suite.conn(run.ns);
    const out = join(run.out, 'mem.jsonl');
    const sub = await runShoal(['submit', 'python', ...conn, '--job', 'M1', '--fn', 'mem.py:work', '--inputs', join(suite.dir, 'in.txt'), '--params', '{"mib": 300}', '--out', 'mem.jsonl'], { cwd: suite.dir });
    assert.equal(sub.code, 0, sub.describe());

    const seen = await until(
      'status --json to show an interpreter holding 300 MiB',
      async () => (await shoalJson<{ agents: AgentJson[] }>(['status', '--json', ...conn])).agents.find((a) => (a.interpreters?.rss ?? 0) >= 300 * 2 ** 20),
      120_000,
    );
    const jobs = seen.interpreters!.jobs;
    assert.equal(jobs.length, 1);
    assert.equal(jobs[0]!.job, 'M1');
    assert.ok(jobs[0]!.maxRss >= 300 * 2 ** 20 && jobs[0]!.maxRss < 400 * 2 ** 20, JSON.stringify(jobs));
    assert.ok(seen.interpreters!.count <= 2, JSON.stringify(seen));
    const st = await shoalJson<{ agents: Array<{ slots: number }> }>(['status', '--json', ...conn]);
    assert.equal(st.agents[0]!.slots, 4);
    const human = await runShoal(['status', ...conn]);
    assert.match(human.stdout, /INTERPRETERS/);
    assert.match(human.stdout, /interpreters \(.*, job M1\): [12], [\d.]+MiB resident, largest 3\d\dMiB/);

    const end = await waitForJobEnd(suite.nats.url, run.ns, 'M1', { timeoutMs: 180_000 });
    assert.equal(end.state, 'done', JSON.stringify(end));
    const rows = readRows(out);
    assertOneRowPerTask(rows, Array.from({ length: N }, (_, i) => `in_${String(i).padStart(2, '0')}`), { status: 'ok' });
    const spans = rows.map((r) => {
      const v = r.value as { t0: number; t1: number };
      return [v.t0, v.t1] as [number, number];
    });
    assert.ok(mostAtOnce(spans) <= 2, `at most 2 calls at once: ${JSON.stringify(spans)}`);
    const pids = new Set(rows.map((r) => (r.value as { pid: number }).pid));
    assert.ok(pids.size <= 2, `interpreters: ${[...pids].join(', ')}`);
  });
});
