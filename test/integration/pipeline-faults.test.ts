/**
 * Faults across stages over a real nats-server, with real processes and real damage: an agent
 * (and its interpreters, as a node dying) SIGKILLed while a three-stage chain streams, and the
 * coordinator SIGKILLed and restarted while a job waits (`--after`) for its upstream. Every
 * output is checked row by row: one row per task (record) per stage; and, from a side file the
 * task functions write as each attempt begins and ends (attempts cut short leave no row), that
 * nothing ran for a downstream task before its upstream row was in the upstream's output, nor
 * for a waiting job before its upstream had ended.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { endedJob } from '../../coordinator/jobs/index.js';
import { jsonLinesSoFar, killHard, killNode, logsOf, rowsSoFar } from '../helpers/faults.js';
import { readRows, type Row } from '../helpers/rows.js';
import { runShoal, startCoordinator, type Agent } from '../helpers/shoal.js';
import { natsSuite } from '../helpers/suite.js';
import { GiveUp, until } from '../helpers/wait.js';

const suite = natsSuite('shoal-pipeline-faults-');

/**
 * The task functions. Each attempt writes a start line (its time first, then the rows of its
 * upstream's output that it stems from, read at once) and an end line once its work is done;
 * one write per line, appended, so lines of parallel interpreters do not interleave.
 */
const MODULE = `
import json, os, time

def _note(params, entry):
    entry.update(pid=os.getpid(), agent=os.environ.get("PF_AGENT", ""))
    fd = os.open(params["notes"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (json.dumps(entry) + "\\n").encode())
    finally:
        os.close(fd)

def _rows(path):
    try:
        with open(path) as f:
            text = f.read()
    except FileNotFoundError:
        return []
    return [json.loads(l) for l in text[: text.rfind("\\n") + 1].splitlines()]

def _begin(params, stage, key, up=None, match=None):
    entry = {"stage": stage, "key": key, "at": "start", "t": time.time() * 1000}
    if up is not None:
        rows = _rows(os.path.join(params["out"], up + ".jsonl"))
        entry["up"] = [{"task": r["task"], "index": r.get("index"), "end": r["end"]} for r in rows if match(r)]
    _note(params, entry)

def _end(params, stage, key):
    _note(params, {"stage": stage, "key": key, "at": "end", "t": time.time() * 1000})

def _work(n, long, short):
    # Skewed: every seventh task is long.
    time.sleep(long if n % 7 == 0 else short * (1 + n % 3))

def _downstream_work(n, long, short, params):
    _work(n, long, short)
    if os.environ.get("PF_AGENT") == "victim":
        # The agent to be killed holds each downstream attempt until the test, having killed it,
        # releases the chain: the kill finds one running however slow the machine.
        _wait_for(params["release"])

def _wait_for(path):
    deadline = time.time() + 120
    while not os.path.exists(path):
        if time.time() > deadline:
            raise RuntimeError("the test never released " + path)
        time.sleep(0.02)

def first(x, params):
    _begin(params, "A", x)
    if x == "bad":
        _end(params, "A", x)
        raise ValueError("cannot take " + x)
    if x == params["gate"]:
        # A cannot end before the kill: the test releases this task after it.
        _wait_for(params["release"])
    _work(int(x[1:]), 0.6, 0.05)
    _end(params, "A", x)
    return {"word": x}

def second(v, params):
    w = v["word"]
    _begin(params, "B", w, params["jobs"]["A"], lambda r: r["status"] == "ok" and r["value"]["word"] == w)
    _downstream_work(int(w[1:]), 0.3, 0.04, params)
    _end(params, "B", w)
    for part in range(2):
        yield {"word": w, "part": part}

def third(v, params):
    w, part = v["word"], v["part"]
    key = "%s.%d" % (w, part)
    _begin(params, "C", key, params["jobs"]["B"], lambda r: r["status"] == "ok" and r["value"] == {"word": w, "part": part})
    _downstream_work(int(w[1:]) + part, 0.3, 0.03, params)
    _end(params, "C", key)
    return {"word": w, "part": part, "done": True}

def upstream(x, params):
    _begin(params, "U", x)
    if x == "bad":
        _end(params, "U", x)
        raise ValueError("cannot take " + x)
    if x == "gate":
        _wait_for(params["release"])
    else:
        time.sleep(0.05)
    _end(params, "U", x)
    return {"word": x}

def downstream(x, params):
    _begin(params, "D", x, params["after"], lambda r: True)
    time.sleep(0.02)
    _end(params, "D", x)
    return {"word": x}
`;

/** A line of the side file. `up`: the upstream rows the attempt stems from (all of them for a waiting job), as its output held them when it began. */
interface Note {
  stage: string;
  key: string;
  at: 'start' | 'end';
  t: number;
  pid: number;
  agent: string;
  up?: Array<{ task: string; index: number | null; end: number }>;
}

const keyOf = (r: Row): string => (typeof r.index === 'number' ? `${r.task}.${r.index}` : r.task);

function assertOneRowEach(rows: readonly Row[], expected: readonly string[], what: string): void {
  assert.deepEqual(rows.map(keyOf).sort(), [...expected].sort(), `${what}: one row per expected task (record)`);
}

const ids = (n: number): string[] => Array.from({ length: n }, (_, i) => `in_${String(i).padStart(String(n).length, '0')}`);
const starts = (notes: readonly Note[], stage: string): Note[] => notes.filter((n) => n.stage === stage && n.at === 'start');
const attempt = (n: Note): string => `${n.stage} ${n.key} (pid ${n.pid}, agent ${n.agent})`;

/** Attempts begun and not ended (yet, or ever: cut short). */
function unfinished(notes: readonly Note[]): Note[] {
  const ended = new Set(notes.filter((n) => n.at === 'end').map(attempt));
  return notes.filter((n) => n.at === 'start' && !ended.has(attempt(n)));
}

describe('faults across stages', () => {
  before(() => writeFileSync(join(suite.dir, 'faults.py'), MODULE));

  it('an agent SIGKILLed with its interpreters mid-pipeline: every stage ends with one row per task, no downstream attempt began before its upstream row was written', async (t) => {
    const run = await suite.coordinator('pf-agent', ['--agent-timeout', '2'], { out: join(suite.dir, 'out-agent') });
    const opts = ['--workers', '2', '--oversubscribe', '--allow-command'];
    const [survivor] = (await run.agents(1, opts, { env: { PF_AGENT: 'survivor' } })) as [Agent];
    const [victim] = (await run.agents(1, opts, { env: { PF_AGENT: 'victim' } })) as [Agent];
    const n = 48;
    const words = Array.from({ length: n }, (_, i) => (i === 9 ? 'bad' : `w${String(i).padStart(2, '0')}`));
    const list = join(suite.dir, 'chain.txt');
    writeFileSync(list, words.join('\n') + '\n');
    const notesFile = join(suite.dir, 'chain-notes.jsonl');
    const release = join(suite.dir, 'release-chain');
    const params = JSON.stringify({ notes: notesFile, out: run.out, jobs: { A: 'FA', B: 'FB' }, gate: words[3], release });
    const sub = (fn: string, job: string, src: string[]) => runShoal(['submit', 'python', ...suite.conn(run.ns), '--fn', `faults.py:${fn}`, '--job', job, '--params', params, ...src], { cwd: suite.dir });
    for (const r of [await sub('first', 'FA', ['--inputs', list, '--granularity', 'task']), await sub('second', 'FB', ['--from', 'FA']), await sub('third', 'FC', ['--from', 'FB'])]) {
      assert.equal(r.code, 0, r.describe());
    }
    const notes = (): Note[] => jsonLinesSoFar<Note>(notesFile);
    let lastA: unknown = null;

    // Mid-pipeline: B and C have begun tasks, A has not ended (a task of it waits for the test), the victim runs a downstream task.
    await until(
      () => `B and C begun, A not ended, the victim in a B or C task (notes: ${notes().length}; FA: ${JSON.stringify(lastA)})`,
      async () => {
        const ns = notes();
        if (starts(ns, 'B').length === 0 || starts(ns, 'C').length === 0) return false;
        if (!unfinished(ns).some((x) => x.agent === 'victim' && x.stage !== 'A')) return false;
        // Last, right before the kill.
        const a = (lastA = await run.ctl.job('FA'));
        if (a.state !== 'running') throw new GiveUp(`FA has ended before the kill (${JSON.stringify(a)})`);
        return true;
      },
      90_000,
      25,
    );
    const pids = await killNode(victim.proc);
    assert.ok(pids.length > 1, `the victim's interpreters were killed with it: ${pids.join(', ')}`);
    const cut = unfinished(notes()).filter((x) => x.agent === 'victim');
    assert.ok(
      cut.some((x) => x.stage !== 'A'),
      `a downstream attempt was cut short: ${cut.map(attempt).join('; ')}`,
    );

    const lost = await run.coord.waitForLog((l) => l.msg === 'agent lost; its tasks requeued' && l.agent === victim.id, 30_000);
    assert.ok((lost.requeued as number) > 0, `the victim held no lease: ${JSON.stringify(lost)}`);
    t.diagnostic(`killed ${pids.length} processes; attempts cut short: ${cut.map(attempt).join('; ')}; ${String(lost.requeued)} tasks requeued`);
    writeFileSync(release, '');
    for (const j of ['FA', 'FB', 'FC']) assert.equal((await run.ctl.waitEnd(j, 180_000)).state, 'done', j);

    const [ra, rb, rc] = ['FA', 'FB', 'FC'].map((j) => readRows(join(run.out, `${j}.jsonl`))) as [Row[], Row[], Row[]];
    const all = ids(n);
    const bad = all[9]!;
    const ok = all.filter((i) => i !== bad);
    const records = [...ok.flatMap((i) => [`${i}.0`, `${i}.1`]), bad];
    assertOneRowEach(ra, all, 'FA');
    assertOneRowEach(rb, records, 'FB');
    assertOneRowEach(rc, records, 'FC');
    assert.equal(ra.find((r) => r.task === bad)!.error?.code, 'E_EXCEPTION');
    for (const rows of [rb, rc]) {
      const up = rows.find((r) => r.task === bad)!;
      assert.equal(up.error?.code, 'E_UPSTREAM', JSON.stringify(up));
      assert.ok(rows.filter((r) => r.task !== bad).every((r) => r.status === 'ok'), 'every other row ok');
    }
    // The cut attempts' tasks ended on the survivor.
    const wordOf = (task: string): string => words[all.indexOf(task.split('.')[0]!)]!;
    for (const c of cut) {
      const rows = { A: ra, B: rb, C: rc }[c.stage as 'A' | 'B' | 'C'].filter((r) => `${wordOf(r.task)}${c.stage === 'C' ? `.${r.task.split('.')[1]}` : ''}` === c.key);
      assert.ok(rows.length > 0 && rows.every((r) => r.agent === survivor.id), `${attempt(c)} was cut short: its rows came from ${rows.map((r) => r.agent).join(', ')}`);
    }

    // Row by row: a downstream row began after its upstream row ended.
    const upRow = (rows: readonly Row[], task: string, index: number | null): Row => {
      const r = rows.find((x) => x.task === task && (index === null ? typeof x.index !== 'number' : x.index === index));
      assert.ok(r, `no upstream row ${task}${index === null ? '' : `.${index}`}`);
      return r;
    };
    const expectedUp = { B: (r: Row) => upRow(ra, r.task, null), C: (r: Row) => upRow(rb, r.task.split('.')[0]!, Number(r.task.split('.')[1])) };
    for (const [stage, rows] of [['B', rb], ['C', rc]] as const) {
      for (const r of rows.filter((x) => x.status === 'ok')) {
        const u = expectedUp[stage](r);
        assert.ok((r.start as number) >= (u.end as number), `${stage} ${keyOf(r)} started at ${r.start}, before its upstream row ended at ${u.end}`);
      }
    }
    // Attempt by attempt, those cut short included: each began with its upstream row already
    // in the upstream's output (written, so committed or about to be: it is committed only once
    // durable), and after that row's end. The row it saw is the one the output keeps.
    const ns = notes();
    for (const [stage, rows, upRows] of [['B', rb, ra], ['C', rc, rb]] as const) {
      const tried = starts(ns, stage);
      for (const r of rows.filter((x) => x.status === 'ok')) {
        const key = stage === 'B' ? wordOf(r.task) : `${wordOf(r.task)}.${r.task.split('.')[1]}`;
        assert.ok(tried.some((x) => x.key === key), `${stage} ${keyOf(r)} has a row but no attempt in the side file`);
      }
      for (const x of tried) {
        assert.equal(x.up?.length, 1, `${attempt(x)} began with its upstream row not in the output: ${JSON.stringify(x)}`);
        const seen = x.up![0]!;
        const kept = upRow(upRows, seen.task, seen.index);
        assert.equal(seen.end, kept.end, `${attempt(x)} saw upstream row ${seen.task}.${seen.index}, not the one kept`);
        assert.ok(x.t >= seen.end, `${attempt(x)} began at ${x.t}, before its upstream row ended at ${seen.end}`);
      }
      assert.ok(!tried.some((x) => x.key.startsWith('bad')), `${stage}: nothing ran for the upstream error`);
    }
    assert.ok(survivor.proc.alive, survivor.proc.describe());
    run.coord.kill('SIGTERM');
    await run.coord.exited;
  });
  it('--after across a coordinator restart: the waiting job still waits, runs nothing while others run, and runs once its upstream ends', async () => {
    const run = await suite.coordinator('pf-after', [], { out: join(suite.dir, 'out-after') });
    await run.agents(2, ['--workers', '2', '--oversubscribe', '--allow-command']);
    const conn = suite.conn(run.ns);
    const up = join(suite.dir, 'up.txt');
    const uWords = ['w0', 'w1', 'w2', 'gate', 'w4', 'w5', 'w6', 'w7', 'w8', 'w9'];
    writeFileSync(up, uWords.join('\n') + '\n');
    const down = join(suite.dir, 'down.txt');
    writeFileSync(down, ['d0', 'd1', 'd2', 'd3', 'd4', 'd5'].join('\n') + '\n');
    const notesFile = join(suite.dir, 'after-notes.jsonl');
    const release = join(suite.dir, 'release-u');
    const params = JSON.stringify({ notes: notesFile, out: run.out, release, after: 'U' });
    const py = (fn: string, job: string, more: string[]) => runShoal(['submit', 'python', ...conn, '--fn', `faults.py:${fn}`, '--job', job, '--params', params, ...more], { cwd: suite.dir });
    for (const r of [await py('upstream', 'U', ['--inputs', up, '--granularity', 'task']), await py('downstream', 'D', ['--inputs', down, '--after', 'U'])]) assert.equal(r.code, 0, r.describe());
    const uFile = join(run.out, 'U.jsonl');
    // U's gate alone runs: slots are free, and D waits.
    await until('U done but for its gate', () => rowsSoFar(uFile).length === uWords.length - 1, 60_000);
    assert.deepEqual((await run.ctl.job('D')).waitingFor, ['U']);

    await killHard(run.coord);
    const second = await startCoordinator(suite.nats.url, run.ns, run.out);
    try {
      await second.waitForLog((l) => l.msg === 'resuming job after restart' && l.job === 'D');
      // The agents are back (U's gate adopted from the one running it), and D waits for U.
      await until('U running its gate under the new coordinator', async () => (await run.ctl.job('U')).running === 1, 60_000);
      const d = await run.ctl.job('D');
      assert.deepEqual(d.waitingFor, ['U'], JSON.stringify(d));
      // A job beside them is dispatched task by task on the free slots: had D been let run, the
      // first of these dispatches would have gone to it (of jobs with as few tasks out, the
      // earlier is served first).
      const w = await runShoal(['submit', 'spin', ...conn, '--job', 'W', '--tasks', '6', '--ms', '50', '--sleep', '--granularity', 'task']);
      assert.equal(w.code, 0, w.describe());
      await until('rows of W', () => rowsSoFar(join(run.out, 'W.jsonl')).length >= 3, 60_000);
      const still = await run.ctl.job('D');
      assert.deepEqual([still.waitingFor, still.done, still.running], [['U'], 0, 0], JSON.stringify(still));
      assert.deepEqual(starts(jsonLinesSoFar<Note>(notesFile), 'D'), [], 'nothing of D ran while U had not ended');
      assert.equal(rowsSoFar(join(run.out, 'D.jsonl')).length, 0, 'D has no row while U runs');

      writeFileSync(release, '');
      assert.equal((await run.ctl.waitEnd('D', 60_000)).state, 'done');
      assert.equal((await run.ctl.job('U')).state, 'done');
      assert.equal((await run.ctl.waitEnd('W', 60_000)).state, 'done');
      assertOneRowEach(readRows(join(run.out, 'W.jsonl')), ['spin_0', 'spin_1', 'spin_2', 'spin_3', 'spin_4', 'spin_5'], 'W');
      const u = readRows(uFile);
      assertOneRowEach(u, ids(uWords.length), 'U');
      assertOneRowEach(readRows(join(run.out, 'D.jsonl')), ids(6), 'D');
      const uEnd = Math.max(...u.map((r) => r.end as number));
      const ns = jsonLinesSoFar<Note>(notesFile);
      for (const x of starts(ns, 'D')) {
        assert.equal(x.up?.length, uWords.length, `${attempt(x)} began with ${x.up?.length} of U's ${uWords.length} rows in its output`);
        assert.ok(x.t >= uEnd, `${attempt(x)} began at ${x.t}, before U's last row ended at ${uEnd}`);
      }
      assert.equal(new Set(starts(ns, 'D').map((x) => x.key)).size, 6, 'every task of D ran');
    } finally {
      second.kill('SIGTERM');
      await second.exited;
    }
  });

  it('--after-ok across restarts: the upstream\'s failed task ends while the coordinator is down, the restarted one cancels the waiting job with the reason, and the next restart leaves it cancelled', async () => {
    const run = await suite.coordinator('pf-after-ok', [], { out: join(suite.dir, 'out-after-ok') });
    await run.agents(1, ['--workers', '2', '--oversubscribe', '--allow-command']);
    const conn = suite.conn(run.ns);
    const up = join(suite.dir, 'up2.txt');
    const uWords = ['w0', 'bad', 'w2', 'gate'];
    writeFileSync(up, uWords.join('\n') + '\n');
    const down = join(suite.dir, 'down2.txt');
    writeFileSync(down, 'd0\nd1\nd2\n');
    const notesFile = join(suite.dir, 'after-ok-notes.jsonl');
    const release = join(suite.dir, 'release-u2');
    const params = JSON.stringify({ notes: notesFile, out: run.out, release, after: 'U2' });
    const py = (fn: string, job: string, more: string[]) => runShoal(['submit', 'python', ...conn, '--fn', `faults.py:${fn}`, '--job', job, '--params', params, ...more], { cwd: suite.dir });
    for (const r of [await py('upstream', 'U2', ['--inputs', up, '--granularity', 'task']), await py('downstream', 'D2', ['--inputs', down, '--after', 'U2', '--after-ok'])]) assert.equal(r.code, 0, r.describe());
    const uFile = join(run.out, 'U2.jsonl');
    await until('U2 done but for its gate', () => rowsSoFar(uFile).length === uWords.length - 1, 60_000);
    assert.deepEqual((await run.ctl.job('D2')).waitingFor, ['U2']);

    await killHard(run.coord);
    // U2's last task ends while no coordinator runs: its row waits in the agent's outbox.
    writeFileSync(release, '');
    const notes = (): Note[] => jsonLinesSoFar<Note>(notesFile);
    await until('the gate task to end on the agent', () => notes().some((x) => x.stage === 'U' && x.key === 'gate' && x.at === 'end'), 60_000);
    assert.equal(endedJob(run.out, 'U2'), null, 'precondition: U2\'s end was not recorded before the kill');
    assert.equal(rowsSoFar(uFile).length, uWords.length - 1, 'precondition: the gate\'s row is not in the output yet');

    const reason = 'upstream job U2 ended with 1 failed task';
    const second = await startCoordinator(suite.nats.url, run.ns, run.out);
    try {
      await second.waitForLog((l) => l.msg === 'resuming job after restart' && l.job === 'D2');
      const d = await run.ctl.waitEnd('D2', 60_000);
      assert.equal(d.state, 'cancelled', JSON.stringify(d));
      assert.equal(d.error, reason);
      const u = await run.ctl.waitEnd('U2', 60_000);
      assert.deepEqual([u.state, u.done, u.failed], ['done', uWords.length, 1], JSON.stringify(u));
      await until('the ends of U2 and D2 recorded', () => endedJob(run.out, 'U2')?.state === 'done' && endedJob(run.out, 'D2')?.state === 'cancelled');
    } finally {
      second.kill('SIGKILL');
      await second.exited;
    }
    const rows = readRows(uFile);
    assertOneRowEach(rows, ids(uWords.length), 'U2');
    assert.equal(rows.find((r) => r.task === 'in_1')!.error?.code, 'E_EXCEPTION');
    assert.equal(starts(notes(), 'U').filter((x) => x.key === 'gate').length, 1, 'the gate ran once: its row came from the outbox');

    // Killed again after D2 was cancelled: the next coordinator does not take it up again.
    const third = await startCoordinator(suite.nats.url, run.ns, run.out);
    try {
      assert.deepEqual(logsOf(third, 'resuming job after restart').map((l) => l.job), [], 'nothing to resume');
      assert.deepEqual(endedJob(run.out, 'D2'), { state: 'cancelled', failed: 0 });
      // Submitted again, D2 is cancelled at once for the same reason: U2's record says how it ended.
      const again = await runShoal(['submit', 'python', ...conn, '--fn', 'faults.py:downstream', '--job', 'D2', '--params', params, '--inputs', down, '--after', 'U2', '--after-ok', '--wait'], { cwd: suite.dir });
      assert.equal(again.code, 3, again.describe());
      const d = await run.ctl.job('D2');
      assert.deepEqual([d.state, d.error], ['cancelled', reason]);
    } finally {
      third.kill('SIGTERM');
      await third.exited;
    }
    assert.deepEqual(starts(notes(), 'D'), [], 'nothing of D2 ever ran');
    assert.equal(readRows(join(run.out, 'D2.jsonl')).length, 0, 'D2 has no row');
  });
});
