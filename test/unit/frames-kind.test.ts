// The frames kind on its own: params, expand, run and summarize, driven directly (no bus, no
// agents), with good and bad inputs.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Command } from '@commander-js/extra-typings';
import { framesKind, shutdownZenoHelpers, type FramesParams, type FrameValue } from '../../src/kinds/frames/index.js';
import type { RecordOutput, Row, TaskSpec } from '../../src/kinds/types.js';
import { cutDcd, dcdLayout, withNset } from '../helpers/dcd.js';
import { fixture, repoRoot } from '../helpers/paths.js';

after(() => shutdownZenoHelpers());

const F = (name: string): string => fixture('frames', name);
const tmp = (): string => mkdtempSync(join(tmpdir(), 'shoal-frames-'));

function params(opts: Record<string, unknown>): FramesParams {
  return framesKind.params({ traj: F('traj.dcd'), top: F('top.pdb'), ...opts });
}

function expandCtx(slots = 2): { slots: number; job: string; info: (m: string) => void; messages: string[] } {
  const messages: string[] = [];
  return { slots, job: 'test', messages, info: (m) => void messages.push(m) };
}

const runCtx = (task: string, threads = 1, signal = new AbortController().signal) => ({ signal, threads, attempt: 1, job: 'test', task });

/**
 * Expands and runs a whole job (each task with its reserved threads); records by frame, and
 * rows. `runWith` runs the tasks on other params (a file that changed after submit).
 */
async function runJob(p: FramesParams, slots = 2, runWith = p): Promise<{ tasks: TaskSpec[]; records: RecordOutput[]; rows: Row[]; messages: string[] }> {
  const ctx = expandCtx(slots);
  const tasks = await framesKind.expand(p, ctx);
  const records: RecordOutput[] = [];
  const rows: Row[] = [];
  for (const t of tasks) {
    const out = await framesKind.run(t.ref, runWith, runCtx(t.id, t.threads ?? 1));
    assert.ok('records' in out);
    for (const r of out.records) {
      records.push(r);
      const base = { job: 'test', task: t.id, kind: 'frames', attempt: 1, index: r.index };
      rows.push(r.error === undefined ? { ...base, status: 'ok', value: JSON.parse(JSON.stringify(r.value)) } : { ...base, status: 'error', error: r.error });
    }
  }
  records.sort((a, b) => a.index - b.index);
  return { tasks, records, rows, messages: ctx.messages };
}

async function* stream(rows: Row[]): AsyncIterable<Row> {
  yield* rows;
}

function code(c: string, ...parts: string[]) {
  return (err: unknown): boolean => {
    const e = err as { code?: string; message?: string };
    assert.equal(e.code, c, `code of: ${e.message}`);
    for (const p of parts) assert.ok(e.message?.includes(p), `'${e.message}' should name ${p}`);
    return true;
  };
}

test('params: defaults, absolute paths, parsing', () => {
  const p = framesKind.params({ traj: 'some/where/traj.pdb' });
  assert.equal(p.traj, resolve('some/where/traj.pdb'));
  assert.equal(p.format, 'pdb');
  assert.equal(p.top, null);
  assert.deepEqual(p.analyses, ['rg', 'cog']);
  assert.equal(p.walks, 100_000);
  assert.equal(p.seed, 1);
  assert.equal(p.threads, 'auto');
  assert.equal(p.chunk, 'auto');
  assert.equal(p.refFrame, 0);
  assert.equal(p.select, 'all');
  assert.equal(p.tolerance, 1e-4);
  assert.equal(params({ walks: '1e6' }).walks, 1_000_000);
  const q = params({ analyses: 'zeno, rmsd,zeno', walks: '5000', seed: '7', threads: '3', chunk: '4', radii: 'C=1.8,n=1.6', refFrame: '2', select: 'heavy', tolerance: '0.001' });
  assert.deepEqual(q.analyses, ['zeno', 'rmsd']);
  assert.deepEqual([q.walks, q.seed, q.threads, q.chunk, q.refFrame, q.select, q.tolerance], [5000, 7, 3, 4, 2, 'heavy', 0.001]);
  assert.deepEqual(q.radii, { C: 1.8, N: 1.6 });
  assert.deepEqual(framesKind.inputs(q), [F('traj.dcd'), F('top.pdb')]);
  assert.deepEqual(framesKind.inputs(p), [p.traj]);
});

test('params: every option refuses a bad value, naming option and value', () => {
  const bad: [Record<string, unknown>, string, string][] = [
    [{ traj: undefined }, '--traj', ''],
    [{ traj: F('traj.gro') }, '--traj', 'traj.gro'],
    [{ top: undefined }, '--top', ''],
    [{ top: F('top.gro') }, '--top', 'top.gro'],
    [{ analyses: 'rg,bogus' }, '--analyses', 'bogus'],
    [{ analyses: '' }, '--analyses', ''],
    [{ walks: '0' }, '--walks', "'0'"],
    [{ walks: 'many' }, '--walks', 'many'],
    [{ walks: '1e20' }, '--walks', '1e20'],
    [{ seed: '-1' }, '--seed', '-1'],
    [{ threads: '0' }, '--threads', "'0'"],
    [{ threads: 'lots' }, '--threads', 'lots'],
    [{ chunk: '2.5' }, '--chunk', '2.5'],
    [{ radii: 'C=abc' }, '--radii', 'abc'],
    [{ radii: 'Qq=1' }, '--radii', 'Qq'],
    [{ radii: 'C' }, '--radii', "'C'"],
    [{ radii: 'C=-1' }, '--radii', '-1'],
    [{ refFrame: '-2' }, '--ref-frame', '-2'],
    [{ select: 'some' }, '--select', 'some'],
    [{ tolerance: '0' }, '--tolerance', "'0'"],
    [{ tolerance: '0.5' }, '--tolerance', '0.5'],
  ];
  for (const [opts, flag, value] of bad) assert.throws(() => params(opts), code('E_USAGE', flag, value), JSON.stringify(opts));
});

test('params: commander options map onto params', () => {
  const cmd = new Command('frames').exitOverride();
  framesKind.addOptions(cmd);
  cmd.parse(['--traj', F('traj.xyz'), '--analyses', 'rg,zeno', '--ref-frame', '3', '--radii', 'C=1.7', '--threads', 'auto'], { from: 'user' });
  const p = framesKind.params(cmd.opts());
  assert.equal(p.format, 'xyz');
  assert.deepEqual(p.analyses, ['rg', 'zeno']);
  assert.equal(p.refFrame, 3);
  assert.deepEqual(p.radii, { C: 1.7 });
  assert.equal(p.walks, 100_000);
});

test('checkParams: params survive the wire; malformed ones are refused with E_INPUT', () => {
  const p = params({ analyses: 'rg,zeno', radii: 'S=2' });
  assert.deepEqual(framesKind.checkParams(JSON.parse(JSON.stringify(p))), p);
  for (const raw of [null, 'x', [], {}, { ...p, traj: 'relative.dcd' }, { ...p, format: 'pdb' }, { ...p, walks: -3 }, { ...p, analyses: ['nope'] }, { ...p, top: null }, { ...p, top: '/x/t.gro' }, { ...p, radii: { Xx: 1 } }, { ...p, radii: { c: 1 } }]) {
    assert.throws(() => framesKind.checkParams(raw), code('E_INPUT'), JSON.stringify(raw));
  }
});

test('expand: deterministic ids frames_<first>-<last>, costs, and threads only for zeno', async () => {
  const { tasks } = { tasks: await framesKind.expand(params({ chunk: '5' }), expandCtx()) };
  // 12 frames: both numbers zero-padded to 2 digits, so string order is frame order.
  assert.deepEqual(tasks.map((t) => t.id), ['frames_00-04', 'frames_05-09', 'frames_10-11']);
  assert.deepEqual([...tasks.map((t) => t.id)].sort(), tasks.map((t) => t.id));
  assert.ok(tasks.every((t) => t.cost > 0 && t.threads === undefined));
  assert.ok(tasks[0]!.cost > tasks[2]!.cost);
  const z = await framesKind.expand(params({ analyses: 'zeno', threads: '2', chunk: '4', walks: '50000' }), expandCtx());
  assert.ok(z.every((t) => t.threads === 2 && (t.memory ?? 0) > 0));
  const ctx = expandCtx(0);
  const auto = await framesKind.expand(params({ analyses: 'rg,zeno', walks: '200000' }), ctx);
  assert.ok(ctx.messages.some((m) => m.includes('threads auto')), ctx.messages.join('\n'));
  assert.ok(ctx.messages.some((m) => m.includes('chunk auto')), ctx.messages.join('\n'));
  assert.equal(auto.reduce((n, t) => n + ((t.ref as { last: number }).last - (t.ref as { first: number }).first + 1), 0), 12);
});

test('expand refuses a topology whose atom count differs, naming both counts', async () => {
  for (const traj of ['traj.dcd', 'traj.pdb', 'traj.xyz']) {
    await assert.rejects(framesKind.expand(params({ traj: F(traj), top: F('top-short.pdb') }), expandCtx()), code('E_INPUT', '105', '108'));
  }
});

test('expand refuses missing files, wrong magic, empty XYZ, a reference frame out of range', async () => {
  await assert.rejects(framesKind.expand(params({ traj: F('missing.dcd') }), expandCtx()), code('E_INPUT', 'missing.dcd'));
  await assert.rejects(framesKind.expand(params({ traj: F('badmagic.dcd') }), expandCtx()), code('E_INPUT', 'badmagic.dcd'));
  await assert.rejects(framesKind.expand(params({ traj: F('empty.xyz'), top: undefined }), expandCtx()), code('E_INPUT', 'empty.xyz'));
  await assert.rejects(framesKind.expand(params({ analyses: 'rmsd', refFrame: '12' }), expandCtx()), code('E_INPUT', '--ref-frame 12', '12 frames'));
  // A corrupt record marker in the reference frame: the rmsd job is refused at expand.
  const corrupt = join(tmp(), 'corrupt.dcd');
  const bytes = Buffer.from(readFileSync(F('traj-nocell.dcd')));
  const { headerBytes, frameBytes } = dcdLayout(F('traj-nocell.dcd'));
  bytes.writeInt32LE(999, headerBytes + 9 * frameBytes);
  writeFileSync(corrupt, bytes);
  await assert.rejects(framesKind.expand(params({ traj: corrupt, analyses: 'rmsd', refFrame: '9' }), expandCtx()), code('E_INPUT', 'reference frame unreadable', 'corrupt.dcd frame 9'));
});

test('expand refuses a DCD holding fewer frames than its header promises, naming both counts', async () => {
  // The committed fixture: the header promises 12 frames, the file holds 8.
  await assert.rejects(framesKind.expand(params({ traj: F('truncated.dcd') }), expandCtx()), code('E_INPUT', 'truncated.dcd', 'promises 12 frames', 'holds 8'));
  // A copy of the example cut inside frame 7 (of 60): the partial frame is missing too.
  const dir = tmp();
  const ex = (name: string): string => join(repoRoot, 'examples', 'frames', name);
  const cut = cutDcd(ex('traj.dcd'), join(dir, 'traj.dcd'), 7, 100);
  assert.equal(cut.promised, 60);
  await assert.rejects(
    framesKind.expand(framesKind.params({ traj: cut.path, top: ex('top.pdb') }), expandCtx()),
    code('E_INPUT', `traj.dcd: the header promises 60 frames but the file holds 7 (${cut.bytes} bytes, ${cut.frameBytes} bytes per frame)`),
  );
  // More frames than the header says (still being written): accepted, every frame in a task.
  const growing = withNset(ex('traj.dcd'), join(dir, 'growing.dcd'), 50);
  const tasks = await framesKind.expand(framesKind.params({ traj: growing, top: ex('top.pdb'), chunk: '60' }), expandCtx());
  assert.deepEqual(tasks.map((t) => t.id), ['frames_00-59']);
});

test('expand refuses atoms without the element an analysis needs; --radii fills a missing radius', async () => {
  const dir = tmp();
  const line = (name: string, el: string, x: number): string =>
    `HETATM    1 ${name} LIG A   1    ${x.toFixed(3).padStart(8)}   0.000   0.000  1.00  0.00          ${el.padStart(2)}`;
  const odd = join(dir, 'odd.pdb');
  writeFileSync(odd, [line('  12', '', 0), line(' C1 ', 'C', 2), 'END', ''].join('\n'));
  await assert.rejects(framesKind.expand(framesKind.params({ traj: odd, analyses: 'com' }), expandCtx()), code('E_INPUT', 'odd.pdb', 'atom 1', 'masses'));
  const iron = join(dir, 'iron.pdb');
  writeFileSync(iron, [line('FE  ', 'FE', 0), line(' C1 ', 'C', 3), 'END', ''].join('\n'));
  await assert.rejects(framesKind.expand(framesKind.params({ traj: iron, analyses: 'zeno' }), expandCtx()), code('E_INPUT', 'iron.pdb', '--radii Fe='));
  const p = framesKind.params({ traj: iron, analyses: 'zeno,com', radii: 'Fe=2.0', walks: '2000' });
  const { records } = await runJob(p);
  const v = records[0]!.value as FrameValue;
  assert.ok(v.zeno!.capacitance > 2 && v.zeno!.capacitance < 5);
  assert.ok(v.com![0] < 1.5, 'iron is much heavier than carbon');
});

test('run: a DCD cut short after submit gives its complete frames and error records for the rest', async () => {
  const good = await runJob(params({ analyses: 'rg,cog,rmsd', chunk: '5' }));
  const p = params({ analyses: 'rg,cog,rmsd', chunk: '5' });
  const { records } = await runJob(p, 2, { ...p, traj: F('truncated.dcd') });
  assert.deepEqual(records.map((r) => r.index), [...Array(12).keys()]);
  for (let f = 0; f < 8; f++) assert.deepEqual(records[f], good.records[f]);
  for (let f = 8; f < 12; f++) {
    assert.equal(records[f]!.value, undefined);
    assert.equal(records[f]!.error?.code, 'E_INPUT');
    assert.ok(records[f]!.error!.message.includes(`truncated.dcd frame ${f}`), records[f]!.error!.message);
  }
});

test('run: non-numeric coordinates fail their frame only, naming file and frame', async () => {
  for (const [traj, bad] of [['badcoord.xyz', 3], ['badcoord.pdb', 2]] as const) {
    const { records } = await runJob(params({ traj: F(traj), top: undefined, analyses: 'rg,com', chunk: '4' }));
    assert.equal(records.length, 12);
    for (const r of records) {
      if (r.index === bad) {
        assert.equal(r.error?.code, 'E_INPUT');
        assert.ok(r.error!.message.includes(`${traj} frame ${bad}`), r.error!.message);
      } else {
        assert.equal(r.error, undefined, `frame ${r.index}`);
        assert.ok((r.value as FrameValue).rg! > 1);
      }
    }
  }
});

test('run: zeno records are identical whatever the threads and the chunking', async () => {
  const base = { analyses: 'rg,zeno', walks: '12000', seed: '9', tolerance: '0.001' };
  const one = await runJob(params({ ...base, threads: '1', chunk: '12' }));
  const two = await runJob(params({ ...base, threads: '2', chunk: '5' }));
  const four = await runJob(params({ ...base, threads: '4', chunk: '1' }));
  assert.ok(four.tasks.every((t) => t.threads === 4));
  assert.deepEqual(two.records, one.records);
  assert.deepEqual(four.records, one.records);
  const z = (one.records[0]!.value as FrameValue).zeno!;
  assert.equal(z.walks, 12000);
  assert.ok(z.capacitance > 3 && z.capacitance < 12 && z.capacitance_err > 0, JSON.stringify(z));
  const other = await runJob(params({ ...base, seed: '10', threads: '1', chunk: '12' }));
  assert.notDeepEqual(other.records, one.records);
});

test('run: an aborted task stops with E_ABORTED; a malformed ref is E_INPUT', async () => {
  const p = params({ analyses: 'rg' });
  const [task] = await framesKind.expand(p, expandCtx());
  const ac = new AbortController();
  ac.abort();
  await assert.rejects(framesKind.run(task!.ref, p, runCtx(task!.id, 1, ac.signal)), code('E_ABORTED'));
  await assert.rejects(framesKind.run({ first: 3, last: 1, atoms: 108 }, p, runCtx('x')), code('E_INPUT'));
  const pdb = params({ traj: F('traj.pdb'), top: undefined });
  await assert.rejects(framesKind.run({ first: 0, last: 1, atoms: 108 }, pdb, runCtx('x')), code('E_INPUT'));
});

test('summarize: mean, std, min, max per quantity and component; failures listed', async () => {
  // Expanded on the whole file, run after it was cut to 8 frames: frames 8-11 fail.
  const p = params({ analyses: 'rg,cog,rmsd,zeno', walks: '3000', chunk: '5' });
  const { rows } = await runJob(p, 2, { ...p, traj: F('truncated.dcd') });
  const s = await framesKind.summarize(stream(rows), p);
  assert.deepEqual(s.frames, { total: 12, ok: 8, failed: 4 });
  // frames_5-9 has two failed frames, frames_10-11 two: both chunks failed.
  assert.deepEqual(s.chunks, { total: 3, ok: 1, failed: 2 });
  const ok = rows.filter((r) => r.status === 'ok').map((r) => r.value as FrameValue);
  const stats = (xs: number[]) => {
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    return { mean, std: Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length), min: Math.min(...xs), max: Math.max(...xs) };
  };
  const near = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-9, `${a} vs ${b}`);
  const rg = s.rg as { mean: number; std: number; min: number; max: number; n: number };
  const want = stats(ok.map((v) => v.rg!));
  near(rg.mean, want.mean);
  near(rg.std, want.std);
  assert.equal(rg.min, want.min);
  assert.equal(rg.max, want.max);
  assert.equal(rg.n, 8);
  const cog = s.cog as { mean: number[]; std: number[] };
  for (let k = 0; k < 3; k++) near(cog.mean[k]!, stats(ok.map((v) => v.cog![k]!)).mean);
  const zeno = s.zeno as { capacitance: { mean: number; mean_err: number }; walks: number };
  near(zeno.capacitance.mean, stats(ok.map((v) => v.zeno!.capacitance)).mean);
  assert.equal(zeno.walks, 8 * 3000);
  assert.ok(zeno.capacitance.mean_err > 0);
  const failures = s.failures as { frames: [number, number]; code: string }[];
  assert.deepEqual(failures.map((f) => f.frames[0]), [8, 9, 10, 11]);
  assert.ok(failures.every((f) => f.code === 'E_INPUT'));
  const lines = framesKind.describeSummary!(s);
  assert.ok(lines[0]!.includes('8 ok, 4 failed (in 2 of 3 chunks)'), lines.join('\n'));
});

test('summarize: a task that failed as a whole counts all its frames', async () => {
  const rows: Row[] = [
    { job: 'j', task: 'frames_0-4', kind: 'frames', status: 'ok', attempt: 1, index: 0, value: { rg: 2 } },
    { job: 'j', task: 'frames_0-4', kind: 'frames', status: 'ok', attempt: 1, index: 1, value: { rg: 4 } },
    { job: 'j', task: 'frames_5-9', kind: 'frames', status: 'error', attempt: 3, error: { code: 'E_LOST', message: 'agent lost' } },
    // Padded ids (the rule now) read the same as unpadded ones (an earlier shoal's).
    { job: 'j', task: 'frames_0010-0019', kind: 'frames', status: 'error', attempt: 3, error: { code: 'E_LOST', message: 'agent lost' } },
  ];
  const s = await framesKind.summarize(stream(rows), params({}));
  assert.deepEqual(s.frames, { total: 17, ok: 2, failed: 15 });
  assert.deepEqual(s.chunks, { total: 3, ok: 1, failed: 2 });
  assert.deepEqual(s.rg, { mean: 3, std: 1, min: 2, max: 4, n: 2 });
  assert.deepEqual((s.failures as { frames: number[] }[]).map((f) => f.frames), [[5, 9], [10, 19]]);
});

test('the example trajectory in examples/frames runs', async () => {
  const ex = (name: string): string => join(repoRoot, 'examples', 'frames', name);
  const p = framesKind.params({ traj: ex('traj.dcd'), top: ex('top.pdb'), analyses: 'rg,rg_mass,rmsd', chunk: '20' });
  const { records } = await runJob(p);
  assert.equal(records.length, 60);
  assert.ok(records.every((r) => r.error === undefined));
  assert.ok(readFileSync(ex('README.md'), 'utf8').includes('shoal run frames'));
});
