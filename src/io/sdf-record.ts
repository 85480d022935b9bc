/**
 * Parser for one V2000 molfile record of an SD file (header, counts line, atom block, bond
 * block, property block up to `M  END`; the SD data items after it are not needed here).
 *
 * Fixed columns as the CTfile specification defines them; numbers are parsed strictly, so a
 * coordinate such as `-1.2x345` is an error naming the file, record, line and field, never -1.2.
 */
import { InputError } from '../errors.js';

/** Where a record comes from, for error messages. */
export interface SdfRecordSource {
  /** The file name to show (usually the base name). */
  file: string;
  /** 1-based record number in the file. */
  record: number;
  /** 1-based file line number of the record's first line. */
  line: number;
}

/** V2000 bond type codes as written in the bond block (1 single ... 4 aromatic, 5-8 query types). */
export type SdfBondType = number;

/** One parsed molfile record. Arrays are indexed by atom (0-based, file order). */
export interface SdfMolecule {
  title: string;
  /** Element symbols as written (`C`, `Cl`, `H`, `D`). */
  symbols: string[];
  /** x, y, z per atom (Å). */
  coords: Float64Array;
  /** Formal charges (from `M  CHG`, else the atom block's charge column). */
  charges: Int8Array;
  /** Isotope mass numbers from `M  ISO` (0: natural). */
  isotopes: Int16Array;
  /** Radical multiplicity code from `M  RAD` or the atom block (0: none). */
  radicals: Int8Array;
  /** Bonds: first and second atom (0-based) and V2000 type code. */
  bondA: Int32Array;
  bondB: Int32Array;
  bondType: Uint8Array;
}

/** Atom-block charge column codes (`ccc`): 1 = +3 ... 7 = -3, 4 = doublet radical. */
const CHARGE_CODES: Record<number, number> = { 0: 0, 1: 3, 2: 2, 3: 1, 4: 0, 5: -1, 6: -2, 7: -3 };

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const INTEGER = /^[+-]?\d+$/;
const SYMBOL = /^[A-Za-z*#][A-Za-z0-9*#]{0,2}$/;

/** Splits text into lines, accepting LF and CRLF line ends. */
function splitLines(text: string): string[] {
  const lines = text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (l.endsWith('\r')) lines[i] = l.slice(0, -1);
  }
  return lines;
}

/** Parses one record's text (as read from its byte range). Throws InputError on bad input. */
export function parseSdfRecord(text: string, src: SdfRecordSource): SdfMolecule {
  const lines = splitLines(text);
  const title = (lines[0] ?? '').trimEnd();
  const where = (i: number): string => `${src.file} record #${src.record} '${title}', line ${src.line + i}`;
  const fail = (i: number, msg: string): never => {
    throw new InputError(`${where(i)}: ${msg}`);
  };

  // A record ends with `$$$$`; everything before belongs to the molfile and its data items.
  let last = lines.length;
  for (let i = 0; i < lines.length; i++) {
    if (lines[i]!.startsWith('$$$$')) {
      last = i;
      break;
    }
  }
  if (last < 4) fail(last, `truncated record: ${last === 0 ? 'no header' : 'no counts line'} (the record has ${last} line${last === 1 ? '' : 's'})`);
  const counts = lines[3]!;
  if (counts.includes('V3000')) {
    throw new InputError(`${src.file} record #${src.record} '${title}': V3000 is not supported (line ${src.line + 3}); convert to V2000`);
  }
  const nAtoms = intField(counts, 0, 3, 3, 'atom count (columns 1-3)', fail);
  const nBonds = intField(counts, 3, 6, 3, 'bond count (columns 4-6)', fail);
  if (nAtoms < 0 || nBonds < 0) fail(3, `negative atom or bond count`);

  const symbols: string[] = new Array<string>(nAtoms);
  const coords = new Float64Array(3 * nAtoms);
  const charges = new Int8Array(nAtoms);
  const isotopes = new Int16Array(nAtoms);
  const radicals = new Int8Array(nAtoms);
  for (let a = 0; a < nAtoms; a++) {
    const i = 4 + a;
    if (i >= last) fail(i, `truncated record: atom ${a + 1} of ${nAtoms} is missing`);
    const l = lines[i]!;
    if (l.length < 34) fail(i, `atom line too short for the V2000 atom block (${l.length} characters, need at least 34)`);
    coords[3 * a] = numField(l, 0, 10, i, 'x coordinate (columns 1-10)', fail);
    coords[3 * a + 1] = numField(l, 10, 20, i, 'y coordinate (columns 11-20)', fail);
    coords[3 * a + 2] = numField(l, 20, 30, i, 'z coordinate (columns 21-30)', fail);
    const sym = l.slice(31, 34).trim();
    if (sym === '' || !SYMBOL.test(sym)) fail(i, `atom symbol '${sym}' (columns 32-34) is not an element symbol`);
    symbols[a] = sym;
    const ccc = l.slice(36, 39);
    if (ccc !== '  0' && ccc.trim() !== '') {
      if (!INTEGER.test(ccc.trim())) fail(i, `charge field '${ccc.trim()}' (columns 37-39) is not an integer`);
      const code = Number(ccc);
      if (!(code in CHARGE_CODES)) fail(i, `charge code ${code} (columns 37-39) is not 0-7`);
      charges[a] = CHARGE_CODES[code]!;
      if (code === 4) radicals[a] = 2;
    }
  }

  const bondA = new Int32Array(nBonds);
  const bondB = new Int32Array(nBonds);
  const bondType = new Uint8Array(nBonds);
  for (let b = 0; b < nBonds; b++) {
    const i = 4 + nAtoms + b;
    if (i >= last) fail(i, `truncated record: bond ${b + 1} of ${nBonds} is missing`);
    const l = lines[i]!;
    const a1 = intField(l, 0, 3, i, 'first atom (columns 1-3)', fail);
    const a2 = intField(l, 3, 6, i, 'second atom (columns 4-6)', fail);
    const t = intField(l, 6, 9, i, 'bond type (columns 7-9)', fail);
    if (a1 < 1 || a1 > nAtoms || a2 < 1 || a2 > nAtoms || a1 === a2) fail(i, `bond ${a1}-${a2} does not join two distinct atoms of 1-${nAtoms}`);
    if (t < 1 || t > 10) fail(i, `bond type ${t} (columns 7-9) is not 1-10`);
    bondA[b] = a1 - 1;
    bondB[b] = a2 - 1;
    bondType[b] = t;
  }

  // Property block. The first M  CHG or M  RAD line makes the atom block's charge column void.
  let sawEnd = false;
  let blockVoided = false;
  for (let i = 4 + nAtoms + nBonds; i < last; i++) {
    const l = lines[i]!;
    if (l.startsWith('M  END')) {
      sawEnd = true;
      break;
    }
    if (l.startsWith('A  ') || l.startsWith('G  ')) {
      i++; // alias / group abbreviation: the next line is free text
      continue;
    }
    if (l.startsWith('S  SKP')) {
      i += intField(l, 6, 9, i, 'skip count (columns 7-9)', fail);
      continue;
    }
    const tag = l.slice(0, 6);
    if (tag !== 'M  CHG' && tag !== 'M  ISO' && tag !== 'M  RAD') continue;
    if ((tag === 'M  CHG' || tag === 'M  RAD') && !blockVoided) {
      charges.fill(0);
      radicals.fill(0);
      blockVoided = true;
    }
    const fields = l.slice(6).trim().split(/\s+/);
    const n = Number(fields[0]);
    // The format allows 8 entries per line; more are accepted, as other readers do.
    if (!INTEGER.test(fields[0] ?? '') || n < 1 || fields.length < 1 + 2 * n) {
      fail(i, `malformed '${tag}' line: expected a count and that many atom/value pairs`);
    }
    for (let k = 0; k < n; k++) {
      const at = fields[1 + 2 * k]!;
      const val = fields[2 + 2 * k]!;
      if (!INTEGER.test(at) || !INTEGER.test(val)) fail(i, `'${tag}' entry '${at} ${val}' is not two integers`);
      const a = Number(at);
      if (a < 1 || a > nAtoms) fail(i, `'${tag}' names atom ${a}, the record has ${nAtoms}`);
      const v = Number(val);
      if (tag === 'M  CHG') charges[a - 1] = v;
      else if (tag === 'M  ISO') isotopes[a - 1] = v;
      else radicals[a - 1] = v;
    }
  }
  if (!sawEnd) fail(last, `truncated record: no 'M  END' line before ${last < lines.length ? "'$$$$'" : 'the end of the record'}`);
  return { title, symbols, coords, charges, isotopes, radicals, bondA, bondB, bondType };
}

type Fail = (i: number, msg: string) => never;

const SPACE = 0x20;
const POW10 = [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];

/**
 * Parses the fixed-width field `line[from, to)` as a decimal number: optional blanks, sign,
 * digits with at most one point, optional exponent, blanks. Anything else is an error (so
 * `-1.2x345` is refused rather than read as -1.2). Fields with up to 15 digits and no
 * exponent are computed as integer / 10^decimals, which rounds exactly as Number() does.
 */
function numField(line: string, from: number, to: number, i: number, what: string, fail: Fail): number {
  const end = Math.min(to, line.length);
  let k = from;
  while (k < end && line.charCodeAt(k) === SPACE) k++;
  let stop = end;
  while (stop > k && line.charCodeAt(stop - 1) === SPACE) stop--;
  if (k === stop) return fail(i, `${what} is empty`);
  const start = k;
  let negative = false;
  let c = line.charCodeAt(k);
  if (c === 0x2d || c === 0x2b) {
    negative = c === 0x2d;
    k++;
  }
  let mantissa = 0;
  let digits = 0;
  let decimals = 0;
  let point = false;
  let simple = true;
  for (; k < stop; k++) {
    c = line.charCodeAt(k);
    if (c >= 0x30 && c <= 0x39) {
      mantissa = mantissa * 10 + (c - 0x30);
      digits++;
      if (point) decimals++;
    } else if (c === 0x2e && !point) {
      point = true;
    } else {
      break;
    }
  }
  if (digits === 0) return fail(i, `${what} '${line.slice(start, stop)}' is not a number`);
  if (k < stop) {
    // Only an exponent may follow; let the strict pattern and Number() handle that rare case.
    const raw = line.slice(start, stop);
    if (!NUMBER.test(raw)) return fail(i, `${what} '${raw}' is not a number`);
    simple = false;
  }
  if (!simple || digits > 15) return Number(line.slice(start, stop));
  const v = decimals === 0 ? mantissa : mantissa / POW10[decimals]!;
  return negative ? -v : v;
}

function intField(line: string, from: number, to: number, i: number, what: string, fail: Fail): number {
  const raw = line.slice(from, to).trim();
  if (!INTEGER.test(raw)) return fail(i, `${what} '${raw}' is not an integer`);
  return Number(raw);
}
