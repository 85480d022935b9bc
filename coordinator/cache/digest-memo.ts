/**
 * The digests of large byte ranges of input files (a molecule's conformer records, a block of
 * frames: XXH3-128, range-digest.ts), remembered across runs so a re-run's keys need not read and
 * hash its inputs again:
 *
 *   DIR/v2/digests/<sha256 of the file's identity>.dg
 *
 * A file's identity is its resolved path, device, inode, size, and modification and change
 * times in nanoseconds: any write to the file changes its change time, so a changed file has
 * another identity and its ranges are read again. A file changed less than `freshMs` before it
 * was looked at is not remembered (a write within the same tick of a coarse filesystem clock
 * would not move its times), nor one whose identity changed while its ranges were read.
 *
 * A memo is written whole under a temporary name and renamed into place (writeWhole), merged
 * with what another coordinator wrote meanwhile; it ends with the sha256 of all before it, so a
 * torn or garbled one is read as empty and written again. Losing a memo costs a re-read only.
 *
 * Layout: magic `SHOALDG2`, u32 identity length, the identity (UTF-8), u32 count, `count`
 * records sorted by start and end (f64 start, f64 end, a 32-byte slot), then the 32-byte
 * checksum. A range [start, end) holds its 16-byte XXH3-128 digest and 16 zero bytes; the span
 * [-1, size), which no range has, the whole file's sha256 (WholeFileDigests). A start may have
 * several ends (a task's range, and its split halves' first). A memo is searched where it lies
 * (48 bytes a record, no object each) and holds MAX_RECORDS at most; a job's new digests wait in
 * arrays until written. `SHOALDG1` memos (sha256 of ranges, the whole file at [0, size)) are
 * read as none.
 */
import { closeSync, fstatSync, openSync, readFileSync, realpathSync, statSync, type BigIntStats } from 'node:fs';
import { mkdir, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { writeWhole } from '../../src/write-whole.js';
import { sha256, sha256Hex, sha256Into } from './pack-format.js';
import { cacheRoot } from './store.js';

/** Ranges this long or longer are keyed by their digest (and remembered); shorter ones by their bytes. */
export const DIGEST_MIN_BYTES = 4 << 10;
/** A file changed more recently than this (ms) is not remembered. */
export const FRESH_MS = 2000;

const MAGIC = 'SHOALDG2';
const RECORD = 48;

/** Where the memos are. */
export function digestsDir(dir: string): string {
  return join(cacheRoot(dir), 'digests');
}

export const isDigestName = (n: string): boolean => /^[0-9a-f]{64}\.dg$/.test(n);

/** Records a memo holds at most (48 MB): past it, a job's further digests are not remembered. */
export const MAX_RECORDS = 1 << 20;

/** A whole memo: its records sorted by start, then end, from `at`. */
interface Parsed {
  bytes: Buffer;
  at: number;
  count: number;
}

/** A memo's records, or null where it is not whole or is another file's. */
export function parseMemo(bytes: Buffer, identity: string): Parsed | null {
  if (bytes.length < 8 + 4 + 4 + 32 || bytes.toString('latin1', 0, 8) !== MAGIC) return null;
  const body = bytes.subarray(0, bytes.length - 32);
  if (!sha256(body).equals(bytes.subarray(bytes.length - 32))) return null;
  const idLen = bytes.readUInt32LE(8);
  if (12 + idLen + 4 > body.length || bytes.toString('utf8', 12, 12 + idLen) !== identity) return null;
  const at = 12 + idLen + 4;
  const count = bytes.readUInt32LE(12 + idLen);
  if (at + count * RECORD !== body.length) return null;
  return { bytes, at, count };
}

/** The offset of the record of [start, end) in `m`, or -1 (a binary search: records are sorted). */
export function findRecord(m: Parsed, start: number, end: number): number {
  let lo = 0;
  let hi = m.count - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const p = m.at + mid * RECORD;
    const s = m.bytes.readDoubleLE(p);
    const e = s === start ? m.bytes.readDoubleLE(p + 8) : 0;
    if (s < start || (s === start && e < end)) lo = mid + 1;
    else if (s > start || e > end) hi = mid - 1;
    else return p;
  }
  return -1;
}

/** Records (start, end, 32-byte digest) as a memo keeps them, gathered without an object each. */
export class Records {
  spans = new Float64Array(64);
  digests = Buffer.alloc(64 * 32);
  count = 0;

  push(start: number, end: number, digest: Buffer, from = 0): void {
    if (this.count === this.spans.length / 2) {
      const spans = new Float64Array(this.spans.length * 2);
      spans.set(this.spans);
      const digests = Buffer.alloc(this.digests.length * 2);
      this.digests.copy(digests);
      this.spans = spans;
      this.digests = digests;
    }
    this.spans[2 * this.count] = start;
    this.spans[2 * this.count + 1] = end;
    digest.copy(this.digests, 32 * this.count, from, from + 32);
    this.count++;
  }

  /** The order of the records by start, then end (often their own: tasks come in file order). */
  order(): Uint32Array {
    const o = new Uint32Array(this.count);
    let sorted = true;
    for (let i = 0; i < this.count; i++) {
      o[i] = i;
      if (i > 0 && this.before(i, i - 1)) sorted = false;
    }
    return sorted ? o : o.sort((a, b) => (this.before(a, b) ? -1 : this.before(b, a) ? 1 : 0));
  }

  before(a: number, b: number): boolean {
    const s = this.spans;
    return s[2 * a]! < s[2 * b]! || (s[2 * a] === s[2 * b] && s[2 * a + 1]! < s[2 * b + 1]!);
  }
}

/** A memo's bytes for `identity`: the records of `disk` (sorted) and of `added`, merged, each span once. */
export function encodeMemo(identity: string, disk: Parsed | null, added: Records): Buffer {
  const id = Buffer.from(identity, 'utf8');
  const most = Math.min(MAX_RECORDS, (disk?.count ?? 0) + added.count);
  const out = Buffer.alloc(12 + id.length + 4 + most * RECORD + 32);
  out.write(MAGIC, 0, 'latin1');
  out.writeUInt32LE(id.length, 8);
  id.copy(out, 12);
  let p = 16 + id.length;
  const first = p;
  const order = added.order();
  let i = 0;
  let j = 0;
  let last = -1;
  const put = (s: number, e: number, d: Buffer, from: number): void => {
    if (last >= 0 && out.readDoubleLE(last) === s && out.readDoubleLE(last + 8) === e) return;
    out.writeDoubleLE(s, p);
    out.writeDoubleLE(e, p + 8);
    d.copy(out, p + 16, from, from + 32);
    last = p;
    p += RECORD;
  };
  const n = disk?.count ?? 0;
  while ((i < n || j < order.length) && p < first + most * RECORD) {
    const dp = i < n ? disk!.at + i * RECORD : -1;
    const a = j < order.length ? order[j]! : -1;
    const ds = dp >= 0 ? disk!.bytes.readDoubleLE(dp) : Infinity;
    const de = dp >= 0 ? disk!.bytes.readDoubleLE(dp + 8) : Infinity;
    const as = a >= 0 ? added.spans[2 * a]! : Infinity;
    const ae = a >= 0 ? added.spans[2 * a + 1]! : Infinity;
    if (ds < as || (ds === as && de <= ae)) {
      put(ds, de, disk!.bytes, dp + 16);
      i++;
    } else {
      put(as, ae, added.digests, 32 * a);
      j++;
    }
  }
  const count = (p - first) / RECORD;
  out.writeUInt32LE(count, 12 + id.length);
  sha256Into(out.subarray(0, p), out, p);
  return out.subarray(0, p + 32);
}

/** One input file's digests for a job: those remembered, and those taken now. */
export class FileDigests {
  private memo: Parsed | null = null;
  private added = new Records();
  /** Digests given from the memo (not read). */
  served = 0;
  /** Whether a save marked the memo used already (saves come with each pack of a job). */
  private touched = false;

  constructor(
    /** Null: the file is not remembered (changed too recently). */
    readonly identity: string | null,
    private readonly path: string | null,
    private readonly fd: number,
  ) {
    if (identity === null || path === null) return;
    try {
      this.memo = parseMemo(readFileSync(path), identity);
    } catch {
      this.memo = null; // None yet, or unreadable: every range is read.
    }
  }

  /** The 32-byte slot of [start, end) where the memo holds it. */
  get(start: number, end: number): Buffer | undefined {
    const m = this.memo;
    const at = m === null ? -1 : findRecord(m, start, end);
    if (at < 0) return undefined;
    this.served++;
    return m!.bytes.subarray(at + 16, at + 48);
  }

  /** Remembers the digest of [start, end) taken now (up to MAX_RECORDS a job; one under 32 bytes is padded with zeros). */
  add(start: number, end: number, digest: Buffer): void {
    if (this.identity === null || this.added.count >= MAX_RECORDS) return;
    if (digest.length < 32) digest = Buffer.concat([digest, Buffer.alloc(32 - digest.length)]);
    this.added.push(start, end, digest);
  }

  /**
   * Writes what was taken now, merged with the memo on disk (another coordinator may have
   * written one since): nothing where the file's identity changed meanwhile. Marks a memo used
   * and not added to as used (its time), so `cache prune --older-than` keeps it.
   */
  async save(): Promise<void> {
    if (this.identity === null || this.path === null) return;
    if (this.added.count === 0) {
      if (this.served > 0 && !this.touched) {
        this.touched = true;
        await utimes(this.path, new Date(), new Date()).catch(() => undefined);
      }
      return;
    }
    if (identityOf(this.fd, this.identity.slice(0, this.identity.indexOf('\n'))) !== this.identity) return;
    // Taken now, so that digests added while this one is written go with the next save.
    const added = this.added;
    this.added = new Records();
    let disk: Parsed | null = null;
    try {
      disk = parseMemo(readFileSync(this.path), this.identity);
    } catch {
      disk = null;
    }
    await mkdir(join(this.path, '..'), { recursive: true });
    await writeWhole(this.path, encodeMemo(this.identity, disk, added), { fsync: false });
  }
}

/** The identity of the file open as `fd` (the path it was opened by, resolved, first). */
function identityOf(fd: number, resolved: string): string {
  return `${resolved}\n${statText(fstatSync(fd, { bigint: true }))}`;
}

const statText = (st: BigIntStats): string => `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;

/**
 * What a file at `path` is now (device, inode, size, modification and change times), or null
 * where it cannot be stated. Any write moves the change time, which nothing sets back: once it
 * differs from an earlier one, the file is not what it was.
 */
export function fileNow(path: string): string | null {
  try {
    return statText(statSync(path, { bigint: true }));
  } catch {
    return null;
  }
}

export interface DigestMemoOptions {
  /** Epoch ms now (tests move it). */
  now?: () => number;
  freshMs?: number;
}

/** The memos of one cache directory, for one job's keys. */
export class DigestMemo {
  private readonly files: FileDigests[] = [];

  constructor(
    private readonly dir: string,
    private readonly o: DigestMemoOptions = {},
  ) {}

  /** Digests given from memos (their ranges not read). */
  get served(): number {
    return this.files.reduce((a, f) => a + f.served, 0);
  }

  /** The digests of the file `path`, open as `fd`. */
  open(path: string, fd: number): FileDigests {
    let f: FileDigests;
    try {
      const st = fstatSync(fd, { bigint: true });
      const newest = st.mtimeNs > st.ctimeNs ? st.mtimeNs : st.ctimeNs;
      const nowNs = BigInt(Math.floor((this.o.now ?? Date.now)())) * 1_000_000n;
      const settled = nowNs - newest >= BigInt(this.o.freshMs ?? FRESH_MS) * 1_000_000n;
      const identity = settled ? identityOf(fd, realpathSync(path)) : null;
      const name = identity === null ? null : join(digestsDir(this.dir), sha256Hex(identity) + '.dg');
      f = new FileDigests(identity, name, fd);
    } catch {
      f = new FileDigests(null, null, fd);
    }
    this.files.push(f);
    return f;
  }

  /** Writes the digests taken since the last save. Throws the filesystem's error. */
  async save(): Promise<void> {
    for (const f of this.files) await f.save();
  }
}

/** A whole input's sha256 as remembered, and how to remember one taken now. */
export interface WholeDigest {
  /** The file's sha256 (hex), where its memo holds it (the span [-1, size), WHOLE_START). */
  sha256: string | undefined;
  /** Remembers the sha256 of the file as it was opened (written by `WholeFileDigests.close`). */
  keep(hex: string): void;
}

/** The start of a whole file's span in a memo: a start no range has, so its sha256 is never taken for a range's digest. */
const WHOLE_START = -1;

/**
 * The sha256 of whole input files (a job's fingerprint, which guards its resume) remembered in
 * the cache's memos like any range, so a re-run with `--cache` does not read its inputs for it.
 * A file is opened first: a hash taken after is remembered only where the file's identity is
 * the same when it is written (digest-memo's rules).
 */
export class WholeFileDigests {
  private readonly memo: DigestMemo;
  private readonly fds: number[] = [];

  constructor(
    dir: string,
    private readonly write: boolean,
    o: DigestMemoOptions = {},
  ) {
    this.memo = new DigestMemo(dir, o);
  }

  open(path: string): WholeDigest {
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch {
      return { sha256: undefined, keep: () => undefined }; // said by the hashing that follows
    }
    this.fds.push(fd);
    const size = fstatSync(fd).size;
    const f = this.memo.open(path, fd);
    return { sha256: f.get(WHOLE_START, size)?.toString('hex'), keep: (hex) => f.add(WHOLE_START, size, Buffer.from(hex, 'hex')) };
  }

  /** Writes what was kept (not for a read-only cache; a failure costs a later read only), and closes the files. */
  async close(): Promise<void> {
    try {
      if (this.write) await this.memo.save().catch(() => undefined);
    } finally {
      for (const fd of this.fds.splice(0)) closeSync(fd);
    }
  }
}
