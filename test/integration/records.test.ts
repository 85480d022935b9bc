/**
 * Handler jobs whose inputs are files of records, over a real nats-server: a 200,000-line
 * --inputs file runs exactly one ok row per line while the submit message (read off the bus by
 * a subscription on the submit subject) stays small; csv, jsonl and smi inputs reach the
 * handler as objects, and a malformed record is an error row naming the file and line while the
 * job's other records run.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { decode, subjects } from '../../protocol/index.js';
import { assertOneRowPerTask, readRows } from '../helpers/rows.js';
import { runShoal, spawnShoal } from '../helpers/shoal.js';
import { natsSuite, type Run } from '../helpers/suite.js';
import { until } from '../helpers/wait.js';

const suite = natsSuite('shoal-records-');

/** The handler module: each task returns what it was given. */
const MODULE = `export const kinds = [{ name: 'echo', run(task) { return { input: task.input, index: task.index, line: task.line, p: task.params.p }; } }];\n`;

describe('handler jobs with inputs from files of records', () => {
  let run: Run;
  const conn = (): string[] => suite.conn(run.ns);

  before(async () => {
    run = await suite.coordinator('records');
    const module = join(suite.dir, 'echo-kinds.mjs');
    writeFileSync(module, MODULE);
    const agent = spawnShoal(['agent', ...conn(), '--workers', '2', '--handlers', module]);
    await agent.waitForLog('handler module loaded');
    await agent.waitForLog('joined the coordinator');
  });

  it('a 200,000-line --inputs file: one ok row per line, and a submit message under 64 KB', async () => {
    const n = 200_000;
    const lines: string[] = [];
    for (let i = 0; i < n; i++) lines.push(`input-${i}-${'x'.repeat(i % 17)}`);
    const inputs = join(suite.dir, 'many.txt');
    writeFileSync(inputs, lines.join('\n') + '\n');

    // The submit request as it crosses the bus: a second subscriber on its subject hears it too.
    const submits = run.ctl.bus.subscribe(subjects(run.ns).ctl('submit'));
    const sizes: number[] = [];
    let params: unknown;
    void (async () => {
      for await (const m of submits) {
        sizes.push(m.data.length);
        const d = decode('CtlRequest', m.data);
        if (d.ok && d.msg.kind === 'submit') params = d.msg.spec.params;
      }
    })();
    try {
      const r = await runShoal(['submit', 'echo', ...conn(), '--job', 'R1', '--inputs', inputs, '--params', '{"p":7}', '--wait'], { timeoutMs: 300_000 });
      assert.equal(r.code, 0, r.describe());
      await until('the submit request was heard', () => sizes.length > 0);
    } finally {
      submits.unsubscribe();
    }
    assert.equal(sizes.length, 1);
    assert.ok(sizes[0]! < 64 * 1024, `submit message of ${sizes[0]} bytes`);
    assert.ok(sizes[0]! < 1024, `the params name the file, they do not hold its ${n} lines: ${sizes[0]} bytes`);
    assert.deepEqual({ ...(params as { inputs: object }).inputs, mtimeMs: 0 }, { file: inputs, format: 'txt', size: Buffer.byteLength(lines.join('\n') + '\n'), mtimeMs: 0 });

    const rows = readRows(join(run.out, 'R1.jsonl'));
    const ids = Array.from({ length: n }, (_, i) => `task_${String(i).padStart(6, '0')}`);
    assertOneRowPerTask(rows, ids, { status: 'ok', job: 'R1' });
    for (const row of rows) {
      const i = Number(row.task.slice(5));
      const v = row.value as { input: string; index: number; line: number; p: number };
      if (v.input !== lines[i] || v.index !== i || v.line !== i + 1 || v.p !== 7) assert.fail(`${row.task}: ${JSON.stringify(v)}`);
    }
  });

  it('csv, jsonl and smi records reach the handler as values; a malformed one is an error row naming file and line', async () => {
    const csv = join(suite.dir, 'rows.csv');
    writeFileSync(csv, '\ufeffid,smiles,note\r\n1,CCO,"a, b"\r\n2,N,"two\nlines"\r\n3,O,x,extra\r\n\r\n4,C,"say ""hi"""\r\n');
    const jsonl = join(suite.dir, 'values.jsonl');
    writeFileSync(jsonl, '{"a":1}\n\n{"a":\n[2]\n');
    const smi = join(suite.dir, 'mols.list');
    writeFileSync(smi, '# library\nCCO ethanol\nc1ccccc1\n');

    const submit = async (job: string, file: string, extra: string[] = []): Promise<ReturnType<typeof readRows>> => {
      const r = await runShoal(['submit', 'echo', ...conn(), '--job', job, '--inputs', file, ...extra, '--wait']);
      assert.ok(r.code === 0 || r.code === 1, r.describe());
      return readRows(join(run.out, `${job}.jsonl`)).sort((a, b) => (a.task < b.task ? -1 : 1));
    };

    const c = await submit('R2', csv);
    assert.deepEqual(
      c.map((r) => (r.status === 'ok' ? (r.value as { input: unknown; line: number }) : r.error)),
      [
        { input: { id: '1', smiles: 'CCO', note: 'a, b' }, index: 0, line: 2 },
        { input: { id: '2', smiles: 'N', note: 'two\nlines' }, index: 1, line: 3 },
        { code: 'E_INPUT', message: `${csv} line 5: 4 fields, the header has 3` },
        { input: { id: '4', smiles: 'C', note: 'say "hi"' }, index: 3, line: 7 },
      ],
    );
    assert.equal(c[2]!.attempt, 1, 'a malformed record is final, not retried');

    const j = await submit('R3', jsonl);
    assert.deepEqual(j.map((r) => r.status), ['ok', 'error', 'ok']);
    assert.deepEqual((j[0]!.value as { input: unknown }).input, { a: 1 });
    assert.match(j[1]!.error!.message, new RegExp(`^${jsonl} line 3: not JSON: `));
    assert.deepEqual((j[2]!.value as { input: unknown; line: number }).line, 4);

    const s = await submit('R4', smi, ['--format', 'smi']);
    assert.deepEqual(s.map((r) => (r.value as { input: unknown }).input), [{ smiles: 'CCO', name: 'ethanol' }, { smiles: 'c1ccccc1', name: null }]);

    const bad = await runShoal(['submit', 'echo', ...conn(), '--inputs', smi]);
    assert.equal(bad.code, 2, bad.describe());
    assert.match(bad.stderr, /mols\.list: cannot tell its format.*--format/);
  });
});
