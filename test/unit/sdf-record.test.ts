import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parseSdfRecord } from '../../src/io/sdf.js';
import { fixture } from '../helpers/paths.js';

const src = { file: 'gen.sdf', record: 4, line: 101 };

/** The first record of ref.sdf with the given title, as text. */
function recordOf(title: string, file = 'ref.sdf'): string {
  const sep = file === 'gen.sdf' ? '$$$$\r\n' : '$$$$\n';
  const rec = readFileSync(fixture('conformers', file), 'utf8').split(sep).find((r) => r.startsWith(title));
  assert.ok(rec, `no record ${title}`);
  return rec + sep;
}

function lines(text: string): string[] {
  return text.split('\n');
}

function expectInputError(fn: () => unknown, ...parts: string[]): void {
  assert.throws(fn, (err: Error & { code?: string }) => {
    assert.equal(err.code, 'E_INPUT');
    for (const p of parts) assert.ok(err.message.includes(p), `'${err.message}' should mention '${p}'`);
    return true;
  });
}

describe('parseSdfRecord', () => {
  it('reads counts, atoms, bonds and coordinates', () => {
    const text = recordOf('caffeine');
    const mol = parseSdfRecord(text, src);
    const ls = lines(text);
    const nAtoms = Number(ls[3]!.slice(0, 3));
    const nBonds = Number(ls[3]!.slice(3, 6));
    assert.equal(mol.title, 'caffeine');
    assert.equal(mol.symbols.length, nAtoms);
    assert.equal(mol.bondA.length, nBonds);
    assert.equal(mol.coords[0], Number(ls[4]!.slice(0, 10)));
    assert.equal(mol.coords[5], Number(ls[5]!.slice(20, 30)));
    assert.equal(mol.symbols[0], ls[4]!.slice(31, 34).trim());
    assert.equal(mol.bondA[0], Number(ls[4 + nAtoms]!.slice(0, 3)) - 1);
    assert.equal(mol.bondType[0], Number(ls[4 + nAtoms]!.slice(6, 9)));
    assert.equal(mol.symbols.filter((s) => s !== 'H').length, 14);
  });

  it('accepts CRLF line ends', () => {
    const crlf = parseSdfRecord(recordOf('caffeine', 'gen.sdf'), src);
    assert.equal(crlf.title, 'caffeine');
    assert.ok(crlf.symbols.every((s) => !s.includes('\r')));
  });

  it('reads charges from M  CHG', () => {
    const mol = parseSdfRecord(recordOf('nitrotoluene'), src);
    const charged = [...mol.charges.entries()].filter(([, c]) => c !== 0).map(([a, c]) => `${mol.symbols[a]}${c}`);
    assert.deepEqual(charged.sort(), ['N1', 'O-1']);
  });

  it('uses the atom block charge column when there is no M  CHG', () => {
    const text = recordOf('nitrotoluene').replace(/^M {2}CHG.*\n/m, '');
    const ls = lines(text);
    const n = ls.findIndex((l, i) => i > 3 && l.slice(31, 34).trim() === 'N');
    ls[n] = `${ls[n]!.slice(0, 36)}  3${ls[n]!.slice(39)}`; // code 3 = +1
    const mol = parseSdfRecord(ls.join('\n'), src);
    assert.equal(mol.charges[n - 4], 1);
  });

  it('refuses a malformed coordinate, naming file, record, file line and field', () => {
    const ls = lines(recordOf('caffeine'));
    ls[6] = `  -1.2x345${ls[6]!.slice(10)}`;
    expectInputError(() => parseSdfRecord(ls.join('\n'), src), 'gen.sdf', 'record #4', "'caffeine'", 'line 107', 'x coordinate', '-1.2x345');
    const ly = lines(recordOf('caffeine'));
    ly[5] = `${ly[5]!.slice(0, 10)}    1.2.3 ${ly[5]!.slice(20)}`;
    expectInputError(() => parseSdfRecord(ly.join('\n'), src), 'line 106', 'y coordinate', '1.2.3');
  });

  it('refuses V3000 with the record named', () => {
    const text = recordOf('caffeine').replace(' V2000', ' V3000');
    expectInputError(() => parseSdfRecord(text, src), "gen.sdf record #4 'caffeine': V3000 is not supported");
  });

  it('refuses a truncated atom block, bond block or missing M  END', () => {
    const ls = lines(recordOf('caffeine'));
    const nAtoms = Number(ls[3]!.slice(0, 3));
    expectInputError(() => parseSdfRecord([...ls.slice(0, 10), '$$$$', ''].join('\n'), src), 'truncated', 'line 111', `atom 7 of ${nAtoms}`);
    expectInputError(() => parseSdfRecord(ls.slice(0, 4 + nAtoms + 2).join('\n'), src), 'truncated', 'bond 3');
    const noEnd = ls.filter((l) => !l.startsWith('M  END'));
    expectInputError(() => parseSdfRecord(noEnd.join('\n'), src), "no 'M  END'");
    expectInputError(() => parseSdfRecord('title\n', src), 'truncated', 'line 102');
  });

  it('refuses bonds to atoms that do not exist and unknown bond types', () => {
    const ls = lines(recordOf('caffeine'));
    const nAtoms = Number(ls[3]!.slice(0, 3));
    const b = 4 + nAtoms;
    const orig = ls[b]!;
    ls[b] = `999${orig.slice(3)}`;
    expectInputError(() => parseSdfRecord(ls.join('\n'), src), `line ${101 + b}`, 'bond 999-');
    ls[b] = `${orig.slice(0, 6)} 12${orig.slice(9)}`;
    expectInputError(() => parseSdfRecord(ls.join('\n'), src), 'bond type 12');
  });

  it('refuses a malformed counts line', () => {
    const ls = lines(recordOf('caffeine'));
    ls[3] = ` x4 15${ls[3]!.slice(6)}`;
    expectInputError(() => parseSdfRecord(ls.join('\n'), src), 'line 104', 'atom count');
  });
});
