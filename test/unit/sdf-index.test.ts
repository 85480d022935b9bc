import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { indexSdf, readSdfRanges, type SdfRange, type SdfRecordInfo } from '../../src/io/sdf.js';
import { fixture } from '../helpers/paths.js';

const expected = JSON.parse(readFileSync(fixture('conformers', 'expected.json'), 'utf8')) as {
  molecules: Record<string, { heavy_atoms: number; n_ref: number; n_gen: number }>;
};
const range = (r: SdfRecordInfo): SdfRange => [r.offset, r.length, r.line, r.record];

const scratch = mkdtempSync(join(tmpdir(), 'shoal-sdf-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

function scratchFile(name: string, text: string): string {
  const path = join(scratch, name);
  writeFileSync(path, text);
  return path;
}

describe('indexSdf', () => {
  it('finds every record of an LF file with its bytes, title, line and atom counts', async () => {
    const file = fixture('conformers', 'ref.sdf');
    const idx = await indexSdf(file);
    const total = Object.values(expected.molecules).reduce((s, m) => s + m.n_ref, 0);
    assert.equal(idx.records.length, total);
    const lines = readFileSync(file, 'utf8').split('\n');
    const texts = readSdfRanges(file, idx.records.map(range));
    let end = 0;
    idx.records.forEach((r, k) => {
      assert.equal(r.record, k + 1);
      assert.equal(r.offset, end, 'records are contiguous');
      end = r.offset + r.length;
      assert.ok(texts[k]!.startsWith(`${r.title}\n`));
      assert.ok(texts[k]!.endsWith('$$$$\n'));
      assert.equal(lines[r.line - 1], r.title);
      assert.equal(r.heavy, expected.molecules[r.title]!.heavy_atoms);
      assert.ok(r.atoms > r.heavy, 'reference records carry explicit hydrogens');
    });
    assert.equal(end, idx.size);
  });

  it('reads CRLF files and reports the same structure', async () => {
    const file = fixture('conformers', 'gen.sdf');
    const idx = await indexSdf(file);
    assert.equal(idx.records.length, Object.values(expected.molecules).reduce((s, m) => s + m.n_gen, 0));
    const texts = readSdfRanges(file, idx.records.map(range));
    const lines = readFileSync(file, 'utf8').split('\r\n');
    for (const [k, r] of idx.records.entries()) {
      assert.ok(!r.title.endsWith('\r'));
      assert.ok(texts[k]!.startsWith(`${r.title}\r\n`));
      assert.ok(texts[k]!.endsWith('$$$$\r\n'));
      assert.equal(lines[r.line - 1], r.title);
      assert.equal(r.heavy, expected.molecules[r.title]!.heavy_atoms);
    }
  });

  it('gives the same index whatever the chunk size (lines split across reads)', async () => {
    for (const name of ['ref.sdf', 'gen.sdf']) {
      const file = fixture('conformers', name);
      const whole = await indexSdf(file, { keyTag: 'mol_id' });
      for (const chunkSize of [7, 64, 4099]) {
        assert.deepEqual(await indexSdf(file, { keyTag: 'mol_id', chunkSize }), whole, `${name}, chunks of ${chunkSize}`);
      }
    }
  });

  it('records the value of the key tag', async () => {
    const idx = await indexSdf(fixture('conformers', 'tagged_gen.sdf'), { keyTag: 'mol_id' });
    for (const r of idx.records) {
      assert.match(r.title, /^gen conformer \d+ of /);
      assert.equal(r.title.endsWith(` of ${r.tag}`), true);
    }
    const untagged = await indexSdf(fixture('conformers', 'tagged_gen.sdf'), { keyTag: 'no_such_tag' });
    assert.ok(untagged.records.every((r) => r.tag === undefined));
  });

  it('returns no records for an empty file and ignores trailing blank lines', async () => {
    assert.equal((await indexSdf(fixture('conformers', 'empty.sdf'))).records.length, 0);
    const one = readFileSync(fixture('conformers', 'ref.sdf'), 'utf8').split('$$$$\n')[0] + '$$$$\n';
    assert.equal((await indexSdf(scratchFile('blank-tail.sdf', `${one}\n\n  \n`))).records.length, 1);
  });

  it('keeps a last record that lacks $$$$ so that parsing can say what is wrong', async () => {
    const one = readFileSync(fixture('conformers', 'ref.sdf'), 'utf8').split('$$$$\n')[0]!;
    const idx = await indexSdf(scratchFile('no-terminator.sdf', `${one}$$$$\n${one}`));
    assert.equal(idx.records.length, 2);
    assert.equal(idx.records[1]!.offset + idx.records[1]!.length, idx.size);
  });

  it('counts as hydrogens the atoms whose symbol columns, trimmed, are H, D or T', async () => {
    // Every window of three bytes from these, against the rule read as a string (trim, compare).
    const alphabet = [' ', '\t', '\r', '\u00a0', 'H', 'D', 'T', 'C', 'h'];
    const windows: string[] = [];
    for (const a of alphabet) for (const b of alphabet) for (const c of alphabet) windows.push(a + b + c);
    // Short atom lines too (the symbol cut off by the line's end).
    const lines = windows.map((w) => `    0.0000    0.0000    0.0000 ${w} 0  0`);
    lines.push('    0.0000    0.0000    0.0000 H', '    0.0000    0.0000    0.0000', '    0.0000    0.0000    0.0000 D');
    const isH = (line: string): boolean => ['H', 'D', 'T'].includes(Buffer.from(line, 'latin1').toString('latin1', Math.min(31, line.length), Math.min(34, line.length)).trim());
    const expectedHeavy = lines.filter((l) => !isH(l)).length;
    assert.ok(expectedHeavy > 0 && expectedHeavy < lines.length);
    const counts = `${String(lines.length).padStart(3)}  0  0  0  0  0  0  0  0  0999 V2000`;
    const text = ['symbols', '  shoal', '', counts, ...lines, 'M  END', '$$$$', ''].join('\n');
    const path = join(scratch, 'symbols.sdf');
    writeFileSync(path, Buffer.from(text, 'latin1'));
    const idx = await indexSdf(path);
    assert.equal(idx.records.length, 1);
    assert.equal(idx.records[0]!.atoms, lines.length);
    assert.equal(idx.records[0]!.heavy, expectedHeavy);
  });

  it('reads the counts line\'s atom count as bytes: V3000, a count that is not a number, a short line', async () => {
    const atom = '    0.0000    0.0000    0.0000 C   0  0';
    const hyd = '    0.0000    0.0000    0.0000 H   0  0';
    const record = (title: string, counts: string, atoms: string[]): string => [title, '  shoal', '', counts, ...atoms, 'M  END', '$$$$'].join('\n');
    const text = [
      record('two', '  2  1  0  0  0  0  0  0  0  0999 V2000', [atom, hyd]),
      record('v3000', '  0  0  0     0  0            999 V3000', ['M  V30 BEGIN CTAB']),
      record('garbled', ' x2  1  0  0  0  0  0  0  0  0999 V2000', [atom, atom]),
      record('tab', '\t 1  0  0  0  0  0  0  0  0  0999 V2000', [atom]),
      record('short', ' 1', [atom]),
      record('empty counts', '', []),
      record('hundred', `100  0  0  0  0  0  0  0  0  0999 V2000`, Array.from({ length: 100 }, (_, i) => (i % 4 === 0 ? hyd : atom))),
    ].join('\n') + '\n';
    const path = scratchFile('counts.sdf', text);
    for (const chunkSize of [5, 64, 1 << 20]) {
      const idx = await indexSdf(path, { chunkSize });
      assert.deepEqual(
        idx.records.map((r) => [r.title, r.atoms, r.heavy]),
        [['two', 2, 1], ['v3000', -1, -1], ['garbled', -1, -1], ['tab', 1, 1], ['short', 1, 1], ['empty counts', -1, -1], ['hundred', 100, 75]],
        `chunks of ${chunkSize}`,
      );
    }
  });

  it('rejects a missing file with an InputError naming it', async () => {
    await assert.rejects(indexSdf(join(scratch, 'nope.sdf')), (err: Error & { code?: string }) => err.code === 'E_INPUT' && err.message.includes('nope.sdf'));
  });
});
