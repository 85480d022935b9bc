import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { writeWhole } from '../../src/write-whole.js';
import { smallDisk } from '../helpers/tmpfs.js';

test('a file is replaced whole, and nothing is left beside it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'shoal-write-whole-'));
  const path = join(dir, 'x.json');
  writeFileSync(path, 'old');
  await writeWhole(path, 'new text', { fsync: true });
  assert.equal(readFileSync(path, 'utf8'), 'new text');
  await writeWhole(path, Buffer.from('bytes'), { fsync: false });
  assert.equal(readFileSync(path, 'utf8'), 'bytes');
  assert.deepEqual(readdirSync(dir), ['x.json']);
});

test('a disk that fills up mid-write: an error, the old file untouched, no temporary file left', async (t) => {
  const disk = smallDisk(t, '256k');
  if (!disk) return;
  const path = join(disk.dir, 'record.json');
  writeFileSync(path, 'the old record');
  // Fill the disk, then free 16 KiB and write 64 KiB: the write starts and runs out part-way (a
  // single write() returns a short count here, which write-file-atomic took as done).
  let filler = 0;
  try {
    for (;;) writeFileSync(join(disk.dir, `fill-${filler++}`), Buffer.alloc(16 << 10, 1));
  } catch {
    // Full.
  }
  writeFileSync(join(disk.dir, 'fill-0'), Buffer.alloc(0));
  await assert.rejects(writeWhole(path, Buffer.alloc(64 << 10, 2), { fsync: true }), /ENOSPC/);
  assert.equal(readFileSync(path, 'utf8'), 'the old record');
  assert.deepEqual(readdirSync(disk.dir).filter((n) => n.startsWith('record.json.')), []);
});
