/**
 * A file given as --ref or --gen that is not an SD file at all (a PDB file, bytes of anything,
 * an empty file, V3000 records only) refuses the job at expand, with one error naming the
 * option, the file and its first record's problem (the record, the line, what was expected).
 * A file with some good records is an SD file: its bad records are error rows of their
 * molecules, as before.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ShoalError } from '../../src/errors.js';
import { conformersKind } from '../../src/kinds/conformers/index.js';
import { fixture } from '../helpers/paths.js';

const dir = mkdtempSync(join(tmpdir(), 'shoal-conformers-files-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: string | Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

const expand = (ref: string, gen = fixture('conformers', 'gen.sdf')) =>
  conformersKind.expand(conformersKind.params({ ref, gen }), { slots: 2, job: 'J', info: () => {} });

/** Rejects with E_INPUT, its message matching each of `parts`. */
async function refused(p: Promise<unknown>, ...parts: RegExp[]): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof ShoalError, String(e));
    assert.equal(e.code, 'E_INPUT');
    for (const re of parts) assert.match(e.message, re);
    assert.doesNotMatch(e.message, /[\u0000-\u001f\u007f]/, 'no control characters reach the terminal');
    return true;
  });
}

describe('--ref and --gen must be SD files', () => {
  it('a PDB file: the first record, its counts line, what was expected', async () => {
    const pdb = fixture('frames', 'top.pdb');
    await refused(expand(pdb), new RegExp(`^--ref ${pdb} is not an SD file: its one record does not read as a V2000 molfile`), /top\.pdb record #1 .*line 4: atom count \(columns 1-3\) 'ATO' is not an integer/, /Give an SD file/);
    await refused(expand(fixture('conformers', 'ref.sdf'), pdb), /^--gen .*top\.pdb is not an SD file/);
  });

  it('bytes of anything, V3000 records only, a record cut short, an empty file', async () => {
    const bytes = Buffer.alloc(3000);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7919 + 13) % 256;
    await refused(expand(file('garbage.sdf', bytes)), /garbage\.sdf is not an SD file/, /record #1/, /line \d+/);
    await refused(expand(file('v3.sdf', 'a\n  x\n\n  3  2  0  0  0  0            999 V3000\nM  END\n$$$$\nb\n  x\n\n  1  0  0  0  0  0            999 V3000\nM  END\n$$$$\n')), /none of its 2 records reads as a V2000 molfile/, /V3000 is not supported \(line 4\); convert to V2000/);
    await refused(expand(file('cut.sdf', 'title\nprogram\n')), /record #1 'title', line 3: truncated record: no counts line/);
    await refused(expand(file('empty.sdf', '')), /^--ref .*empty\.sdf: the file is empty/);
  });

  it('a file with good and bad records is an SD file: the bad ones are error rows of their molecules', async () => {
    const tasks = await expand(fixture('conformers', 'bad_ref.sdf'), fixture('conformers', 'bad_gen.sdf'));
    assert.ok(tasks.length > 1);
    // A broken first record before good ones: still an SD file.
    const good = readFileSync(fixture('conformers', 'ref.sdf'), 'utf8');
    const mixed = await expand(file('mixed.sdf', `junk\n\n\nnot a counts line\n$$$$\n${good}`));
    assert.ok(mixed.length > 1);
  });
});
