/**
 * A job's fingerprint by content: each input's sha256 (taken from the record while the file's
 * size and mtime are unchanged), what of each kind's params counts (no input paths, no
 * stamps; options do), records of an earlier shoal still recognised by their old rule, and the
 * refusal's words: each changed input and each changed option with its old and new value.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { describeChange } from '../../coordinator/jobs/changes.js';
import { hashFile, inputFacts, type InputFacts } from '../../coordinator/jobs/content-hash.js';
import { identityOf, restampOf } from '../../coordinator/jobs/identity.js';
import { contentFingerprint, legacyFingerprint, sameJob, type Fingerprinted, type JobRecord } from '../../coordinator/jobs/record.js';
import { ShoalError } from '../../src/errors.js';
import { getKind, type Kind } from '../../src/kinds/index.js';
import { kindParams } from '../helpers/kinds.js';

const dir = mkdtempSync(join(tmpdir(), 'shoal-fingerprint-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: string): string {
  const path = join(dir, name);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, content);
  return path;
}

const sha256 = (b: string | Buffer): string => createHash('sha256').update(b).digest('hex');

function kind(name: string): Kind<unknown> {
  const k = getKind(name);
  assert.ok(k, name);
  return k;
}

/** A job of kind `name` from its command-line options, fingerprinted as admission does it (against `known`, a record's inputs). */
async function submitted(name: string, args: string[], known: InputFacts[] = []): Promise<Fingerprinted> {
  const k = kind(name);
  const params = kindParams(k, args);
  const { files, identity } = identityOf(name, k, params);
  const inputs = await inputFacts(files, known);
  return { kind: name, params, inputs, upstream: undefined, hash: contentFingerprint(name, identity, inputs) };
}

function recordOf(fp: Fingerprinted): JobRecord {
  return { job: 'j', kind: fp.kind, params: fp.params, out: '/o/j.jsonl', fingerprint: fp.hash, fingerprintBy: 'content', inputs: fp.inputs, state: 'done', submittedAt: 1 };
}

describe('input hashes', () => {
  it('hashes a file by its bytes, as sha256sum does, however many reads it takes', async () => {
    const big = Buffer.alloc((4 << 20) * 2 + 3, 'ab');
    big[5] = 0;
    const path = join(dir, 'big.bin');
    writeFileSync(path, big);
    assert.equal((await hashFile(path)).sha256, sha256(big));
    writeFileSync(path, '');
    assert.equal((await hashFile(path)).sha256, sha256(''));
  });

  it('takes the record’s hash while the size and mtime are the same', async () => {
    const f = file('words.txt', 'alpha\nbeta\n');
    const facts = await hashFile(f);
    assert.equal(facts.sha256, sha256('alpha\nbeta\n'));
    assert.equal(facts.size, 11);
    // The same path, size and mtime: the record's hash stands (the file is not read).
    const kept = await inputFacts([f], [{ ...facts, sha256: 'from-the-record' }]);
    assert.equal(kept[0]!.sha256, 'from-the-record');
    // Another mtime, or another path: read again.
    utimesSync(f, new Date(), new Date(facts.mtimeMs + 5000));
    assert.equal((await inputFacts([f], [{ ...facts, sha256: 'from-the-record' }]))[0]!.sha256, facts.sha256);
    assert.equal((await inputFacts([f], [{ ...facts, path: '/elsewhere', sha256: 'x' }]))[0]!.sha256, facts.sha256);
    // A record of an earlier shoal has no hash to take.
    const { sha256: _, ...legacy } = facts;
    assert.equal((await inputFacts([f], [legacy]))[0]!.sha256, facts.sha256);
  });

  it('names a missing input', async () => {
    await assert.rejects(inputFacts([join(dir, 'nope.sdf')]), (err: unknown) => err instanceof ShoalError && /nope\.sdf: no such file/.test(err.message));
  });
});

describe('the content fingerprint', () => {
  const ref = file('a/ref.sdf', 'REF\n');
  const gen = file('a/gen.sdf', 'GEN\n');

  it('does not change when the inputs are touched or copied elsewhere; does when a byte or an option does', async () => {
    const first = await submitted('conformers', ['--ref', ref, '--gen', gen]);
    utimesSync(ref, new Date(), new Date(Date.now() + 10_000));
    assert.equal((await submitted('conformers', ['--ref', ref, '--gen', gen], first.inputs)).hash, first.hash, 'touched');
    cpSync(join(dir, 'a'), join(dir, 'copy'), { recursive: true });
    assert.equal((await submitted('conformers', ['--ref', join(dir, 'copy/ref.sdf'), '--gen', join(dir, 'copy/gen.sdf')])).hash, first.hash, 'copied');
    // Swapped files are another job: the order of the inputs counts.
    assert.notEqual((await submitted('conformers', ['--ref', gen, '--gen', ref])).hash, first.hash, 'swapped');
    assert.notEqual((await submitted('conformers', ['--ref', ref, '--gen', gen, '--threshold', '1'])).hash, first.hash, 'option');
    writeFileSync(join(dir, 'copy/ref.sdf'), 'REG\n');
    assert.notEqual((await submitted('conformers', ['--ref', join(dir, 'copy/ref.sdf'), '--gen', gen])).hash, first.hash, 'one byte');
  });

  it('leaves out each kind’s input paths and stamps, keeps its options', async () => {
    const words = file('b/words.txt', 'x\ny\n');
    const fn = file('b/fns.py', 'def f(x, params):\n    return x\n');
    const moved = file('c/words.txt', 'x\ny\n');
    const movedFn = file('c/fns.py', 'def f(x, params):\n    return x\n');
    const id = (name: string, args: string[]): unknown => identityOf(name, kind(name), kindParams(kind(name), args)).identity;
    const py = (w: string, f: string, more: string[] = []): unknown => id('python', ['--fn', `${f}:f`, '--inputs', w, '--cwd', dir, ...more]);
    assert.deepEqual(py(moved, movedFn), py(words, fn));
    assert.notDeepEqual(py(words, fn, ['--params', '{"k":1}']), py(words, fn));
    assert.notDeepEqual(py(words, fn, ['--format', 'jsonl']), py(words, fn));
    assert.deepEqual(identityOf('python', kind('python'), kindParams(kind('python'), ['--fn', `${fn}:f`, '--inputs', words])).files, [words, fn]);
    const cmd = (w: string, more: string[] = []): unknown => id('command', ['--args', w, '--cwd', dir, ...more, 'echo', '{}']);
    assert.deepEqual(cmd(moved), cmd(words));
    assert.notDeepEqual(cmd(words, ['--timeout', '5']), cmd(words));
    // A handler kind: the user's params and the format count, not the file's path or stamp.
    const handler = (w: string, user: Record<string, unknown>): ReturnType<typeof identityOf> =>
      identityOf('my-kind', null, { ...user, inputs: { file: w, format: 'txt', size: 4, mtimeMs: w === words ? 1 : 2 } });
    assert.deepEqual(handler(moved, { k: 1 }).identity, handler(words, { k: 1 }).identity);
    assert.deepEqual(handler(moved, { k: 1 }).files, [moved]);
    assert.notDeepEqual(handler(words, { k: 2 }).identity, handler(words, { k: 1 }).identity);
  });

  it('takes the stamps of the files again for a job resumed on files written with the same bytes', () => {
    const words = file('d/words.txt', 'x\ny\n');
    const python = kind('python');
    const p = kindParams(python, ['--fn', 'mod:f', '--inputs', words]) as { inputs: { mtimeMs: number } };
    const later = Math.floor(p.inputs.mtimeMs / 1000) + 60;
    utimesSync(words, later, later);
    const again = restampOf('python', python, p) as { inputs: { mtimeMs: number; file: string } };
    assert.equal(again.inputs.mtimeMs, later * 1000);
    assert.equal(again.inputs.file, words);
    const handler = restampOf('my-kind', null, { k: 1, inputs: { file: words, format: 'txt', size: 4, mtimeMs: 1 } }) as { k: number; inputs: { mtimeMs: number } };
    assert.deepEqual([handler.k, handler.inputs.mtimeMs], [1, later * 1000]);
  });
});

describe('records of an earlier shoal', () => {
  // What an earlier shoal wrote: the fingerprint of the kind, all params and each input's path, size and mtime.
  const params = { ref: '/data/ref.sdf', gen: '/data/gen.sdf', thresholds: [0.75], symmetry: 'none', matrix: false, keyTag: null, blockRows: null, maxMatches: 1000000 };
  const facts = [
    { path: '/data/ref.sdf', size: 456082, mtimeMs: 1700000000000 },
    { path: '/data/gen.sdf', size: 440940, mtimeMs: 1700000001000 },
  ];
  const old: JobRecord = { job: 'j', kind: 'conformers', params, out: '/o/j.jsonl', fingerprint: 'ed5be520515f17b8016336453b776bcf', inputs: facts, state: 'running', submittedAt: 1 };

  it('are recognised by their own rule while the files are as they were', () => {
    assert.equal(legacyFingerprint('conformers', params, facts), old.fingerprint);
    const now = (inputs: InputFacts[], p: unknown = params): Fingerprinted => ({ kind: 'conformers', params: p, inputs: inputs.map((f) => ({ ...f, sha256: 'h' })), upstream: undefined, hash: 'new' });
    assert.ok(sameJob(old, now(facts)));
    assert.ok(!sameJob(old, now([{ ...facts[0]!, mtimeMs: 1700000000001 }, facts[1]!])), 'touched: an old record cannot tell');
    assert.ok(!sameJob(old, now(facts, { ...params, thresholds: [1] })));
    // A stage's upstream run is part of it.
    const stageFacts = [{ path: '/d/f.py', size: 10, mtimeMs: 5 }];
    assert.equal(legacyFingerprint('python', { fn: '/d/f.py:plus' }, stageFacts, { job: 'twice', run: 'abc@1' }), 'c94176e4bb472b25e4c73d8c7107f5f6');
  });

  it('say what changed by path, size and mtime, and that they hold no hash', () => {
    const now: Fingerprinted = { kind: 'conformers', params, inputs: [{ ...facts[0]!, mtimeMs: 1700000005000, sha256: 'h' }, { ...facts[1]!, size: 9, sha256: 'g' }], upstream: undefined, hash: 'x' };
    const why = describeChange(old, now, kind('conformers'));
    assert.match(why, /input \/data\/ref\.sdf was modified \(2023-11-14T22:13:20\.000Z → 2023-11-14T22:13:25\.000Z; the job's record, from an earlier shoal, holds no hash of its content to compare\)/);
    assert.match(why, /input \/data\/gen\.sdf changed size \(440940 → 9 bytes\)/);
    assert.doesNotMatch(why, /--threshold/);
  });
});

describe('what a refusal says changed', () => {
  it('names the file whose content changed, and each changed option with its old and new value', async () => {
    const ref = file('e/ref.sdf', 'REF\n');
    const gen = file('e/gen.sdf', 'GEN\n');
    const first = await submitted('conformers', ['--ref', ref, '--gen', gen]);
    writeFileSync(ref, 'REG\n');
    writeFileSync(gen, 'GENE\n');
    // Whatever the file system's mtime granularity: written later.
    utimesSync(ref, new Date(), new Date(first.inputs[0]!.mtimeMs + 1000));
    const now = await submitted('conformers', ['--ref', ref, '--gen', gen, '--threshold', '1', '--key-tag', 'name'], first.inputs);
    assert.equal(
      describeChange(recordOf(first), now, kind('conformers')),
      `input ${ref} changed content (same size, 4 bytes); input ${gen} changed size (4 → 5 bytes); --key-tag was none, now name; --threshold was 0.75, now 1`,
    );
    // Moved and changed: both paths are named.
    const moved = file('f/ref.sdf', 'RAF\n');
    const there = await submitted('conformers', ['--ref', moved, '--gen', gen, '--threshold', '1', '--key-tag', 'name']);
    assert.match(describeChange(recordOf(now), there, kind('conformers')), new RegExp(`^input ${moved} \\(was ${ref}\\) changed content`));
  });

  it('names options as they are typed: nested --params keys, seconds for times kept in ms', async () => {
    const words = file('g/words.txt', 'x\n');
    const fn = file('g/fns.py', 'def f(x, params):\n    return x\n');
    const base = ['--fn', `${fn}:f`, '--inputs', words, '--cwd', dir];
    const first = await submitted('python', [...base, '--params', '{"ff":"MMFF94","n":1}', '--timeout', '30']);
    const now = await submitted('python', [...base, '--params', '{"ff":"UFF","n":1}', '--timeout', '5', '--python', '/opt/py/bin/python3'], first.inputs);
    assert.equal(describeChange(recordOf(first), now, kind('python')), '--params ff was MMFF94, now UFF; --python was python3, now /opt/py/bin/python3; --timeout was 30, now 5');
    // Handler kinds are not built in: their --params keys and --format.
    const rec = (user: Record<string, unknown>, format: string): Fingerprinted => {
      const params = { ...user, inputs: { file: words, format, size: 2, mtimeMs: 1 } };
      return { kind: 'my-kind', params, inputs: first.inputs.slice(0, 1), upstream: undefined, hash: `${format}${JSON.stringify(user)}` };
    };
    assert.equal(describeChange(recordOf(rec({ k: [1, 2] }, 'txt')), rec({ k: [1, 3] }, 'jsonl'), null), '--format was txt, now jsonl; --params k was 1,2, now 1,3');
  });

  it('names the upstream run a stage was fed by', () => {
    const old: JobRecord = { job: 's', kind: 'spin', params: {}, out: '/o/s.jsonl', fingerprint: 'a', fingerprintBy: 'content', inputs: [], upstream: { job: 'up', run: 'r1' }, state: 'done', submittedAt: 1 };
    const now: Fingerprinted = { kind: 'spin', params: {}, inputs: [], upstream: { job: 'up', run: 'r2' }, hash: 'b' };
    assert.match(describeChange(old, now, kind('spin')), /^its rows were made from another run of upstream job 'up'/);
    assert.equal(describeChange(old, { ...now, kind: 'frames' }, kind('frames')), 'kind was spin, now frames');
  });
});
