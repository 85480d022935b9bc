import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InputError } from '../../src/errors.js';
import { elementBySymbol, elementFromToken, guessElementFromAtomName } from '../../src/io/elements.js';
import { indexPdbFrames, PdbReader, readPdbTopology } from '../../src/io/pdb.js';
import { parseNumber } from '../../src/io/traj-file.js';
import { fixture } from '../helpers/paths.js';

const F = (name: string): string => fixture('frames', name);
const expected = JSON.parse(readFileSync(F('expected.json'), 'utf8')) as { n_atoms: number; elements: string[]; masses: number[] };
const tmp = (): string => mkdtempSync(join(tmpdir(), 'shoal-pdb-'));

function inputError(fn: () => unknown, ...parts: string[]): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof InputError, `expected InputError, got ${String(err)}`);
    for (const p of parts) assert.ok(err.message.includes(p), `'${err.message}' should name ${p}`);
    return true;
  });
}

test('topology: elements from columns 77-78, masses as MDAnalysis has them', () => {
  const top = readPdbTopology(F('top.pdb'));
  assert.equal(top.atoms.length, expected.n_atoms);
  assert.deepEqual(top.atoms.map((a) => a.element), expected.elements);
  assert.ok(top.atoms.every((a) => a.elementFrom === 'column'));
  top.atoms.forEach((a, i) => assert.ok(Math.abs(elementBySymbol(a.element!)!.mass - expected.masses[i]!) < 1e-9, `atom ${i}`));
  assert.equal(top.atoms[0]!.name, 'N');
  assert.equal(top.atoms[0]!.resName, 'GLY');
  assert.equal(top.atoms[0]!.resSeq, 1);
});

test('topology without element columns: elements guessed from atom names', () => {
  const lines = readFileSync(F('top.pdb'), 'latin1').split('\n');
  const stripped = lines.map((l) => (l.startsWith('ATOM') ? l.slice(0, 76) : l)).join('\n');
  const path = join(tmp(), 'noelem.pdb');
  writeFileSync(path, stripped);
  const top = readPdbTopology(path);
  assert.deepEqual(top.atoms.map((a) => a.element), expected.elements);
  assert.ok(top.atoms.every((a) => a.elementFrom === 'name'));
});

test('element guesses follow the PDB column convention', () => {
  const cases: [string, string, string | undefined][] = [
    [' CA ', 'ALA', 'C'],
    ['CA  ', 'CA', 'Ca'],
    ['FE  ', 'HEM', 'Fe'],
    ['HG11', 'VAL', 'H'],
    ['HG11', 'LIG', 'H'],
    ['1HG1', 'VAL', 'H'],
    ['HG  ', 'HG', 'Hg'],
    ['CL  ', 'CL', 'Cl'],
    [' OXT', 'LYS', 'O'],
    ['ZN  ', 'ZN', 'Zn'],
    ['CA  ', 'ALA', 'C'], // left-justified by a careless writer, still an alpha carbon
    [' SD ', 'MET', 'S'],
    ['    ', 'ALA', undefined],
  ];
  for (const [name, res, el] of cases) assert.equal(guessElementFromAtomName(name, res), el, `${JSON.stringify(name)} in ${res}`);
  assert.equal(elementFromToken('cl'), 'Cl');
  assert.equal(elementFromToken('8'), 'O');
  assert.equal(elementFromToken('Xx'), undefined);
});

test('multi-model index: one frame per MODEL, random access', () => {
  const index = indexPdbFrames(F('traj.pdb'));
  assert.equal(index.nFrames, 12);
  const text = readFileSync(F('traj.pdb'));
  for (let f = 0; f < 12; f++) assert.equal(text.toString('latin1', index.ranges[2 * f], index.ranges[2 * f]! + 5), 'MODEL');
  const r = PdbReader.open(F('traj.pdb'), expected.n_atoms, [{ base: 0, ranges: index.ranges }]);
  const a = new Float64Array(3 * expected.n_atoms);
  const b = new Float64Array(3 * expected.n_atoms);
  r.readFrame(7, a);
  r.readFrame(0, b);
  assert.notDeepEqual(a, b);
  r.readFrame(7, b);
  assert.deepEqual(a, b);
  r.close();
});

test('frames separated by END without MODEL records; a single-frame PDB', () => {
  const atom = (x: number): string => `ATOM      1  C   LIG A   1    ${x.toFixed(3).padStart(8)}   0.000   0.000  1.00  0.00           C`;
  const path = join(tmp(), 'ends.pdb');
  writeFileSync(path, ['REMARK x', atom(1), atom(2), 'END', atom(3), atom(4), 'END', ''].join('\n'));
  const index = indexPdbFrames(path);
  assert.equal(index.nFrames, 2);
  const r = PdbReader.open(path, 2, [{ base: 0, ranges: index.ranges }]);
  const xyz = new Float64Array(6);
  r.readFrame(1, xyz);
  assert.deepEqual([...xyz], [3, 0, 0, 4, 0, 0]);
  r.close();
  assert.equal(indexPdbFrames(F('top.pdb')).nFrames, 1);
  const empty = join(tmp(), 'empty.pdb');
  writeFileSync(empty, 'REMARK nothing\nEND\n');
  inputError(() => indexPdbFrames(empty), 'empty.pdb', 'no frames');
  inputError(() => readPdbTopology(empty), 'empty.pdb');
});

test('non-numeric coordinate fails its frame only, naming file, frame and atom', () => {
  const index = indexPdbFrames(F('badcoord.pdb'));
  const r = PdbReader.open(F('badcoord.pdb'), expected.n_atoms, [{ base: 0, ranges: index.ranges }]);
  const xyz = new Float64Array(3 * expected.n_atoms);
  for (let f = 0; f < 12; f++) {
    if (f === 2) inputError(() => r.readFrame(f, xyz), 'badcoord.pdb frame 2', 'atom 5', 'x.yzw');
    else r.readFrame(f, xyz);
  }
  r.close();
});

test('a frame with a different atom count fails', () => {
  const index = indexPdbFrames(F('traj.pdb'));
  const r = PdbReader.open(F('traj.pdb'), expected.n_atoms + 1, [{ base: 0, ranges: index.ranges }]);
  inputError(() => r.readFrame(0, new Float64Array(3 * (expected.n_atoms + 1))), 'traj.pdb frame 0', `${expected.n_atoms} atoms`);
  inputError(() => r.readFrame(20, new Float64Array(3 * (expected.n_atoms + 1))), 'frame 20');
  r.close();
});

test('parseNumber', () => {
  const p = (s: string): number => parseNumber(Buffer.from(s, 'latin1'), 0, s.length);
  assert.equal(p('  -12.345'), -12.345);
  assert.equal(p('7'), 7);
  assert.equal(p('+0.5 '), 0.5);
  assert.equal(p('1e-3'), 0.001);
  assert.equal(p('12.'), 12);
  for (const s of ['', '   ', '-', '.', '1.2.3', 'x.yzw', 'abc', 'Infinity', 'NaN']) assert.ok(Number.isNaN(p(s)), s);
  for (const v of [0.1, 123.456, -999.999, 1234.56789]) assert.equal(p(String(v)), v);
});

test('a line longer than the scan chunk does not break the index', () => {
  const model = readFileSync(F('top.pdb'), 'latin1').split('\n').filter((l) => l.startsWith('ATOM')).join('\n');
  const path = join(tmp(), 'longline.pdb');
  writeFileSync(path, `REMARK ${'x'.repeat(5_000_000)}\nMODEL 1\n${model}\nENDMDL\nMODEL 2\n${model}\nENDMDL\nEND\n`);
  const index = indexPdbFrames(path);
  assert.equal(index.nFrames, 2);
  assert.equal(readPdbTopology(path).atoms.length, expected.n_atoms);
  const r = PdbReader.open(path, expected.n_atoms, [{ base: 0, ranges: index.ranges }]);
  r.readFrame(1, new Float64Array(3 * expected.n_atoms));
  r.close();
});
