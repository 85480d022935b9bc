/**
 * What a task was given, as its error rows say it (`input`): a record's number, line and text
 * read from its file (cut at 1,000 characters, marked), a frame range, a molecule and its block,
 * a stage's upstream task and value; never an exception, and no text from a file that changed.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { commandKind } from '../../src/kinds/command/index.js';
import { conformersInput } from '../../src/kinds/conformers/task-ref.js';
import { framesKind } from '../../src/kinds/frames/index.js';
import { pythonKind } from '../../src/kinds/python/index.js';
import { spinKind } from '../../src/kinds/spin/index.js';
import { cutText, INPUT_TEXT_CHARS, recordInput, taskInput, type Kind } from '../../src/kinds/index.js';
import { indexRecords, recordFile, type RecordTaskRef } from '../../src/kinds/records/index.js';

const dir = mkdtempSync(join(tmpdir(), 'shoal-task-input-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

/** The refs of a file's records, as a python or handler job's tasks carry them. */
async function refs(path: string): Promise<RecordTaskRef[]> {
  const index = await indexRecords(path, recordFile('--inputs', path).format);
  return Array.from({ length: index.count }, (_, i) => ({ ...index.ref(i), i }));
}

describe('cutText', () => {
  it('keeps a short text, cuts a long one to 1,000 characters and marks it, never inside a surrogate pair', () => {
    assert.deepEqual(cutText('CCO'), { text: 'CCO' });
    const long = cutText('x'.repeat(5000));
    assert.equal(long.text.length, INPUT_TEXT_CHARS);
    assert.equal(long.truncated, true);
    const emoji = cutText(`${'a'.repeat(999)}😀b`);
    assert.equal(emoji.text, 'a'.repeat(999));
    assert.deepEqual(cutText('abc', true), { text: 'abc', truncated: true }, 'more bytes than were read');
  });
});

describe('recordInput', () => {
  it('a line of a text file: its number, line and text as the file holds it', async () => {
    const path = file('mols.smi', '# header\nCCO ethanol\n\nc1ccccc1 benzene\n');
    const src = recordFile('--inputs', path);
    const [a, b] = await refs(path);
    assert.deepEqual(recordInput(src, a), { record: 0, line: 2, text: 'CCO ethanol' });
    assert.deepEqual(recordInput(src, b), { record: 1, line: 4, text: 'c1ccccc1 benzene' });
    // A command's ref has no record number: the line and its text.
    assert.deepEqual(recordInput(src, { s: b!.s, e: b!.e, line: b!.line }), { line: 4, text: 'c1ccccc1 benzene' });
  });

  it('a csv row spanning lines is its raw text; a long record is cut and marked', async () => {
    const path = file('rows.csv', `name,note\naspirin,"two\nlines"\nbig,${'y'.repeat(4000)}\n`);
    const src = recordFile('--inputs', path);
    const [a, b] = await refs(path);
    assert.deepEqual(recordInput(src, a), { record: 0, line: 2, text: 'aspirin,"two\nlines"' });
    const big = recordInput(src, b)!;
    assert.equal(big.truncated, true);
    assert.equal((big.text as string).length, INPUT_TEXT_CHARS);
    assert.ok((big.text as string).startsWith('big,yyy'));
  });

  it('no text from a file changed since the job was made, or gone; never an exception', async () => {
    const path = file('words.txt', 'alpha\nbeta\n');
    const src = recordFile('--inputs', path);
    const [a] = await refs(path);
    utimesSync(path, new Date(), new Date(src.mtimeMs + 5000));
    assert.deepEqual(recordInput(src, a), { record: 0, line: 1 });
    assert.deepEqual(recordInput({ ...src, file: join(dir, 'gone.txt') }, a), { record: 0, line: 1 });
    assert.equal(recordInput(src, { nonsense: true }), null);
  });
});

describe('taskInput', () => {
  it('each kind says what its tasks were given', async () => {
    const path = file('list.txt', 'a.sdf\nb.sdf\n');
    const [, b] = await refs(path);
    const argsStamp = { size: 12, mtimeMs: recordFile('--args', path).mtimeMs };
    const cmd = commandKind.checkParams(commandKind.params({ args: path, template: ['echo', '{}'] }));
    assert.deepEqual(cmd.argsStamp, argsStamp);
    assert.deepEqual(taskInput(commandKind as Kind<unknown>, cmd, { s: b!.s, e: b!.e, line: 2 }), { line: 2, text: 'b.sdf' });
    const py = { inputs: recordFile('--inputs', path) };
    assert.deepEqual(taskInput(pythonKind as Kind<unknown>, py, b), { record: 1, line: 2, text: 'b.sdf' });
    assert.deepEqual(taskInput(framesKind as Kind<unknown>, null, { first: 100, last: 199, atoms: 30 }), { first: 100, last: 199 });
    assert.deepEqual(taskInput(spinKind as Kind<unknown>, null, { ms: 5, i: 42 }), { number: 42, ms: 5 });
  });

  it('a conformers task: its molecule, and the rows of a block or a half', () => {
    const whole = { key: 'aspirin', rows: [0, 20], nRef: 20 };
    assert.deepEqual(conformersInput(whole), { molecule: 'aspirin' });
    assert.deepEqual(conformersInput({ ...whole, rows: [64, 128], nRef: 300, block: 1 }), { molecule: 'aspirin', rows: [64, 128] });
    assert.deepEqual(conformersInput({ key: 'lonely', error: 'in ref.sdf but not in gen.sdf' }), { molecule: 'lonely' });
    assert.equal(conformersInput(null), null);
  });

  it('a stage task: its upstream task, record and value as text; a kind of ones own: its record, or its ref as text', async () => {
    assert.deepEqual(taskInput(pythonKind as Kind<unknown>, {}, { up: 'in_0042', i: 3, v: { smiles: 'CCO' } }), { upstream: 'in_0042', index: 3, text: '{"smiles":"CCO"}' });
    assert.deepEqual(taskInput(null, {}, { up: 'in_7', v: 'plain' }), { upstream: 'in_7', text: 'plain' });
    const path = file('h.jsonl', '{"n":1}\n{"n":2}\n');
    const [, b] = await refs(path);
    // A handler kind at the coordinator (no module there): its params name the records.
    assert.deepEqual(taskInput(null, { inputs: recordFile('--inputs', path), k: 1 }, b), { record: 1, line: 2, text: '{"n":2}' });
    assert.deepEqual(taskInput(null, {}, { anything: [1, 2] }), { text: '{"anything":[1,2]}' });
    assert.equal(taskInput(null, {}, undefined), null);
    const throws = { input: () => { throw new Error('boom'); } } as unknown as Kind<unknown>;
    assert.equal(taskInput(throws, {}, { x: 1 }), null, 'never an exception: the row is written without input');
  });
});
