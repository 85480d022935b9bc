/**
 * What a person sees on stderr: readable lines on a terminal (the CLI under a pseudo-terminal
 * from util-linux's `script`), JSON through a pipe, and a normal start, job and stop of a
 * coordinator with its own nats-server that logs nothing at error level.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { freePort } from '../../src/nats-server.js';
import { uniqueNs } from '../helpers/nats.js';
import { cliPath } from '../helpers/paths.js';
import { connArgs, runShoal, spawnShoal, startAgent, type LogLine, type ShoalProcess } from '../helpers/shoal.js';
import { tempSuite } from '../helpers/suite.js';

const suite = tempSuite('shoal-logs-');

/** pino's number for `error`: a line at this level or above says something went wrong. */
const ERROR = 50;

const quote = (s: string): string => `'${s.replaceAll("'", `'\\''`)}'`;

/**
 * Runs the CLI with a pseudo-terminal as its stdout and stderr; resolves with all it wrote.
 * Give it `--json`: a progress bar would share lines with the log.
 */
function onTerminal(args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): Promise<{ code: number | null; text: string }> {
  const command = [process.execPath, cliPath, ...args].map(quote).join(' ');
  return new Promise((resolve, reject) => {
    // -e: script exits with the command's code; the typescript file is not wanted.
    const child = spawn('script', ['-q', '-e', '-c', command, '/dev/null'], { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...env, NO_COLOR: '1', TERM: 'dumb' } });
    let text = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (text += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (text += d));
    child.once('error', (err) => reject(new Error(`cannot start util-linux 'script' (needed for a pseudo-terminal): ${err.message}`)));
    child.once('close', (code) => resolve({ code, text }));
  });
}

/**
 * The lines a terminal shows for `text`: a carriage return or `ESC [ n G` moves along the line,
 * where the next characters overwrite; `ESC [ 2 K` clears the line and `ESC [ K` its rest; other
 * escape sequences draw nothing.
 */
function shownLines(text: string): string[] {
  return text.split(/\r?\n/).map((segment) => {
    let line: string[] = [];
    let col = 0;
    for (let i = 0; i < segment.length; i++) {
      const c = segment[i]!;
      if (c === '\r') col = 0;
      else if (c === '\u001b') {
        const m = /^\u001b\[([?\d;]*)([A-Za-z])/.exec(segment.slice(i));
        if (m?.[2] === 'G') col = Math.max(1, Number(m[1]) || 1) - 1;
        else if (m?.[2] === 'K') line = m[1] === '2' ? [] : line.slice(0, col);
        i += (m?.[0].length ?? 1) - 1;
      } else line[col++] = c;
    }
    return Array.from(line, (c) => c ?? ' ').join('');
  });
}

const errorLines = (p: ShoalProcess): LogLine[] => p.logs.filter((l) => (l.level ?? 0) >= ERROR);

describe('log lines', () => {
  it('on a terminal: one readable line per entry, with the component and fields, and no JSON', async () => {
    const r = await onTerminal(['run', 'spin', '--tasks', '2', '--ms', '1', '--job', 'tty', '--json', '--log-level', 'info', '--out-dir', suite.dir], suite.dir);
    assert.equal(r.code, 0, r.text);
    assert.match(r.text, /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: coordinator: agent joined {2}agent=\S+ .*slots=\d+/m, r.text);
    assert.match(r.text, /INFO: coordinator: job done {2}job=tty tasks=2 ok=2 /, r.text);
    assert.doesNotMatch(r.text, /\{"level"/, r.text);
  });

  it("on a terminal with --log-format json: JSON lines all the same", async () => {
    const r = await onTerminal(['run', 'spin', '--tasks', '1', '--job', 'tty-json', '--json', '--log-level', 'info', '--log-format', 'json', '--out-dir', suite.dir], suite.dir);
    assert.equal(r.code, 0, r.text);
    assert.match(r.text, /^\{"level":30,.*"msg":"job done"\}\r?$/m, r.text);
    assert.doesNotMatch(r.text, /INFO:/, r.text);
  });

  it('through a pipe: every stderr line is a JSON object; --log-format pretty makes them readable there too', async () => {
    const r = await runShoal(['run', 'spin', '--tasks', '2', '--job', 'pipe', '--log-level', 'info', '--out-dir', suite.dir], { cwd: suite.dir });
    assert.equal(r.code, 0, r.describe());
    const lines = r.stderr.split('\n').filter((l) => l !== '');
    assert.ok(lines.length >= 3, r.describe());
    for (const l of lines) assert.equal(typeof (JSON.parse(l) as LogLine).level, 'number', l);
    const pretty = await runShoal(['run', 'spin', '--tasks', '1', '--job', 'pretty', '--log-level', 'info', '--log-format', 'pretty', '--out-dir', suite.dir], { cwd: suite.dir });
    assert.equal(pretty.code, 0, pretty.describe());
    assert.match(pretty.stderr, /^\[[\d:.]+\] INFO: coordinator: job done {2}job=pretty /m, pretty.describe());
    assert.doesNotMatch(pretty.stderr, /\{"level"|\u001b\[/, pretty.describe());
  });

  it("a line logged while run's progress bar is drawn is printed above the bar, never on its line", async () => {
    const env = { ...process.env };
    delete env.CI; // the bar is drawn on a terminal, but not under CI
    // Task 150 ends its worker thread each time it runs: the agent warns while the bar is up.
    const r = await onTerminal(['run', 'spin', '--tasks', '300', '--sleep', '--ms', '10', '--workers', '2', '--crash-tasks', '150', '--max-attempts', '2', '--job', 'bar', '--out-dir', suite.dir], suite.dir, env);
    const shown = shownLines(r.text);
    assert.ok(shown.some((l) => /^ \S+ \d+% \|/.test(l)), `a progress bar was drawn\n${JSON.stringify(r.text)}`);
    const warned = shown.filter((l) => l.includes('a worker thread died; replaced'));
    assert.equal(warned.length, 2, `one warning per attempt\n${shown.join('\n')}`);
    for (const l of warned) assert.match(l, /^\[[\d:.]+\] WARN: agent: a worker thread died; replaced/, `a line of its own\n${JSON.stringify(r.text)}`);
  });

  it('a coordinator with its own nats-server, an agent, a job and a normal stop: nothing at error level', async () => {
    const port = await freePort();
    const url = `nats://127.0.0.1:${port}`;
    const ns = uniqueNs('logs');
    const coord = spawnShoal(['coordinator', '--spawn-nats', '--listen', `127.0.0.1:${port}`, '--ns', ns, '--out-dir', join(suite.dir, 'out')], { cwd: suite.dir });
    await coord.waitForLog('coordinator ready');
    const agent = await startAgent(url, ns, ['--workers', '1'], { cwd: suite.dir });
    const job = await runShoal(['submit', 'spin', '--tasks', '20', '--ms', '1', '--wait', ...connArgs(url, ns)], { cwd: suite.dir });
    assert.equal(job.code, 0, job.describe());

    agent.proc.kill('SIGTERM');
    assert.equal((await agent.proc.exited).code, 0, agent.proc.describe());
    coord.kill('SIGTERM');
    assert.equal((await coord.exited).code, 0, coord.describe());

    assert.deepEqual(errorLines(coord), [], coord.describe());
    assert.deepEqual(errorLines(agent.proc), [], agent.proc.describe());
    // Each line names its component once (the sink's lines are not also the coordinator's).
    const lines = coord.stderr.split('\n').filter((l) => l.startsWith('{'));
    assert.deepEqual(lines.filter((l) => l.split('"component":').length > 2), [], coord.describe());
    assert.ok(coord.logs.some((l) => l.component === 'sink'), `a line of the sink's\n${coord.describe()}`);
    const started = coord.stderr.split('\n').find((l) => l.includes('"msg":"nats-server started"'));
    assert.ok(started, coord.describe());
    assert.equal(started.split('"pid":').length - 1, 1, `one pid in ${started}`);
    const line = JSON.parse(started) as LogLine;
    assert.equal(typeof line.natsPid, 'number', started);
    assert.notEqual(line.natsPid, line.pid, started);
    const stopped = await coord.waitForLog('nats-server stopped');
    assert.equal(stopped.level, 30, coord.describe());
    assert.equal(stopped.natsPid, line.natsPid, coord.describe());
  });

  it("Ctrl-C on its terminal (SIGINT to the whole process group) stops it in order, nats-server last, nothing at error level", async () => {
    const port = await freePort();
    // setsid: the coordinator leads a process group of its own, as a shell's foreground job does.
    const coord = spawnShoal(['coordinator', '--spawn-nats', '--listen', `127.0.0.1:${port}`, '--ns', uniqueNs('logs'), '--out-dir', join(suite.dir, 'out-int')], { cwd: suite.dir, wrapper: ['setsid'] });
    const started = await coord.waitForLog('nats-server started');
    await coord.waitForLog('coordinator ready');
    process.kill(-coord.pid, 'SIGINT');
    assert.equal((await coord.exited).code, 0, coord.describe());
    assert.deepEqual(errorLines(coord), [], coord.describe());
    assert.deepEqual(coord.logs.filter((l) => l.level === 40), [], `no warning (a lost broker) either\n${coord.describe()}`);
    assert.equal((await coord.waitForLog('nats-server stopped')).natsPid, started.natsPid, coord.describe());
  });

  it('its nats-server killed under it: that is an error, and the coordinator stops with exit 4', async () => {
    const port = await freePort();
    const coord = spawnShoal(['coordinator', '--spawn-nats', '--listen', `127.0.0.1:${port}`, '--ns', uniqueNs('logs'), '--out-dir', join(suite.dir, 'out-killed')], { cwd: suite.dir });
    const started = await coord.waitForLog('nats-server started');
    await coord.waitForLog('coordinator ready');
    process.kill(started.natsPid as number, 'SIGKILL');
    assert.equal((await coord.exited).code, 4, coord.describe());
    const [error, ...more] = errorLines(coord);
    assert.equal(error?.msg, 'the spawned nats-server exited: stopping', coord.describe());
    assert.equal(error?.signal, 'SIGKILL', coord.describe());
    assert.deepEqual(more, [], coord.describe());
    assert.ok(!coord.logs.some((l) => l.msg === 'nats-server stopped'), `it stopped by itself, not by us\n${coord.describe()}`);
  });
});
