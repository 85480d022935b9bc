/**
 * Records read from files by byte range: each format's values and line numbers (CRLF, no final
 * newline, blank lines, a byte order mark, quoted csv fields with commas, quotes and newlines,
 * unicode), errors for one malformed record only, a file changed after indexing, the scanner
 * fed in any cut of blocks, and the task list over an index.
 */
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, rmSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ShoalError } from '../../src/errors.js';
import { indexRecords, recordFile, recordFormatOf, recordReaderFor, recordTasks, RecordReader, type RecordFormat, type RecordIndex } from '../../src/kinds/records/index.js';
import { PackedUints } from '../../src/kinds/records/packed.js';
import { RecordScanner } from '../../src/kinds/records/scan.js';

const dir = mkdtempSync(join(tmpdir(), 'shoal-records-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: string | Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

/** Every record of the file: its line and its value, or the error's code and message. */
async function readAll(path: string, format: RecordFormat): Promise<{ index: RecordIndex; rows: Array<{ line: number; value?: unknown; error?: string }> }> {
  const index = await indexRecords(path, format);
  const reader = await RecordReader.open(path, format, { stamp: index.stamp });
  const rows = [];
  for (let i = 0; i < index.count; i++) {
    const ref = index.ref(i);
    try {
      rows.push({ line: ref.line, value: reader.read(ref) });
    } catch (err) {
      assert.ok(err instanceof ShoalError, String(err));
      rows.push({ line: ref.line, error: `${err.code} ${err.message}` });
    }
  }
  reader.close();
  return { index, rows };
}

const BOM = '\ufeff';

describe('record formats', () => {
  it('come from the extension, or from the value given; an unknown one names the file and the formats', () => {
    assert.equal(recordFormatOf('/d/mols.SMI'), 'smi');
    assert.equal(recordFormatOf('/d/rows.tsv'), 'tsv');
    assert.equal(recordFormatOf('/d/list', 'jsonl'), 'jsonl');
    assert.equal(recordFormatOf('/d/list.csv', '.TXT'), 'txt');
    assert.throws(() => recordFormatOf('/d/list.dat'), (e: unknown) => e instanceof ShoalError && e.code === 'E_USAGE' && e.message.includes('/d/list.dat') && e.message.includes('jsonl'));
    assert.throws(() => recordFormatOf('/d/a.txt', 'xml'), (e: unknown) => e instanceof ShoalError && e.code === 'E_USAGE' && /--format .*'xml'/.test(e.message));
  });

  it('recordFile stamps the file for the params; a missing file is an input error naming the option', () => {
    const path = file('stamped.txt', 'a\n');
    const f = recordFile('--inputs', path);
    assert.deepEqual({ file: f.file, format: f.format, size: f.size }, { file: path, format: 'txt', size: 2 });
    assert.throws(() => recordFile('--inputs', join(dir, 'nope.txt')), (e: unknown) => e instanceof ShoalError && e.code === 'E_INPUT' && e.message.startsWith('--inputs ') && e.message.includes('no such file'));
  });
});

describe('txt', () => {
  it('one string per line without its newline or CR; blank lines skipped; lines counted from 1', async () => {
    const path = file('a.txt', `${BOM}first\r\n\n   \nsécond 🧪  \r\n\t\nlast without newline`);
    const { index, rows } = await readAll(path, 'txt');
    assert.deepEqual(rows, [
      { line: 1, value: 'first' },
      { line: 4, value: 'sécond 🧪  ' },
      { line: 6, value: 'last without newline' },
    ]);
    assert.equal(index.lines, 6);
    assert.equal(index.indexOfLine(4), 1);
    assert.equal(index.indexOfLine(2), -1);
  });

  it('a file of blank lines has no records', async () => {
    const { index } = await readAll(file('blank.txt', '\n  \r\n\n'), 'txt');
    assert.equal(index.count, 0);
    assert.equal(index.lines, 3);
  });
});

describe('jsonl', () => {
  it('one JSON value per line; a bad line is an error naming file and line, the others read', async () => {
    const path = file('d.jsonl', '{"a": 1, "s": "é"}\r\n\n[1, 2]\n{"a": oops}\n"text"\n42');
    const { rows } = await readAll(path, 'jsonl');
    assert.deepEqual(rows.map((r) => r.value), [{ a: 1, s: 'é' }, [1, 2], undefined, 'text', 42]);
    assert.match(rows[2]!.error!, new RegExp(`^E_INPUT ${path} line 4: not JSON: `));
    assert.equal(rows[4]!.line, 6);
  });
});

describe('smi', () => {
  it('{ smiles, name } per line, the name the rest of the line (null when absent); # lines are comments', async () => {
    const path = file('m.smi', '# made by hand\nCCO ethanol\n\nc1ccccc1\r\n  #also a comment\nC(=O)O\tacetic acid, glacial  \nN#N\n');
    const { rows } = await readAll(path, 'smi');
    assert.deepEqual(rows, [
      { line: 2, value: { smiles: 'CCO', name: 'ethanol' } },
      { line: 4, value: { smiles: 'c1ccccc1', name: null } },
      { line: 6, value: { smiles: 'C(=O)O', name: 'acetic acid, glacial' } },
      { line: 7, value: { smiles: 'N#N', name: null } },
    ]);
  });
});

describe('csv and tsv', () => {
  it('one object per row keyed by the header; quoted commas, quotes and newlines; BOM and CRLF; values stay strings', async () => {
    const csv = [`${BOM}id,smiles,note`, '1,CCO,plain', '', '2,"C,C","say ""hi"""', '3,N,"two', 'lines, one ""record"""', '4,O,', '5,ü,"ends with CRLF inside\r\nquotes"'].join('\r\n');
    const path = file('rows.csv', csv);
    const { index, rows } = await readAll(path, 'csv');
    assert.deepEqual(index.header, ['id', 'smiles', 'note']);
    assert.deepEqual(rows, [
      { line: 2, value: { id: '1', smiles: 'CCO', note: 'plain' } },
      { line: 4, value: { id: '2', smiles: 'C,C', note: 'say "hi"' } },
      { line: 5, value: { id: '3', smiles: 'N', note: 'two\r\nlines, one "record"' } },
      { line: 7, value: { id: '4', smiles: 'O', note: '' } },
      { line: 8, value: { id: '5', smiles: 'ü', note: 'ends with CRLF inside\r\nquotes' } },
    ]);
    assert.equal(index.lines, 9);
  });

  it('a row with more or fewer fields than the header is an error for that row only', async () => {
    const path = file('bad.csv', 'a,b,c,d\n1,2,3,4\n1,2,3,4,5\n1,2,3\n5,6,7,8\n');
    const { rows } = await readAll(path, 'csv');
    assert.deepEqual(rows[0]!.value, { a: '1', b: '2', c: '3', d: '4' });
    assert.equal(rows[1]!.error, `E_INPUT ${path} line 3: 5 fields, the header has 4`);
    assert.equal(rows[2]!.error, `E_INPUT ${path} line 4: 3 fields, the header has 4`);
    assert.deepEqual(rows[3]!.value, { a: '5', b: '6', c: '7', d: '8' });
  });

  it('a quote never closed makes the rest of the file one record, an error naming its line', async () => {
    const path = file('open.csv', 'a,b\n1,2\n3,"never closed\n4,5\n');
    const { rows } = await readAll(path, 'csv');
    assert.equal(rows.length, 2);
    assert.match(rows[1]!.error!, new RegExp(`^E_INPUT ${path} line 3: a quoted field is not closed`));
  });

  it('tsv: tabs separate; a line of tabs is a row of empty fields, not a blank line', async () => {
    const path = file('t.tsv', 'x\ty\n1\t"a\tb"\n\t\n  \nq\tr');
    const { rows } = await readAll(path, 'tsv');
    assert.deepEqual(rows, [
      { line: 2, value: { x: '1', y: 'a\tb' } },
      { line: 3, value: { x: '', y: '' } },
      { line: 5, value: { x: 'q', y: 'r' } },
    ]);
  });

  it('a column named __proto__ stays a column', async () => {
    const { rows } = await readAll(file('proto.csv', '__proto__,b\n1,2\n'), 'csv');
    const v = rows[0]!.value as Record<string, unknown>;
    assert.deepEqual(Object.keys(v), ['__proto__', 'b']);
    assert.equal(Object.getPrototypeOf(v), Object.prototype);
  });

  it('a file without a header row, or a header naming a column twice, refuses the job', async () => {
    await assert.rejects(indexRecords(file('empty.csv', '\n\n'), 'csv', { what: '--inputs ' }), (e: unknown) => e instanceof ShoalError && e.code === 'E_INPUT' && /^--inputs .*empty\.csv: no header row/.test(e.message));
    await assert.rejects(indexRecords(file('twice.csv', 'a,b,a\n1,2,3\n'), 'csv'), (e: unknown) => e instanceof ShoalError && e.code === 'E_INPUT' && /twice\.csv line 1: the header names column 'a' twice/.test(e.message));
  });
});

describe('the scanner', () => {
  const cases: Array<[RecordFormat, string]> = [
    ['txt', `${BOM}a\r\n\nbb\n \r\nccc`],
    ['smi', '#c\nC n\r\n\nO\n'],
    ['csv', `${BOM}h,k\r\n"x\r\ny",1\n\n"a""b",2\n3,"q"""\n4,"ab"c\n5,"`],
    ['tsv', 'h\tk\n"\t"\t1\n\t\n'],
  ];
  function scan(format: RecordFormat, bytes: Buffer, cuts: number[]): string[] {
    const out: string[] = [];
    const scanner = new RecordScanner(format, (s, e, line) => void out.push(`${s}-${e}@${line}`), bytes[0] === 0xef ? 3 : 0);
    let at = 0;
    for (const c of [...cuts, bytes.length]) {
      scanner.feed(bytes.subarray(at, c), at);
      at = c;
    }
    scanner.finish(bytes.length);
    out.push(`lines ${scanner.lines}`);
    return out;
  }

  it('finds the same records whatever the blocks are cut at (every cut in two, and byte by byte)', () => {
    for (const [format, text] of cases) {
      const bytes = Buffer.from(text);
      const whole = scan(format, bytes, []);
      for (let c = 1; c < bytes.length; c++) assert.deepEqual(scan(format, bytes, [c]), whole, `${format} cut at ${c}`);
      assert.deepEqual(scan(format, bytes, Array.from({ length: bytes.length - 1 }, (_, i) => i + 1)), whole, `${format} byte by byte`);
    }
  });
});

describe('the reader', () => {
  it('reads the consecutive records of a bundle with one read', async () => {
    const path = file('many.txt', Array.from({ length: 500 }, (_, i) => `input ${i}`).join('\n'));
    const index = await indexRecords(path, 'txt');
    const reader = await RecordReader.open(path, 'txt', { stamp: index.stamp });
    for (let i = 100; i < 200; i++) assert.equal(reader.read(index.ref(i)), `input ${i}`);
    assert.equal(reader.reads, 1);
    reader.close();
    reader.close();
  });

  it('a file changed since it was indexed is an error naming file and line, never another value', async () => {
    const path = file('change.txt', 'aaaa\nbbbb\ncccc\n');
    const index = await indexRecords(path, 'txt');
    const reader = await RecordReader.open(path, 'txt', { stamp: index.stamp });
    assert.equal(reader.read(index.ref(0)), 'aaaa');
    truncateSync(path, 7);
    await assert.rejects(RecordReader.open(path, 'txt', { stamp: index.stamp }), (e: unknown) => e instanceof ShoalError && e.code === 'E_INPUT' && e.message.includes('changed since the job was submitted') && e.message.includes('shrank'));
    await assert.rejects(indexRecords(path, 'txt', { stamp: index.stamp }), (e: unknown) => e instanceof ShoalError && e.code === 'E_INPUT' && e.message.includes('shrank'));
    const shrank = await RecordReader.open(path, 'txt');
    assert.throws(() => shrank.read(index.ref(2)), (e: unknown) => e instanceof ShoalError && e.code === 'E_INPUT' && e.message.startsWith(`${path} line 3: the file changed`));
    // Same size, lines moved: the ranges no longer fall on lines.
    writeFileSync(path, 'aa\nbbbbbb\ncccc\n');
    const moved = await RecordReader.open(path, 'txt');
    assert.throws(() => moved.read(index.ref(1)), (e: unknown) => e instanceof ShoalError && e.code === 'E_INPUT' && e.message.startsWith(`${path} line 2: the file changed`));
    // Edited in place under an open reader: its next read looks at the file again.
    writeFileSync(path, 'aaaa\nbbbb\ncccc\n');
    const edited = await RecordReader.open(path, 'txt');
    appendFileSync(path, 'dddd\n');
    utimesSync(path, new Date(), new Date(Date.now() + 5000));
    assert.throws(() => edited.read(index.ref(2)), (e: unknown) => e instanceof ShoalError && e.message.includes('grew'));
    for (const r of [reader, shrank, moved, edited]) r.close();
  });

  it('recordReaderFor keeps one open reader per file for the thread', async () => {
    const path = file('cached.txt', 'x\ny\n');
    const src = recordFile('--inputs', path);
    const a = await recordReaderFor(src);
    assert.equal(await recordReaderFor(src), a);
    assert.equal(a.read({ s: 2, e: 3, line: 2 }), 'y');
    await assert.rejects(recordReaderFor({ ...src, file: join(dir, 'gone.txt') }), (e: unknown) => e instanceof ShoalError && e.code === 'E_INPUT' && e.message.includes('no such file'));
  });
});

describe('scale', () => {
  it('indexes a 1,000,000-line txt in a few bytes a record and reads every record back right', async () => {
    const n = 1_000_000;
    const parts: string[] = [];
    for (let i = 0; i < n; i++) parts.push(i % 1000 === 999 ? `\ninput ${i} ✓` : `input ${i} ✓`);
    const path = file('million.txt', parts.join('\n') + '\n');
    const index = await indexRecords(path, 'txt');
    assert.equal(index.count, n);
    assert.equal(index.lines, n + 1000, "a blank line before every thousandth input");
    assert.ok(index.bytes < 8 * n, `index bytes ${index.bytes}`);
    const reader = await RecordReader.open(path, 'txt', { stamp: index.stamp });
    let blanks = 0;
    for (let i = 0; i < n; i++) {
      if (i % 1000 === 999) blanks++;
      const ref = index.ref(i);
      if (ref.line !== i + 1 + blanks) assert.fail(`record ${i}: line ${ref.line}, expected ${i + 1 + blanks}`);
      const v = reader.read(ref);
      if (v !== `input ${i} ✓`) assert.fail(`record ${i}: ${JSON.stringify(v)}`);
    }
    reader.close();
  });
});

describe('recordTasks', () => {
  it('one task per record: ids zero-padded, cost 1, the fields given, refs with the record number', async () => {
    const index = await indexRecords(file('tasks.txt', Array.from({ length: 12 }, (_, i) => `v${i}`).join('\n\n')), 'txt');
    const list = recordTasks(index, { prefix: 'task_', threads: 2, memory: 0, gpus: 1 });
    assert.equal(list.length, 12);
    assert.deepEqual(list.at(3), { id: 'task_03', cost: 1, threads: 2, gpus: 1, ref: { s: 12, e: 14, line: 7, i: 3 } });
    assert.equal(list.indexOf('task_11'), 11);
    assert.equal(list.indexOf('task_12'), -1);
    assert.equal(list.costAt(5), 1);
  });

  it('pads to the digits of the record count: 10 records are task_00 to task_09, 1 record task_0', async () => {
    const ten = recordTasks(await indexRecords(file('ten.txt', Array.from({ length: 10 }, (_, i) => `v${i}`).join('\n')), 'txt'), { prefix: 'task_' });
    assert.deepEqual(Array.from({ length: 10 }, (_, i) => ten.at(i).id), ['task_00', 'task_01', 'task_02', 'task_03', 'task_04', 'task_05', 'task_06', 'task_07', 'task_08', 'task_09']);
    assert.deepEqual([ten.indexOf('task_09'), ten.indexOf('task_9'), ten.indexOf('task_10')], [9, -1, -1]);
    const one = recordTasks(await indexRecords(file('one.txt', 'v\n'), 'txt'), { prefix: 'task_' });
    assert.equal(one.at(0).id, 'task_0');
  });
});

describe('PackedUints', () => {
  it('keeps each value exactly, widening a chunk only when a value needs it', () => {
    const p = new PackedUints();
    const values = [0, 255, 3, 70_000, 2 ** 32 + 5, 7];
    for (let i = 0; i < 70_000; i++) p.push(i % 200);
    for (const v of values) p.push(v);
    for (let i = 0; i < 70_000; i++) if (p.get(i) !== i % 200) assert.fail(`entry ${i}`);
    values.forEach((v, k) => assert.equal(p.get(70_000 + k), v));
    assert.equal(p.bytes, 65_536 + 65_536 * 8, 'the first chunk stays bytes; the second widened to doubles');
  });
});
