/**
 * No wait in silence, over a real nats-server: a job whose kind no connected agent can run makes
 * `submit --wait` say so on stderr (which kind, what the agents offer, --handlers) and wait on,
 * `--wait-timeout` ends that wait with exit code 6 while the job stays submitted (status keeps
 * the note), an agent with the handler that joins later runs it; `submit --wait` with no agent at
 * all says how to start one; `run --nats --workers 0` says the same as submit; and `run --workers
 * 0` without --nats, where nothing could ever run the job, is a usage error.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { repoRoot } from '../helpers/paths.js';
import { readRows } from '../helpers/rows.js';
import { jobStatus, runShoal, spawnShoal, type Agent } from '../helpers/shoal.js';
import { natsSuite, type Run } from '../helpers/suite.js';
import { uniqueNs } from '../helpers/nats.js';
import { until } from '../helpers/wait.js';

const EXAMPLE = join(repoRoot, 'examples', 'handlers', 'word-stats.mjs');
/** The exit code of a wait given up (--wait-timeout). */
const WAIT_TIMEOUT = 6;

const suite = natsSuite('shoal-silent-waits-');

/** The lines of `text` that say no connected agent can run kind `kind`, as the waiting CLI prints them. */
const notesFor = (text: string, kind: string): string[] => text.split('\n').filter((l) => l.includes(`no connected agent has a handler for kind '${kind}'`));

describe('a job no connected agent can run', () => {
  let run: Run;
  let plain: Agent;
  let inputs: string;
  const conn = (): string[] => suite.conn(run.ns);

  before(async () => {
    run = await suite.coordinator('unrunnable');
    [plain] = (await run.agents(1, ['--workers', '1'])) as [Agent];
    writeFileSync(join(suite.dir, 'doc.txt'), 'one two two\n');
    inputs = join(suite.dir, 'files.txt');
    writeFileSync(inputs, 'doc.txt\n');
  });

  it('submit --wait of a misspelled kind says so on stderr, and --wait-timeout ends the wait with exit 6; the job stays submitted', async () => {
    const waiting = spawnShoal(['submit', 'wordstats', ...conn(), '--job', 'TYPO', '--inputs', inputs, '--wait']);
    await until(() => `the note that no agent can run 'wordstats'\n${waiting.describe()}`, () => notesFor(waiting.stderr, 'wordstats').length > 0, 60_000);
    const [note] = notesFor(waiting.stderr, 'wordstats');
    assert.match(note!, /^job TYPO: /);
    assert.match(note!, new RegExp(`agent ${plain.id} offers only the built-in kinds`), 'what the agents offer');
    assert.match(note!, /start an agent with --handlers MODULE whose module exports 'wordstats', or fix the kind's name/, 'what to do');
    assert.ok(waiting.alive, `it keeps waiting (an agent may still come)\n${waiting.describe()}`);
    waiting.kill('SIGKILL');

    const r = await runShoal(['submit', 'wordstats', ...conn(), '--job', 'TYPO2', '--inputs', inputs, '--wait-timeout', '1']);
    assert.equal(r.code, WAIT_TIMEOUT, r.describe());
    const last = r.stderr.trim().split('\n').at(-1)!;
    assert.match(last, /^shoal: gave up waiting for job TYPO2 after 1 s \(--wait-timeout\): it is running, 0 of 1 tasks done; no connected agent has a handler for kind 'wordstats'/);
    assert.match(last, /It stays submitted: `shoal status TYPO2`/);

    const j = await jobStatus(suite.nats.url, run.ns, 'TYPO2');
    assert.equal(j.state, 'running', 'the job is still submitted');
    assert.match(String(j.unrunnable), /kind 'wordstats'/);
    const human = await runShoal(['status', ...conn()]);
    assert.match(human.stdout, /note \(TYPO2\): no connected agent has a handler for kind 'wordstats'/, human.describe());
  });

  it('the note is said once, and the job runs when an agent with the handler joins', async () => {
    const waiting = spawnShoal(['submit', 'word-stats', ...conn(), '--job', 'LATE', '--inputs', inputs, '--params', JSON.stringify({ dir: suite.dir }), '--wait']);
    await until(() => `the note for 'word-stats'\n${waiting.describe()}`, () => notesFor(waiting.stderr, 'word-stats').length > 0, 60_000);
    const spot = spawnShoal(['agent', ...conn(), '--workers', '1', '--spot', '--handlers', EXAMPLE]);
    const ended = await waiting.exited;
    assert.equal(ended.code, 0, waiting.describe());
    assert.equal(notesFor(waiting.stderr, 'word-stats').length, 1, `one note\n${waiting.describe()}`);
    assert.match(waiting.stderr, /job LATE: an agent that can run it is connected now/);
    const [row] = readRows(join(run.out, 'LATE.jsonl'));
    assert.deepEqual(row!.value, { file: 'doc.txt', lines: 1, words: 3, distinct: 2, top: [['two', 2], ['one', 1]] });
    spot.kill('SIGKILL');
  });

  it('run --nats --workers 0 says the same while the agents that joined cannot run its kind', async () => {
    const ns = uniqueNs('run-unrunnable');
    const agent = spawnShoal(['agent', ...suite.conn(ns), '--workers', '1']);
    const r = spawnShoal(['run', 'word-stats', '--handlers', EXAMPLE, ...suite.conn(ns), '--workers', '0', '--job', 'RUNW', '--inputs', inputs, '--out-dir', join(suite.dir, 'run-out')]);
    await until(() => `run's note\n${r.describe()}\n${agent.describe()}`, () => notesFor(r.stderr, 'word-stats').length > 0, 60_000);
    assert.match(notesFor(r.stderr, 'word-stats')[0]!, /^job RUNW: .*offers only the built-in kinds/);
    r.kill('SIGINT');
    assert.equal((await r.exited).code, 3, `Ctrl-C cancels the job\n${r.describe()}`);
    agent.kill('SIGKILL');
  });
});

describe('no agent at all', () => {
  it('submit --wait says that none is connected and how to start one', async () => {
    const run = await suite.coordinator('no-agent', [], { out: join(suite.dir, 'out-alone') });
    const waiting = spawnShoal(['submit', 'spin', ...suite.conn(run.ns), '--job', 'ALONE', '--tasks', '2', '--wait']);
    const hint = `job ALONE: no agent is connected to run its tasks; start one with \`shoal agent --nats ${suite.nats.url} --ns ${run.ns}\``;
    await until(() => `the note that no agent is connected\n${waiting.describe()}`, () => waiting.stderr.includes(hint), 60_000);
    assert.ok(waiting.alive, waiting.describe());
    waiting.kill('SIGKILL');
  });

  it('run --workers 0 without --nats is a usage error (exit 2) that says why and what to do', async () => {
    const r = await runShoal(['run', 'spin', '--tasks', '10', '--workers', '0', '--out-dir', join(suite.dir, 'w0')]);
    assert.equal(r.code, 2, r.describe());
    assert.match(r.stderr, /^shoal: --workers 0 starts no agent in this process, and without --nats \(or SHOAL_NATS\) no other agent can join/);
    assert.match(r.stderr, /Give --nats URL .* or leave out --workers 0/);
  });
});
