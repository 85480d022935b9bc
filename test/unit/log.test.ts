/**
 * The logger factory (src/log.ts): readable lines on a terminal, JSON through a pipe or when
 * asked, the format the command line set, and a level it does not know refused by name.
 */
import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { createLogger, LOG_LEVELS, logFormat, readableLine, setLogFormat, type LogFormat } from '../../src/log.js';
import { ErrorCode, ShoalError } from '../../src/errors.js';

/** A stream that records what is written, a terminal or not. */
function sink(isTTY: boolean): { isTTY: boolean; lines: string[]; write(s: string): void } {
  const lines: string[] = [];
  return { isTTY, lines, write: (s: string) => void lines.push(s) };
}

const ESC = '\u001b[';

afterEach(() => setLogFormat('auto'));

test('on a terminal a line is readable: time, level, component, message and its fields, no JSON and no pid', () => {
  const out = sink(true);
  const log = createLogger('info', { role: 'coordinator' }, { stream: out, env: { NO_COLOR: '1' } });
  log.child({ component: 'coordinator' }).info({ agent: 'node7-4121', slots: 64, host: 'node7' }, 'agent joined');
  assert.equal(out.lines.length, 1);
  const line = out.lines[0]!;
  assert.match(line, /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: coordinator: agent joined {2}agent=node7-4121 slots=64 host=node7\n$/);
  assert.doesNotMatch(line, /pid|role|\{/);
});

test('on a terminal the level and the fields are coloured, unless NO_COLOR is set (and not empty)', () => {
  for (const env of [{}, { NO_COLOR: '' }]) {
    const coloured = sink(true);
    createLogger('info', {}, { stream: coloured, env }).warn({ job: 'j1' }, 'stalled');
    assert.ok(coloured.lines[0]!.includes(ESC), JSON.stringify(coloured.lines));
  }
  const plain = sink(true);
  createLogger('info', {}, { stream: plain, env: { NO_COLOR: '1' } }).warn({ job: 'j1' }, 'stalled');
  assert.ok(!plain.lines[0]!.includes(ESC), JSON.stringify(plain.lines));
  assert.match(plain.lines[0]!, / WARN: stalled {2}job=j1\n$/);
});

test('through a pipe each line is one JSON object with level, time, pid and the fields', () => {
  const out = sink(false);
  createLogger('info', { role: 'agent' }, { stream: out }).info({ job: 'j1' }, 'job done');
  const entry = JSON.parse(out.lines[0]!) as Record<string, unknown>;
  assert.equal(entry.level, 30);
  assert.equal(entry.msg, 'job done');
  assert.equal(entry.pid, process.pid);
  assert.equal(entry.role, 'agent');
  assert.equal(entry.job, 'j1');
  assert.match(String(entry.time), /^\d{4}-\d\d-\d\dT/);
});

test("'json' on a terminal writes JSON; 'pretty' through a pipe writes readable lines without colour", () => {
  const tty = sink(true);
  createLogger('info', {}, { stream: tty, format: 'json', env: {} }).info('x');
  assert.equal((JSON.parse(tty.lines[0]!) as { msg: string }).msg, 'x');
  const pipe = sink(false);
  createLogger('info', {}, { stream: pipe, format: 'pretty', env: {} }).info({ n: 1 }, 'y');
  assert.match(pipe.lines[0]!, /^\[[\d:.]+\] INFO: y {2}n=1\n$/);
});

test('the format the command line set is the default of every logger made after it', () => {
  const cases: Array<[LogFormat, boolean, boolean]> = [
    ['auto', true, false],
    ['auto', false, true],
    ['json', true, true],
    ['pretty', false, false],
  ];
  for (const [format, isTTY, json] of cases) {
    setLogFormat(format);
    assert.equal(logFormat(), format);
    const out = sink(isTTY);
    createLogger('info', {}, { stream: out, env: {} }).info('m');
    assert.equal(out.lines[0]!.startsWith('{"level":30'), json, `${format} on ${isTTY ? 'a terminal' : 'a pipe'}: ${out.lines[0]}`);
  }
});

test('the level is applied: debug lines are dropped at info, kept at debug', () => {
  const info = sink(false);
  createLogger('info', {}, { stream: info }).debug('chatter');
  assert.deepEqual(info.lines, []);
  const debug = sink(true);
  createLogger('debug', {}, { stream: debug, env: { NO_COLOR: '1' } }).debug('chatter');
  assert.match(debug.lines[0]!, /DEBUG: chatter/);
});

test('a level pino does not know is refused with a usage error that lists the levels', () => {
  assert.throws(
    () => createLogger('chatty' as 'info'),
    (err: unknown) => {
      assert.ok(err instanceof ShoalError);
      assert.equal(err.code, ErrorCode.Usage);
      for (const level of LOG_LEVELS) assert.ok(err.message.includes(level), err.message);
      assert.ok(err.message.includes("'chatty'"), err.message);
      return true;
    },
  );
});

test('readable fields: a value with blanks is quoted, objects are JSON, control characters are shown escaped', () => {
  const line = readableLine({ level: 40, time: 1, pid: 9, component: 'sink', msg: 'refused\u001b[2J', why: 'run finished', n: 3, ok: true, at: { a: 1 }, name: 'x\u001b]0;y' });
  assert.equal(line, 'sink: refused\\u001b[2J  why="run finished" n=3 ok=true at={"a":1} name="x\\u001b]0;y"');
});

test('a multi-line value (a stack) follows the line, indented, whether a string or an error object', () => {
  const stack = 'Error: boom\n    at f (a.js:1:1)';
  assert.equal(readableLine({ msg: 'handler failed', subject: 's', stack }), 'handler failed  subject=s\n    stack: Error: boom\n        at f (a.js:1:1)');
  assert.equal(readableLine({ msg: 'failed', err: { type: 'Error', message: 'boom', stack } }), 'failed\n    err: Error: boom\n        at f (a.js:1:1)');
});
