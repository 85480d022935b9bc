/**
 * Damaged copies of a DCD, made in a test's temp dir (generated binaries are never committed).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { DcdReader, type DcdHeader } from '../../src/io/dcd.js';

/** What a cut copy holds. */
export interface CutDcd {
  path: string;
  /** The copy's size. */
  bytes: number;
  headerBytes: number;
  frameBytes: number;
  /** NSET of the source (the copy keeps its header). */
  promised: number;
}

/** The header of a DCD: where its frames start and how long each is. */
export function dcdLayout(path: string): DcdHeader {
  const r = DcdReader.open(path);
  try {
    return r.header;
  } finally {
    r.close();
  }
}

/**
 * Writes to `dest` the first `frames` complete frames of `src` plus `partial` bytes of the
 * next one, header unchanged (so it still promises all of the source's frames).
 */
export function cutDcd(src: string, dest: string, frames: number, partial = 0): CutDcd {
  const { headerBytes, frameBytes, nsetHeader } = dcdLayout(src);
  const bytes = headerBytes + frames * frameBytes + partial;
  writeFileSync(dest, readFileSync(src).subarray(0, bytes));
  return { path: dest, bytes, headerBytes, frameBytes, promised: nsetHeader };
}

/** Writes to `dest` a copy of `src` whose header's NSET says `nset` frames (a file still being written says fewer). */
export function withNset(src: string, dest: string, nset: number): string {
  const bytes = Buffer.from(readFileSync(src));
  const le = bytes.readInt32LE(0) === 84;
  if (le) bytes.writeInt32LE(nset, 8);
  else bytes.writeInt32BE(nset, 8);
  writeFileSync(dest, bytes);
  return dest;
}
