/**
 * GPUs over a real nats-server, every actor its own process, on a machine without GPUs: two
 * agents declare theirs with --gpus (0,1 and 2,3) and have more worker threads than GPUs. A
 * command job asking one GPU per task runs each task with exactly one GPU of its agent in
 * CUDA_VISIBLE_DEVICES, never two at once on one GPU, all four GPUs used; status shows the
 * GPUs per agent. A job asking more GPUs per task than any agent has ends with error rows
 * saying so.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import type { AgentStatus } from '../../protocol/index.js';
import { assertOneRowPerTask, readRows, type Row } from '../helpers/rows.js';
import { runShoal, shoalJson, type Agent } from '../helpers/shoal.js';
import { natsSuite, type Run } from '../helpers/suite.js';

const suite = natsSuite('shoal-gpus-');

const ids = (n: number): string[] => Array.from({ length: n }, (_, i) => `line_${String(i + 1).padStart(String(n).length, '0')}`);

describe('GPUs declared with --gpus on two agents', () => {
  let run: Run;
  const conn = (): string[] => suite.conn(run.ns);
  const gpusOf = new Map<string, number[]>();
  let list: string;

  before(async () => {
    run = await suite.coordinator('gpus');
    const common = ['--workers', '3', '--oversubscribe', '--allow-command'];
    const [a] = (await run.agents(1, [...common, '--gpus', '0,1'])) as [Agent];
    const [b] = (await run.agents(1, [...common, '--gpus', '2,3'])) as [Agent];
    gpusOf.set(a.id, [0, 1]);
    gpusOf.set(b.id, [2, 3]);
    list = join(suite.dir, 'items.txt');
    writeFileSync(list, Array.from({ length: 24 }, (_, i) => `item-${i + 1}`).join('\n') + '\n');
  });

  it('status --json shows each agent with its GPUs, all free', async () => {
    const st = await shoalJson<{ agents: AgentStatus[] }>(['status', ...conn(), '--json']);
    assert.deepEqual(
      st.agents.map((a) => [a.agent, a.gpus, a.freeGpus]).sort(),
      [...gpusOf.keys()].map((id) => [id, 2, 2]).sort(),
    );
    const human = await runShoal(['status', ...conn()]);
    assert.match(human.stdout, /GPUS FREE/);
    assert.match(human.stdout, /2\/2/);
  });

  it('a job of one GPU per task: each task sees one GPU of its agent, no GPU runs two tasks at once, all GPUs used', async () => {
    const r = await runShoal(['submit', 'command', ...conn(), '--job', 'G1', '--args', list, '--gpus', '1', '--granularity', 'task', '--wait', '--', 'sh', '-c', 'echo "$CUDA_VISIBLE_DEVICES"; sleep 0.2', 'sh', '{}'], { cwd: suite.dir });
    assert.equal(r.code, 0, r.describe());
    const rows = readRows(join(run.out, 'G1.jsonl'));
    assertOneRowPerTask(rows, ids(24), { job: 'G1', status: 'ok' });
    const byGpu = new Map<string, Row[]>();
    for (const row of rows) {
      const gpu = (row.value as { stdout: unknown }).stdout;
      const mine = gpusOf.get(row.agent as string);
      assert.ok(mine, `row ${row.task} from unknown agent ${String(row.agent)}`);
      assert.ok(typeof gpu === 'number' && mine.includes(gpu), `task ${row.task} on ${String(row.agent)} saw CUDA_VISIBLE_DEVICES=${JSON.stringify(gpu)}; the agent has ${mine.join(',')}`);
      const key = `${String(row.agent)} GPU ${gpu}`;
      byGpu.set(key, [...(byGpu.get(key) ?? []), row]);
    }
    assert.equal(byGpu.size, 4, `GPUs used: ${[...byGpu.keys()].join('; ')}`);
    for (const [key, on] of byGpu) {
      on.sort((x, y) => (x.start as number) - (y.start as number));
      for (let i = 1; i < on.length; i++) {
        const prev = on[i - 1]!;
        const next = on[i]!;
        assert.ok((prev.end as number) <= (next.start as number), `${key}: ${prev.task} ran ${String(prev.start)}-${String(prev.end)}, ${next.task} started ${String(next.start)}`);
      }
    }
  });

  it('a job asking more GPUs per task than any agent has ends with an error row per task naming both numbers', async () => {
    const r = await runShoal(['submit', 'command', ...conn(), '--job', 'G2', '--args', list, '--gpus', '3', '--wait', '--', 'true'], { cwd: suite.dir });
    assert.equal(r.code, 1, `done with failed tasks\n${r.describe()}`);
    const rows = readRows(join(run.out, 'G2.jsonl'));
    assertOneRowPerTask(rows, ids(24), { job: 'G2', status: 'error' });
    for (const row of rows) {
      const e = row.error as { code: string; message: string };
      assert.equal(e.code, 'E_UNSCHEDULABLE');
      assert.match(e.message, /needs 3 GPUs; the agent with the most GPUs that joined has 2/);
      // Written by the coordinator, which reads the line from --args for it.
      const line = Number(row.task.slice(5));
      assert.deepEqual(row.input, { line, text: `item-${line}` });
    }
  });
});
